"""Tests of the parameter types in the planners: legal proposals, log spread, mixed search."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from genesis_lab.errors import PlannerError
from genesis_lab.planning import BayesianPlanner, ParameterValue, Proposal, RandomPlanner
from genesis_lab.planning import _bayesian as bayesian_module
from genesis_lab.planning._acquisition import ModelStep
from genesis_lab.planning._space import SearchSpace
from genesis_lab.spec import (
    CategoricalParameter,
    ContinuousParameter,
    DiscreteParameter,
    FixedParameter,
    IntegerParameter,
    Objective,
    Parameter,
)

FAST = {"num_restarts": 4, "raw_samples": 64}
MAXIMIZE = Objective(name="score", direction="maximize", reading="det_score")

MIXED: list[Parameter] = [
    ContinuousParameter(name="volume", bounds=(0.0, 10.0), units="mL"),
    ContinuousParameter(name="rate", bounds=(0.01, 100.0), units="mL/min", scale="log"),
    IntegerParameter(type="integer", name="cycles", bounds=(1, 6), units="cycles"),
    DiscreteParameter(type="discrete", name="temp", bounds=(20.0, 80.0), step=7.5, units="degC"),
    CategoricalParameter(type="categorical", name="solvent", choices=("water", "ethanol", "dmso")),
    FixedParameter(type="fixed", name="buffer", value="PBS"),
    FixedParameter(type="fixed", name="ph", value=7.4, units="pH"),
]


def assert_legal(parameters: Mapping[str, ParameterValue], space: list[Parameter]) -> None:
    """Every parameter present with a legal value of the right Python type, nothing else."""
    assert list(parameters) == [p.name for p in space]
    for p in space:
        value = parameters[p.name]
        if isinstance(p, FixedParameter):
            assert value == p.value and type(value) is type(p.value)
        elif isinstance(p, CategoricalParameter):
            assert isinstance(value, str) and value in p.choices
        elif isinstance(p, IntegerParameter):
            assert type(value) is int and p.bounds[0] <= value <= p.bounds[1]
        elif isinstance(p, DiscreteParameter):
            assert type(value) is float and value in p.values
        else:
            assert type(value) is float and p.bounds[0] <= value <= p.bounds[1]


def score(parameters: Mapping[str, ParameterValue]) -> float:
    """A smooth function of MIXED's parameters, best with ethanol."""
    rate = math.log10(float(parameters["rate"]))
    bonus = {"water": 0.0, "ethanol": 1.0, "dmso": 0.3}[str(parameters["solvent"])]
    return (
        bonus
        - ((float(parameters["volume"]) - 3.0) / 10.0) ** 2
        - ((rate - 1.0) / 4.0) ** 2
        - ((float(parameters["cycles"]) - 4.0) / 5.0) ** 2
        - ((float(parameters["temp"]) - 50.0) / 60.0) ** 2
    )


# --- property: proposals of any mix of types are legal -------------------------------------


@st.composite
def mixed_spaces(draw: st.DrawFn) -> list[Parameter]:
    kinds = draw(
        st.lists(
            st.sampled_from(["continuous", "log", "integer", "discrete", "categorical", "fixed"]),
            min_size=1,
            max_size=4,
        ).filter(lambda kinds: any(kind != "fixed" for kind in kinds))
    )
    space: list[Parameter] = []
    for i, kind in enumerate(kinds):
        name = f"p{i}"
        if kind in ("continuous", "log", "discrete"):
            lower = draw(st.floats(min_value=1e-3 if kind == "log" else -1e3, max_value=1e3))
            width = draw(st.floats(min_value=1e-2, max_value=1e3))
        if kind == "continuous":
            space.append(ContinuousParameter(name=name, bounds=(lower, lower + width), units="u"))
        elif kind == "log":
            bounds = (lower, lower + width)
            space.append(ContinuousParameter(name=name, bounds=bounds, units="u", scale="log"))
        elif kind == "integer":
            low = draw(st.integers(min_value=-100, max_value=100))
            high = low + draw(st.integers(min_value=1, max_value=50))
            space.append(IntegerParameter(type="integer", name=name, bounds=(low, high), units="u"))
        elif kind == "discrete":
            steps = draw(st.integers(min_value=1, max_value=40))
            step = width / steps
            bounds = (lower, lower + steps * step)
            space.append(
                DiscreteParameter(type="discrete", name=name, bounds=bounds, step=step, units="u")
            )
        elif kind == "categorical":
            k = draw(st.integers(min_value=2, max_value=5))
            choices = tuple(f"c{j}" for j in range(k))
            space.append(CategoricalParameter(type="categorical", name=name, choices=choices))
        else:
            value = draw(st.one_of(st.integers(-5, 5), st.floats(-1.0, 1.0), st.text(max_size=3)))
            space.append(FixedParameter(type="fixed", name=name, value=value, units="u"))
    return space


