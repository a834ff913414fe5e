"""Tests of the explanations model proposals carry: units, sign, JSON, and no side effects."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping

import pytest
import torch
from torch import Tensor

from genesis_lab.planning import BayesianPlanner, Explanation, Proposal
from genesis_lab.planning import _acquisition as acquisition_module
from genesis_lab.planning import _bayesian as bayesian_module
from genesis_lab.planning._acquisition import ModelStep
from genesis_lab.spec import ContinuousParameter, Objective

FAST = {"num_restarts": 4, "raw_samples": 64}
PARAMETERS = [
    ContinuousParameter(name="volume", bounds=(-2.0, 3.0), units="mL"),
    ContinuousParameter(name="time", bounds=(0.0, 10.0), units="s"),
]
MAXIMIZE = Objective(name="score", direction="maximize", reading="det_score")
MINIMIZE = Objective(name="loss", direction="minimize", reading="det_loss")
INITIAL_DESIGN = 5
BUDGET = 11


def bowl(parameters: Mapping[str, float]) -> float:
    """Negative quadratic bowl over the box, maximum 0 at (1.1 mL, 7.3 s), minimum about -0.9."""
    return -(((parameters["volume"] - 1.1) / 5.0) ** 2) - ((parameters["time"] - 7.3) / 10.0) ** 2


def loss(parameters: Mapping[str, float]) -> float:
    """A positive loss to minimise: between 1 and about 1.9, least at the bowl's optimum."""
    return 1.0 - bowl(parameters)


def campaign(
    objective: Objective, evaluate: Callable[[Mapping[str, float]], float], seed: int = 0
) -> list[tuple[Proposal, float]]:
    """Ask and tell one at a time; every proposal with the true value at its point."""
    planner = BayesianPlanner(
        PARAMETERS, objective, seed=seed, initial_design=INITIAL_DESIGN, **FAST
    )
    trace = []
    for _ in range(BUDGET):
        (proposal,) = planner.ask()
        value = evaluate(proposal.parameters)
        planner.tell(proposal.trial_id, {objective.name: value})
        trace.append((proposal, value))
    return trace


@pytest.fixture(scope="module")
def maximised() -> list[tuple[Proposal, float]]:
    return campaign(MAXIMIZE, bowl)


@pytest.fixture(scope="module")
def minimised() -> list[tuple[Proposal, float]]:
    return campaign(MINIMIZE, loss)


def explained(trace: list[tuple[Proposal, float]]) -> list[tuple[Explanation, float]]:
    """The model proposals' explanations with the true values; asserts the phases."""
    assert [p.origin for p, _ in trace[:INITIAL_DESIGN]] == ["sobol"] * INITIAL_DESIGN
    assert all(p.explanation is None for p, _ in trace[:INITIAL_DESIGN])
    model = trace[INITIAL_DESIGN:]
    assert [p.origin for p, _ in model] == ["model"] * len(model)
    explanations = [(p.explanation, value) for p, value in model]
    assert all(e is not None for e, _ in explanations)
    return [(e, value) for e, value in explanations if e is not None]


@pytest.mark.parametrize("trace_name", ["maximised", "minimised"])
def test_model_proposals_are_explained_with_finite_values(
    trace_name: str, request: pytest.FixtureRequest
) -> None:
    trace = request.getfixturevalue(trace_name)
    for i, (explanation, _) in enumerate(explained(trace)):
        assert explanation.n_observations == INITIAL_DESIGN + i  # told one at a time
        for value in (
            explanation.predicted_mean,
            explanation.predicted_std,
            explanation.acquisition_value,
            explanation.noise_std,
        ):
            assert value is not None and math.isfinite(value)
        assert explanation.predicted_std is not None and explanation.predicted_std > 0
        assert explanation.noise_std is not None and explanation.noise_std > 0
        assert list(explanation.length_scales) == ["volume", "time"]
        for scale in explanation.length_scales.values():
            assert type(scale) is float and 0 < scale < math.inf


def test_predicted_mean_is_close_to_the_truth_once_the_model_has_data(
    maximised: list[tuple[Proposal, float]],
) -> None:
    # The bowl spans about 0.9; with 8+ noiseless results the GP is within ~0.01 of it.
    for explanation, value in explained(maximised)[3:]:
        assert explanation.predicted_mean == pytest.approx(value, abs=0.1)


def test_a_minimised_objective_is_explained_in_its_own_sign(
    minimised: list[tuple[Proposal, float]],
) -> None:
    # Every loss lies in [1, 1.9]; the negated value the planner maximises would be < 0.
    for explanation, _ in explained(minimised):
        assert explanation.predicted_mean is not None and explanation.predicted_mean > 0.5
    for explanation, value in explained(minimised)[3:]:
        assert explanation.predicted_mean == pytest.approx(value, abs=0.1)


