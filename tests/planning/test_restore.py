"""Tests of ``restore``: a fresh planner takes back, in order, the trials of an earlier one.

A resumed campaign rebuilds its planner from the record: each trial restored with its
parameters and origin, then told or forgotten as the record says. The rebuilt planner must
hold the same pending trials and observations, and its design must go on where the earlier
planner's stopped (never proposing a restored point again).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from genesis_lab.errors import PlannerError
from genesis_lab.planning import BayesianPlanner, Proposal, RandomPlanner
from genesis_lab.planning._trials import AskTellPlanner
from genesis_lab.spec import ContinuousParameter, LinearConstraint, Objective

PARAMETERS = [
    ContinuousParameter(name="volume", bounds=(-2.0, 3.0), units="mL"),
    ContinuousParameter(name="time", bounds=(0.0, 10.0), units="s"),
]
MAXIMIZE = Objective(name="score", direction="maximize", reading="det_score")
AT_MOST_4 = LinearConstraint(coefficients={"volume": 1.0, "time": 1.0}, relation="<=", rhs=4.0)

Make = Callable[[], AskTellPlanner]


def bayesian(initial_design: int = 3) -> BayesianPlanner:
    return BayesianPlanner(
        PARAMETERS, MAXIMIZE, seed=1, initial_design=initial_design, num_restarts=4, raw_samples=64
    )


def random_planner() -> RandomPlanner:
    return RandomPlanner(PARAMETERS, MAXIMIZE, seed=7)


def restore_all(planner: AskTellPlanner, proposals: list[Proposal]) -> list[Proposal]:
    return [planner.restore(p.trial_id, p.parameters, origin=p.origin) for p in proposals]


def test_a_restored_bayesian_planner_holds_the_same_trials_and_results() -> None:
    original = bayesian()
    proposals = original.ask(2) + original.ask(1)  # the Sobol design
    original.tell("t0001", {"score": 1.0})
    original.forget("t0002", failed=True)
    original.tell("t0003", {"score": 2.5})
    proposals += original.ask(2)  # by the model, now that two results are in
    original.forget("t0004")
    assert [p.origin for p in proposals] == ["sobol", "sobol", "sobol", "model", "model"]

    restored = bayesian()
    again = restore_all(restored, proposals)
    assert [(p.trial_id, p.parameters, p.origin) for p in again] == [
        (p.trial_id, p.parameters, p.origin) for p in proposals
    ]
    assert all(p.explanation is None for p in again)
    assert list(restored.pending) == ["t0001", "t0002", "t0003", "t0004", "t0005"]
    restored.tell("t0001", {"score": 1.0})
    restored.forget("t0002", failed=True)
    restored.tell("t0003", {"score": 2.5})
    restored.forget("t0004")

    assert restored.pending == original.pending == {"t0005": proposals[4].parameters}
    assert restored.observations == original.observations
    assert restored.failures == original.failures
    assert restored.num_proposed == original.num_proposed == 5
    assert restored.best == original.best
    (nxt,) = restored.ask()
    assert nxt.trial_id == "t0006" and nxt.origin == "model"
    with pytest.raises(PlannerError, match="already told"):
        restored.tell("t0001", {"score": 3.0})


@pytest.mark.parametrize("make", [bayesian, random_planner], ids=["bayesian", "random"])
def test_trials_must_be_restored_in_the_order_they_were_proposed(make: Make) -> None:
    planner = make()
    point = {"volume": 1.0, "time": 2.0}
    with pytest.raises(PlannerError, match="next trial of this planner is 't0001'") as caught:
        planner.restore("t0002", point, origin="sobol")
    assert caught.value.trial_id == "t0002"
    assert planner.num_proposed == 0 and planner.pending == {}

    planner.restore("t0001", point, origin="manual")
    for wrong in ("t0001", "t0003", "1", "t2"):
        with pytest.raises(PlannerError, match="'t0002'"):
            planner.restore(wrong, point, origin="manual")
    # Parameters are checked too, and a refused restore takes no id.
    with pytest.raises(PlannerError, match="'time'"):
        planner.restore("t0002", {"volume": 1.0, "time": 11.0}, origin="manual")
    assert planner.num_proposed == 1 and list(planner.pending) == ["t0001"]
    assert planner.restore("t0002", point, origin="manual").trial_id == "t0002"


@pytest.mark.parametrize("restored_count", [1, 3, 5])
@pytest.mark.parametrize("batched", [True, False], ids=["batch", "one-by-one"])
def test_restoring_sobol_trials_moves_the_design_past_them(
    restored_count: int, batched: bool
) -> None:
    original = bayesian(initial_design=8)
    if batched:
        proposals = original.ask(restored_count) + original.ask(2)
    else:
        proposals = [original.ask()[0] for _ in range(restored_count + 2)]
    assert all(p.origin == "sobol" for p in proposals)
    done, following = proposals[:restored_count], proposals[restored_count:]

    planner = bayesian(initial_design=8)
    restore_all(planner, done)
    nxt = planner.ask(2) if batched else planner.ask() + planner.ask()

    assert all(p.origin == "sobol" for p in nxt)
    assert not any(p.parameters in [d.parameters for d in done] for p in nxt)
    # Exactly what the earlier planner proposed next, as if it had never stopped.
    assert [p.parameters for p in nxt] == [p.parameters for p in following]
    assert [p.trial_id for p in nxt] == [p.trial_id for p in following]


@pytest.mark.parametrize("make", [bayesian, random_planner], ids=["bayesian", "random"])
def test_restoring_trials_chosen_elsewhere_does_not_move_the_design(make: Make) -> None:
    original = make()
    proposals = [original.ask()[0], original.suggest({"volume": 0.5, "time": 1.0})]
    original.observe({"volume": 1.0, "time": 1.0}, {"score": 0.3})  # t0003, prior data
    (following,) = original.ask()

    planner = make()
    restore_all(planner, proposals)  # a design point, then an operator's own
    assert planner.observe({"volume": 1.0, "time": 1.0}, {"score": 0.3}) == "t0003"
    (nxt,) = planner.ask()
    assert (nxt.trial_id, nxt.parameters, nxt.origin) == (
        following.trial_id,
        following.parameters,
        following.origin,
    )


@pytest.mark.parametrize("batched", [True, False], ids=["batch", "one-by-one"])
def test_a_restored_random_planner_draws_what_the_earlier_one_would_have(batched: bool) -> None:
    original = random_planner()
    if batched:
        proposals = original.ask(3) + original.ask(2)
    else:
        proposals = [original.ask()[0] for _ in range(5)]
    assert all(p.origin == "random" for p in proposals)
    done, following = proposals[:3], proposals[3:]

    planner = random_planner()
    restore_all(planner, done)
    nxt = planner.ask(2) if batched else planner.ask() + planner.ask()

    assert not any(p.parameters in [d.parameters for d in done] for p in nxt)
    assert [(p.trial_id, p.parameters) for p in nxt] == [
        (p.trial_id, p.parameters) for p in following
    ]


def test_restoring_sobol_trials_moves_a_constrained_design_past_them() -> None:
    def make() -> BayesianPlanner:
        return BayesianPlanner(
            PARAMETERS,
            MAXIMIZE,
            seed=0,
            initial_design=8,
            constraints=[AT_MOST_4],
            num_restarts=4,
            raw_samples=64,
        )

    original = make()
    done = [original.ask()[0] for _ in range(3)]
    planner = make()
    restore_all(planner, done)
    nxt = planner.ask() + planner.ask()
    assert not any(p.parameters in [d.parameters for d in done] for p in nxt)