@settings(max_examples=40, deadline=None)
@given(space=mixed_spaces(), seed=st.integers(min_value=0, max_value=2**32))
def test_sobol_and_random_proposals_of_every_type_are_legal(
    space: list[Parameter], seed: int
) -> None:
    for planner in (
        BayesianPlanner(space, MAXIMIZE, seed=seed, initial_design=8),
        RandomPlanner(space, MAXIMIZE, seed=seed),
    ):
        for proposal in planner.ask(8):
            assert_legal(proposal.parameters, space)
            assert planner.space.validate(proposal.parameters) == proposal.parameters


@settings(max_examples=6, deadline=None)
@given(space=mixed_spaces(), seed=st.integers(min_value=0, max_value=2**32))
def test_model_proposals_of_every_type_are_legal_and_distinct(
    space: list[Parameter], seed: int
) -> None:
    planner = BayesianPlanner(space, MAXIMIZE, seed=seed, initial_design=3, **FAST)
    for index, proposal in enumerate(planner.ask(3)):
        planner.tell(proposal.trial_id, {"score": float(index)})
    proposals = [*planner.ask(1), *planner.ask(2)]
    assert proposals[0].origin == "model"
    for proposal in proposals:
        assert_legal(proposal.parameters, space)
    pending = list(planner.pending.values())
    assert len(pending) == 3
    if any(isinstance(p, ContinuousParameter) for p in space):  # an infinite space
        assert len({tuple(sorted(row.items(), key=str)) for row in pending}) == 3


# --- each type maps to and from the unit cube ---------------------------------------------


def test_each_type_round_trips_through_the_unit_cube() -> None:
    space = SearchSpace(MIXED)
    assert space.dim == 5
    assert space.searched == ("volume", "rate", "cycles", "temp", "solvent")
    row: dict[str, ParameterValue] = {
        "volume": 2.5,
        "rate": 1.0,
        "cycles": 3,
        "temp": 42.5,
        "solvent": "dmso",
        "buffer": "PBS",
        "ph": 7.4,
    }
    X = space.to_unit([row])
    assert torch.allclose(X, torch.tensor([[0.25, 0.5, 0.4, 0.375, 1.0]], dtype=torch.double))
    [back] = space.to_parameters(X)
    assert back["solvent"] == "dmso"
    assert back["cycles"] == 3 and back["temp"] == 42.5 and back["buffer"] == "PBS"
    assert back["rate"] == pytest.approx(1.0)
    assert back["volume"] == pytest.approx(2.5)


def test_off_grid_points_round_to_the_nearest_allowed_value() -> None:
    space = SearchSpace(MIXED)
    X = torch.tensor([[0.0, 0.0, 0.47, 0.40, 0.3], [1.0, 1.0, 0.51, 0.44, 0.8]], dtype=torch.double)
    first, second = space.to_parameters(X)
    assert (first["cycles"], first["temp"], first["solvent"]) == (3, 42.5, "ethanol")
    assert (second["cycles"], second["temp"], second["solvent"]) == (4, 50.0, "dmso")
    assert (first["rate"], second["rate"]) == (0.01, 100.0)
    assert space.round(X)[0, 2] == pytest.approx(0.4)


def test_log_scale_spreads_the_sobol_design_evenly_over_the_decades() -> None:
    log = ContinuousParameter(name="rate", bounds=(1e-3, 1e3), units="mL/min", scale="log")
    planner = BayesianPlanner([log], MAXIMIZE, seed=5, initial_design=64)
    decades = [math.floor(math.log10(float(p.parameters["rate"]))) for p in planner.ask(64)]
    counts = [decades.count(decade) for decade in range(-3, 3)]
    assert all(10 <= count <= 11 for count in counts), counts
    linear = BayesianPlanner([log.model_copy(update={"scale": "linear"})], MAXIMIZE, seed=5)
    values = [float(p.parameters["rate"]) for p in linear.ask(5)]
    assert sum(value >= 100 for value in values) >= 4  # linear puts nearly all in the top decade


def test_each_choice_and_whole_number_is_drawn_about_equally_often() -> None:
    space: list[Parameter] = [
        CategoricalParameter(type="categorical", name="c", choices=("a", "b", "c", "d")),
        IntegerParameter(type="integer", name="n", bounds=(0, 3), units="u"),
    ]
    proposals = BayesianPlanner(space, MAXIMIZE, seed=2, initial_design=64).ask(64)
    assert sorted(str(p.parameters["c"]) for p in proposals) == sorted("abcd" * 16)
    assert sorted(int(p.parameters["n"]) for p in proposals) == sorted([0, 1, 2, 3] * 16)


# --- the model sees legal values and never the fixed parameters ----------------------------


