"""Tests of what the planner models besides one objective: outcome constraints, several
objectives (a Pareto front, or weights), and failures that teach it where not to go."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import torch

from genesis_lab.errors import PlannerError
from genesis_lab.planning import BayesianPlanner, RandomPlanner
from genesis_lab.planning._outcomes import ModelTargets
from genesis_lab.planning._trials import non_dominated
from genesis_lab.planning._types import ParameterValue
from genesis_lab.spec import ContinuousParameter, Objective, OutcomeConstraint

PLANE = [
    ContinuousParameter(name="x", bounds=(0.0, 1.0), units="mm"),
    ContinuousParameter(name="y", bounds=(0.0, 1.0), units="mm"),
]
SUM = Objective(name="total", direction="maximize", reading="det_total")
NEAR_LEFT = Objective(name="left", direction="minimize", reading="det_left")
NEAR_RIGHT = Objective(name="right", direction="minimize", reading="det_right")
X_AT_MOST_HALF = OutcomeConstraint(name="width", reading="det_width", max=0.5, units="mm")

FAIL_BEYOND = 0.6
"""The toy instrument fails (no result) wherever x > FAIL_BEYOND."""


def measure(p: Mapping[str, ParameterValue]) -> dict[str, float]:
    """Every outcome of the toy instrument at ``p`` (noise-free)."""
    x, y = float(p["x"]), float(p["y"])
    return {
        "total": x + y,
        "width": x,
        "left": (x - 0.2) ** 2 + y**2,
        "right": (x - 0.8) ** 2 + y**2,
    }


def hypervolume(points: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """Area dominated by ``points`` (both coordinates minimised) up to ``reference``."""
    area, ceiling = 0.0, reference[1]
    for a, b in sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1]):
        if b < ceiling:
            area += (reference[0] - a) * (ceiling - b)
            ceiling = b
    return area


# --- outcome constraints ---------------------------------------------------------------------


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_an_outcome_constraint_steers_the_model_to_the_feasible_optimum() -> None:
    """Unconstrained, x + y is best at (1, 1); with width = x <= 0.5 the best is (0.5, 1)."""
    planner = BayesianPlanner(
        PLANE, SUM, seed=3, initial_design=5, outcome_constraints=[X_AT_MOST_HALF]
    )
    model_x: list[float] = []
    for _ in range(16):
        (proposal,) = planner.ask()
        if proposal.origin == "model":
            model_x.append(float(proposal.parameters["x"]))
        planner.tell(proposal.trial_id, measure(proposal.parameters))
    assert len(model_x) == 11
    assert sum(x <= 0.52 for x in model_x[-8:]) >= 7, model_x
    best = planner.best
    assert best is not None
    assert float(best[1]["x"]) <= 0.5 and best[2] >= 1.4


def test_with_no_feasible_result_yet_the_model_looks_for_the_feasible_region() -> None:
    """Width = x must be at least 0.9 and the design happened to miss it: the model step
    maximises the probability of feasibility (no BotorchWarning, which would be an error
    here) and heads for large x."""
    wide = OutcomeConstraint(name="width", reading="det_width", min=0.9, units="mm")
    planner = BayesianPlanner(PLANE, SUM, seed=1, initial_design=4, outcome_constraints=[wide])
    for x in (0.1, 0.3, 0.5, 0.7):
        proposal = planner.suggest({"x": x, "y": 0.5})
        planner.tell(proposal.trial_id, measure(proposal.parameters))
    reached = []
    for _ in range(3):
        (proposal,) = planner.ask()
        assert proposal.origin == "model"
        reached.append(float(proposal.parameters["x"]))
        planner.tell(proposal.trial_id, measure(proposal.parameters))
    assert max(reached) >= 0.85, reached


def test_best_never_reports_a_result_that_breaks_an_outcome_constraint() -> None:
    planner = RandomPlanner(PLANE, SUM, outcome_constraints=[X_AT_MOST_HALF])
    planner.observe({"x": 0.9, "y": 1.0}, {"total": 1.9, "width": 0.9})
    planner.observe({"x": 0.4, "y": 0.5}, {"total": 0.9, "width": 0.4})
    best = planner.best
    assert best is not None and best[2] == 0.9
    assert [o.feasible for o in planner.observations] == [False, True]


def test_an_outcome_constraint_value_is_required_in_every_result() -> None:
    planner = BayesianPlanner(PLANE, SUM, outcome_constraints=[X_AT_MOST_HALF])
    (proposal,) = planner.ask()
    with pytest.raises(PlannerError, match="lack the outcome constraint 'width'"):
        planner.tell(proposal.trial_id, {"total": 1.0})
    assert proposal.trial_id in planner.pending


def test_model_explanations_predict_the_constrained_outcome() -> None:
    planner = BayesianPlanner(
        PLANE, SUM, seed=1, initial_design=4, outcome_constraints=[X_AT_MOST_HALF]
    )
    for proposal in planner.ask(4):
        planner.tell(proposal.trial_id, measure(proposal.parameters))
    (proposal,) = planner.ask()
    assert proposal.origin == "model" and proposal.explanation is not None
    predictions = proposal.explanation.predictions
    assert set(predictions) == {"total", "width"}
    truth = measure(proposal.parameters)
    assert predictions["width"]["mean"] == pytest.approx(truth["width"], abs=0.1)
    assert proposal.explanation.predicted_mean == predictions["total"]["mean"]


# --- several objectives ----------------------------------------------------------------------


def test_non_dominated_keeps_exactly_the_front() -> None:
    points = [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.4, 0.4], [1.0, 0.0]]
    assert non_dominated(points) == [True, True, True, False, True]


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_a_pareto_search_spreads_along_the_front_and_beats_random_search() -> None:
    """left and right conflict along y = 0, 0.2 <= x <= 0.8: the front is that segment."""
    budget, reference = 18, (1.0, 1.0)
    areas = {}
    for name, planner in [
        ("bayes", BayesianPlanner(PLANE, [NEAR_LEFT, NEAR_RIGHT], seed=2, initial_design=6)),
        ("random", RandomPlanner(PLANE, [NEAR_LEFT, NEAR_RIGHT], seed=2)),
    ]:
        for _ in range(budget):
            (proposal,) = planner.ask()
            planner.tell(proposal.trial_id, measure(proposal.parameters))
        front = [(o.outcomes["left"], o.outcomes["right"]) for o in planner.pareto_front]
        areas[name] = hypervolume(front, reference)
        if name == "bayes":
            assert len(front) >= 6
            assert all(float(o.parameters["y"]) <= 0.15 for o in planner.pareto_front[-3:])
    assert areas["bayes"] > areas["random"] + 0.02, areas


def test_the_pareto_front_is_non_dominated_and_feasible() -> None:
    planner = RandomPlanner(
        PLANE, [NEAR_LEFT, NEAR_RIGHT], seed=5, outcome_constraints=[X_AT_MOST_HALF]
    )
    for proposal in planner.ask(30):
        planner.tell(proposal.trial_id, measure(proposal.parameters))
    front = planner.pareto_front
    assert front and all(o.feasible for o in front)
    for member in front:
        for other in planner.observations:
            if not other.feasible:
                continue
            better = (other.outcomes["left"], other.outcomes["right"])
            mine = (member.outcomes["left"], member.outcomes["right"])
            assert not (better[0] <= mine[0] and better[1] <= mine[1] and better != mine)


def test_weighted_objectives_rank_results_by_the_weighted_sum() -> None:
    heavy_right = Objective(name="right", direction="minimize", reading="det_right", weight=10.0)
    planner = RandomPlanner(PLANE, [NEAR_LEFT, heavy_right], method="weighted")
    planner.observe({"x": 0.2, "y": 0.0}, measure({"x": 0.2, "y": 0.0}))  # left 0, right 0.36
    planner.observe({"x": 0.8, "y": 0.0}, measure({"x": 0.8, "y": 0.0}))  # left 0.36, right 0
    best = planner.best
    assert best is not None and best[1]["x"] == 0.8


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_a_weighted_search_models_each_objective() -> None:
    planner = BayesianPlanner(
        PLANE, [NEAR_LEFT, NEAR_RIGHT], seed=4, initial_design=5, method="weighted"
    )
    for _ in range(9):
        (proposal,) = planner.ask()
        planner.tell(proposal.trial_id, measure(proposal.parameters))
    assert proposal.origin == "model" and proposal.explanation is not None
    assert set(proposal.explanation.predictions) == {"left", "right"}
    best = planner.best
    assert best is not None
    assert measure(best[1])["left"] + measure(best[1])["right"] < 0.45  # optimum 0.18


def test_a_given_reference_point_is_used_and_a_missing_one_inferred() -> None:
    train_Y = torch.tensor([[-1.0, -3.0], [-2.0, -1.0], [-4.0, -4.0]], dtype=torch.double)
    targets = ModelTargets(n_objectives=2, reference=[-10.0, None])
    point = targets.reference_point(train_Y)
    assert point[0] == -10.0
    assert point[1] < -3.0  # below the worst front member's value, as BoTorch infers it


# --- failures --------------------------------------------------------------------------------


def failures_in_a_run(*, learn: bool, seed: int) -> list[float]:
    """Run 20 asks on the toy instrument that fails beyond x = FAIL_BEYOND; return the x of
    every model proposal that failed. ``learn``: failures are forgotten as failed."""
    planner = BayesianPlanner(PLANE, SUM, seed=seed, initial_design=5)
    failed: list[float] = []
    for _ in range(20):
        (proposal,) = planner.ask()
        x = float(proposal.parameters["x"])
        if x > FAIL_BEYOND:
            planner.forget(proposal.trial_id, failed=learn)
            if proposal.origin == "model":
                failed.append(x)
        else:
            planner.tell(proposal.trial_id, measure(proposal.parameters))
    return failed


@pytest.mark.slow  # over 4 s: not in 'make check'
@pytest.mark.parametrize("seed", [1, 2])
def test_failures_teach_the_planner_to_avoid_their_region(seed: int) -> None:
    learned = failures_in_a_run(learn=True, seed=seed)
    ignored = failures_in_a_run(learn=False, seed=seed)
    assert len(learned) <= 6, learned
    assert len(learned) < len(ignored) - 4, (learned, ignored)


def test_failed_points_feed_a_feasibility_model_in_the_explanations() -> None:
    planner = BayesianPlanner(PLANE, SUM, seed=1, initial_design=6)
    for proposal in planner.ask(6):
        if float(proposal.parameters["x"]) > FAIL_BEYOND:
            planner.forget(proposal.trial_id, failed=True)
        else:
            planner.tell(proposal.trial_id, measure(proposal.parameters))
    assert planner.failures, "the design should hit the failure region"
    (proposal,) = planner.ask()
    assert proposal.explanation is not None
    feasibility = proposal.explanation.predictions["feasibility"]["mean"]
    assert feasibility is not None and feasibility >= 0.5


def test_an_abandoned_trial_teaches_nothing() -> None:
    planner = BayesianPlanner(PLANE, SUM)
    (proposal,) = planner.ask()
    planner.forget(proposal.trial_id)
    assert planner.failures == ()