def test_explanation_converts_the_model_frame_to_the_campaigns_units(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unit-cube length scales times each range; the minimisation's negation undone."""

    def step(train_X: Tensor, train_Y: Tensor, X_pending: Tensor | None, **_: object) -> ModelStep:
        return ModelStep(
            X=torch.tensor([[0.5, 0.5], [0.25, 0.75]], dtype=torch.double),
            mean=torch.tensor([-1.5, -2.0], dtype=torch.double),  # of the negated loss
            std=torch.tensor([0.3, 0.4], dtype=torch.double),
            acq_value=-4.0,
            lengthscales=torch.tensor([0.5, 0.25], dtype=torch.double),
            noise_std=0.05,
            num_observations=train_X.shape[0],
        )

    planner = BayesianPlanner(PARAMETERS, MINIMIZE, initial_design=2)
    for proposal in planner.ask(2):
        planner.tell(proposal.trial_id, {"loss": loss(proposal.parameters)})
    monkeypatch.setattr(bayesian_module, "propose_by_model", step)
    first, second = planner.ask(2)
    assert first.explanation == Explanation(
        predicted_mean=1.5,
        predicted_std=0.3,
        acquisition_value=-4.0,
        length_scales={"volume": 2.5, "time": 2.5},  # 0.5 x 5 mL, 0.25 x 10 s
        noise_std=0.05,
        n_observations=2,
    )
    assert second.explanation is not None and second.explanation.predicted_mean == 2.0


def test_to_json_gives_plain_json_types(maximised: list[tuple[Proposal, float]]) -> None:
    explanation, _ = explained(maximised)[-1]
    document = explanation.to_json()
    assert json.loads(json.dumps(document, allow_nan=False)) == document
    assert Explanation(**json.loads(json.dumps(document))) == explanation
    empty = Explanation(
        predicted_mean=None,
        predicted_std=None,
        acquisition_value=None,
        length_scales={},
        noise_std=None,
        n_observations=0,
    )
    assert json.loads(json.dumps(empty.to_json(), allow_nan=False)) == empty.to_json()


def test_a_non_finite_model_value_is_explained_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def step(train_X: Tensor, train_Y: Tensor, X_pending: Tensor | None, **_: object) -> ModelStep:
        return ModelStep(
            X=torch.tensor([[0.5, 0.5]], dtype=torch.double),
            mean=torch.tensor([math.nan], dtype=torch.double),
            std=torch.tensor([0.1], dtype=torch.double),
            acq_value=-math.inf,
            lengthscales=torch.ones(2, dtype=torch.double),
            noise_std=0.01,
            num_observations=train_X.shape[0],
        )

    planner = BayesianPlanner(PARAMETERS, MAXIMIZE, initial_design=2)
    for proposal in planner.ask(2):
        planner.tell(proposal.trial_id, {"score": bowl(proposal.parameters)})
    monkeypatch.setattr(bayesian_module, "propose_by_model", step)
    (proposal,) = planner.ask()
    assert proposal.explanation is not None
    assert proposal.explanation.predicted_mean is None
    assert proposal.explanation.acquisition_value is None
    json.dumps(proposal.explanation.to_json(), allow_nan=False)


def history(planner: BayesianPlanner) -> list[Proposal]:
    """Sobol design, a pending trial, then model proposals one at a time and as a batch."""
    proposals = planner.ask(4)
    for proposal in proposals[:3]:
        planner.tell(proposal.trial_id, {"score": bowl(proposal.parameters)})
    (proposal,) = planner.ask()
    proposals.append(proposal)
    planner.tell(proposal.trial_id, {"score": bowl(proposal.parameters)})
    return proposals + planner.ask(2)


def test_explaining_does_not_change_the_proposals(monkeypatch: pytest.MonkeyPatch) -> None:
    explained_run = history(BayesianPlanner(PARAMETERS, MAXIMIZE, seed=7, initial_design=3, **FAST))
    batch = explained_run[-2:]
    assert [p.origin for p in explained_run].count("model") == 3
    assert batch[0].explanation is not None and batch[1].explanation is not None
    # One joint acquisition value for a batch; a posterior of its own for each point.
    assert batch[0].explanation.acquisition_value == batch[1].explanation.acquisition_value
    assert batch[0].explanation.predicted_mean != batch[1].explanation.predicted_mean

    calls: list[int] = []

    def no_posterior(model: object, standardize: object, X: Tensor, acq_value: object) -> ModelStep:
        calls.append(X.shape[0])
        q, d = X.shape
        nan = torch.full((q,), math.nan, dtype=torch.double)
        ones = torch.ones(d, dtype=torch.double)
        return ModelStep(X, nan, nan, math.nan, ones, math.nan, 0)

    monkeypatch.setattr(acquisition_module, "read_posterior", no_posterior)
    bare_run = history(BayesianPlanner(PARAMETERS, MAXIMIZE, seed=7, initial_design=3, **FAST))
    assert calls == [1, 2]  # one posterior read per model step, on its q points
    assert [(p.trial_id, p.parameters, p.origin) for p in bare_run] == [
        (p.trial_id, p.parameters, p.origin) for p in explained_run
    ]