def test_the_model_sees_grid_values_and_no_fixed_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Tensor, dict[str, object]]] = []
    real = bayesian_module.propose_by_model

    def spy(train_X: Tensor, train_Y: Tensor, X_pending: Tensor | None, **kw: object) -> ModelStep:
        seen.append((train_X.clone(), kw))
        return real(train_X, train_Y, X_pending, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(bayesian_module, "propose_by_model", spy)
    planner = BayesianPlanner(MIXED, MAXIMIZE, seed=0, initial_design=4, **FAST)
    for proposal in planner.ask(4):
        planner.tell(proposal.trial_id, {"score": score(proposal.parameters)})
    (proposal,) = planner.ask()
    assert proposal.origin == "model" and proposal.explanation is not None
    assert set(proposal.explanation.length_scales) == set(planner.space.searched)
    assert all(math.isfinite(v) for v in proposal.explanation.length_scales.values())
    [(train_X, kw)] = seen
    assert train_X.shape == (4, 5)
    for column, levels in ((2, 6), (3, 9), (4, 3)):
        codes = train_X[:, column] * (levels - 1)
        assert torch.equal(codes, codes.round())
    assert kw["cat_dims"] == {4: [0.0, 0.5, 1.0]}
    assert set(kw["discrete_dims"]) == {2, 3}  # type: ignore[arg-type]


def history(seed: int) -> list[dict[str, ParameterValue]]:
    planner = BayesianPlanner(MIXED, MAXIMIZE, seed=seed, initial_design=3, **FAST)
    out: list[Proposal] = []
    for _ in range(2):
        batch = planner.ask(2)
        out += batch
        planner.tell(batch[0].trial_id, {"score": score(batch[0].parameters)})
    planner.suggest({**out[0].parameters, "solvent": "dmso"})
    out += planner.ask(1)
    return [dict(p.parameters) for p in out]


def test_same_seed_and_history_give_identical_mixed_proposals() -> None:
    first = history(4)
    assert first == history(4)
    assert first != history(5)


# --- suggest and observe validate every type ------------------------------------------------


GOOD_ROW: dict[str, ParameterValue] = {
    "volume": 1.0,
    "rate": 0.5,
    "cycles": 2,
    "temp": 35.0,
    "solvent": "water",
}


def test_suggest_fills_in_fixed_parameters_and_normalises_numbers() -> None:
    planner = RandomPlanner(MIXED, MAXIMIZE)
    proposal = planner.suggest({**GOOD_ROW, "cycles": 2.0, "temp": 35.0 + 1e-12, "ph": 7.4})
    assert_legal(proposal.parameters, MIXED)
    assert proposal.parameters["cycles"] == 2 and proposal.parameters["temp"] == 35.0
    assert proposal.parameters["buffer"] == "PBS"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"cycles": 2.5}, "'cycles' must be a whole number"),
        ({"cycles": 7}, "'cycles' is 7.0, outside"),
        ({"temp": 36.0}, "'temp' is 36.0, not on its grid"),
        ({"solvent": "acetone"}, "'solvent' must be one of"),
        ({"solvent": 1}, "'solvent' must be one of"),
        ({"rate": 0.0}, "'rate' is 0.0, outside"),
        ({"buffer": "TRIS"}, "'buffer' is fixed at 'PBS'"),
        ({"ph": 7.0}, "'ph' is fixed at 7.4"),
    ],
)
def test_suggest_refuses_an_illegal_value_of_each_type(
    change: dict[str, ParameterValue], named: str
) -> None:
    planner = BayesianPlanner(MIXED, MAXIMIZE)
    with pytest.raises(PlannerError, match=named):
        planner.suggest({**GOOD_ROW, **change})
    with pytest.raises(PlannerError, match=named):
        planner.observe({**GOOD_ROW, **change}, {"score": 0.0})
    assert planner.num_proposed == 0


def test_a_space_of_only_fixed_parameters_is_refused() -> None:
    with pytest.raises(PlannerError, match="nothing to search"):
        RandomPlanner([FixedParameter(type="fixed", name="f", value="x")], MAXIMIZE)


# --- a small mixed problem: the model finds the best choice ---------------------------------

CHOICE_SPACE: list[Parameter] = [
    ContinuousParameter(name="x", bounds=(0.0, 1.0), units="u"),
    ContinuousParameter(name="y", bounds=(0.0, 1.0), units="u"),
    CategoricalParameter(type="categorical", name="catalyst", choices=("Pd", "Ni", "Cu")),
]


def yield_of(parameters: Mapping[str, ParameterValue]) -> float:
    """Best with Ni at (0.3, 0.7); Ni is clearly best everywhere."""
    offset = {"Pd": 0.0, "Ni": 1.0, "Cu": 0.3}[str(parameters["catalyst"])]
    x, y = float(parameters["x"]), float(parameters["y"])
    return offset - (x - 0.3) ** 2 - (y - 0.7) ** 2


@pytest.mark.slow  # over 4 s: not in 'make check'
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bayesian_finds_the_best_category_of_a_mixed_problem(seed: int) -> None:
    planner = BayesianPlanner(CHOICE_SPACE, MAXIMIZE, seed=seed, initial_design=5, **FAST)
    chosen: list[str] = []
    for _ in range(16):
        (proposal,) = planner.ask()
        chosen.append(str(proposal.parameters["catalyst"]))
        planner.tell(proposal.trial_id, {"score": yield_of(proposal.parameters)})
    best = planner.best
    assert best is not None
    assert best[1]["catalyst"] == "Ni"
    assert best[2] > 0.95  # near the optimum 1.0 too
    model_choices = chosen[5:]  # after the Sobol design, the model mostly picks Ni
    assert model_choices.count("Ni") > len(model_choices) / 2
