"""Tests of ``suggest`` (an experiment chosen elsewhere) and ``observe`` (prior results)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from genesis_lab.errors import PlannerError
from genesis_lab.planning import BayesianPlanner, RandomPlanner
from genesis_lab.planning import _bayesian as bayesian_module
from genesis_lab.planning._acquisition import ModelStep
from genesis_lab.planning._trials import AskTellPlanner
from genesis_lab.spec import ContinuousParameter, Objective

FAST = {"num_restarts": 4, "raw_samples": 64}
PARAMETERS = [
    ContinuousParameter(name="volume", bounds=(-2.0, 3.0), units="mL"),
    ContinuousParameter(name="time", bounds=(0.0, 10.0), units="s"),
]
MAXIMIZE = Objective(name="score", direction="maximize", reading="det_score")


def planners() -> list[AskTellPlanner]:
    return [
        BayesianPlanner(PARAMETERS, MAXIMIZE, seed=1, initial_design=3, **FAST),
        RandomPlanner(PARAMETERS, MAXIMIZE, seed=1),
    ]


@pytest.mark.parametrize("planner", planners(), ids=["bayesian", "random"])
def test_suggest_gives_the_next_trial_id_and_makes_the_point_pending(
    planner: AskTellPlanner,
) -> None:
    (first,) = planner.ask()
    proposal = planner.suggest({"volume": 1, "time": 2.5})
    assert proposal.trial_id == "t0002"
    assert proposal.parameters == {"volume": 1.0, "time": 2.5}
    assert isinstance(proposal.parameters["volume"], float)
    assert proposal.origin == "manual"
    assert proposal.explanation is None
    assert set(planner.pending) == {first.trial_id, "t0002"}
    assert planner.suggest({"volume": 0.0, "time": 0.0}, origin="retry").origin == "retry"
    (after,) = planner.ask()
    assert after.trial_id == "t0004"
    planner.tell(proposal.trial_id, {"score": 1.0})
    assert planner.best == ("t0002", {"volume": 1.0, "time": 2.5}, 1.0)


@pytest.mark.parametrize("planner", planners(), ids=["bayesian", "random"])
@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"volume": 1.0}, "'time'"),
        ({"volume": 1.0, "time": 11.0}, "'time'"),
        ({"volume": -2.5, "time": 1.0}, "'volume'"),
        ({"volume": "1", "time": 1.0}, "'volume'"),
        ({"volume": True, "time": 1.0}, "'volume'"),
        ({"volume": math.nan, "time": 1.0}, "'volume'"),
        ({"volume": 1.0, "time": 1.0, "speed": 2.0}, "'speed'"),
        ([("volume", 1.0)], "mapping"),
    ],
)
def test_suggest_and_observe_refuse_illegal_parameters(
    planner: AskTellPlanner, parameters: object, named: str
) -> None:
    with pytest.raises(PlannerError, match=named):
        planner.suggest(parameters)  # type: ignore[arg-type]
    with pytest.raises(PlannerError, match=named):
        planner.observe(parameters, {"score": 1.0})  # type: ignore[arg-type]
    assert planner.num_proposed == 0
    assert planner.pending == {}
    assert planner.observations == ()


@pytest.mark.parametrize("outcomes", [{}, {"score": "high"}, {"score": math.inf}])
def test_observe_refuses_a_bad_outcome(outcomes: dict[str, object]) -> None:
    planner = planners()[0]
    with pytest.raises(PlannerError, match="score"):
        planner.observe({"volume": 1.0, "time": 1.0}, outcomes)  # type: ignore[arg-type]
    assert planner.num_proposed == 0
    assert planner.observations == ()


@pytest.mark.parametrize("planner", planners(), ids=["bayesian", "random"])
def test_observe_records_a_completed_trial_at_once(planner: AskTellPlanner) -> None:
    trial_id = planner.observe({"volume": 1.0, "time": 2.0}, {"score": 3.0, "other": 1.0})
    assert trial_id == "t0001"
    assert planner.pending == {}
    [observation] = planner.observations
    assert (observation.trial_id, observation.parameters, observation.value) == (
        "t0001",
        {"volume": 1.0, "time": 2.0},
        3.0,
    )
    assert planner.best == ("t0001", {"volume": 1.0, "time": 2.0}, 3.0)
    with pytest.raises(PlannerError, match="already told"):
        planner.tell(trial_id, {"score": 1.0})
    (proposal,) = planner.ask()
    assert proposal.trial_id == "t0002"


def test_observed_data_feeds_the_model_and_shortens_the_design(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Tensor, Tensor | None]] = []
    real = bayesian_module.propose_by_model

    def spy(train_X: Tensor, train_Y: Tensor, X_pending: Tensor | None, **kw: object) -> ModelStep:
        seen.append((train_X.clone(), None if X_pending is None else X_pending.clone()))
        return real(train_X, train_Y, X_pending, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(bayesian_module, "propose_by_model", spy)
    planner = BayesianPlanner(PARAMETERS, MAXIMIZE, seed=0, initial_design=3, **FAST)
    for volume, time, score in [(-1.0, 1.0, -2.0), (2.0, 8.0, -0.5), (0.5, 5.0, -1.0)]:
        planner.observe({"volume": volume, "time": time}, {"score": score})
    manual = planner.suggest({"volume": 1.0, "time": 7.0})
    (proposal,) = planner.ask()
    assert proposal.origin == "model"  # three observations fill the initial design
    [(train_X, X_pending)] = seen
    assert train_X.shape == (3, 2)
    assert torch.allclose(train_X[0], torch.tensor([0.2, 0.1], dtype=torch.double))
    assert X_pending is not None
    assert torch.allclose(X_pending, torch.tensor([[0.6, 0.7]], dtype=torch.double))
    assert proposal.parameters != manual.parameters


def test_a_suggested_point_is_kept_apart_from_in_the_model_phase(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planner = BayesianPlanner(PARAMETERS, MAXIMIZE, seed=0, initial_design=2, **FAST)
    planner.observe({"volume": 0.0, "time": 0.0}, {"score": 0.0})
    planner.observe({"volume": 1.0, "time": 1.0}, {"score": 1.0})
    manual = planner.suggest({"volume": 2.0, "time": 3.0})

    def echo_pending(
        train_X: Tensor, train_Y: Tensor, X_pending: Tensor | None, **_: object
    ) -> ModelStep:
        assert X_pending is not None
        q, d = X_pending.shape
        zeros = torch.zeros(q, dtype=torch.double)
        return ModelStep(X_pending.clone(), zeros, zeros + 1, 0.0, torch.ones(d), 0.1, 2)

    monkeypatch.setattr(bayesian_module, "propose_by_model", echo_pending)
    (proposal,) = planner.ask()
    assert proposal.origin == "sobol"
    assert proposal.parameters != manual.parameters


def test_same_history_with_suggest_and_observe_gives_the_same_proposals() -> None:
    def history() -> list[dict[str, float]]:
        planner = BayesianPlanner(PARAMETERS, MAXIMIZE, seed=3, initial_design=2, **FAST)
        planner.observe({"volume": 0.0, "time": 0.0}, {"score": 0.0})
        (first,) = planner.ask()
        planner.tell(first.trial_id, {"score": 0.5})
        planner.suggest({"volume": 1.0, "time": 9.0})
        return [dict(p.parameters) for p in planner.ask(2)]

    assert history() == history()
