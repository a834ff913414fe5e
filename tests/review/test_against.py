"""Replaying a record against a simulator: the scripted planner, the script a record gives,
the replay's campaign, and the comparison of two campaigns (issue 7, deliverable 4)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from campaign_helpers import small_spec, worker_for

from genesis_lab.errors import PlannerError
from genesis_lab.orchestration import (
    CampaignRunner,
    PriorResult,
)
from genesis_lab.planning import Planner
from genesis_lab.review import (
    REPLAY_ORIGIN,
    ScriptedPlanner,
    ScriptedTrial,
    compare_campaigns,
    replay_script,
    replay_spec,
    replay_station,
)
from genesis_lab.spec import CampaignSpec, StationRef
from genesis_lab.store import CampaignRecord, TrialState

pytestmark = pytest.mark.timeout(60)

POINTS = [
    {"cyan": 1.0, "magenta": 2.0, "yellow": 3.0},
    {"cyan": 4.0, "magenta": 5.0, "yellow": 6.0},
    {"cyan": 3.2, "magenta": 6.1, "yellow": 1.5},
]


def _script() -> list[ScriptedTrial]:
    return [ScriptedTrial(f"t{i + 3:04d}", p, "sobol") for i, p in enumerate(POINTS)]


# ------------------------------------------------------------------ the scripted planner
def test_the_scripted_planner_proposes_the_script_in_order_with_the_recorded_ids() -> None:
    planner = ScriptedPlanner(small_spec(), _script(), prior_ids=["t0001", "t0002"])
    assert isinstance(planner, Planner)
    assert planner.observe({"cyan": 0, "magenta": 0, "yellow": 0}, {"colour_error": 9.0}) == (
        "t0001"
    )
    first, second = planner.ask(2)
    assert (first.trial_id, first.parameters, first.origin) == ("t0003", POINTS[0], REPLAY_ORIGIN)
    assert (second.trial_id, second.parameters) == ("t0004", POINTS[1])
    assert planner.remaining == 1
    with pytest.raises(PlannerError, match="1 more experiment"):
        planner.ask(2)
    planner.tell("t0003", {"colour_error": 5.0})
    with pytest.raises(PlannerError, match="already told"):
        planner.tell("t0003", {"colour_error": 5.0})
    planner.forget("t0004", failed=True)
    with pytest.raises(PlannerError, match="forgotten"):
        planner.tell("t0004", {"colour_error": 1.0})
    with pytest.raises(PlannerError, match="lack 'colour_error'"):
        planner.tell(planner.ask(1)[0].trial_id, {"other": 1.0})
    planner.tell("t0005", {"colour_error": 0.5})
    assert planner.best == ("t0005", POINTS[2], 0.5)  # minimised
    manual = planner.suggest(POINTS[0], origin="manual")
    assert (manual.trial_id, manual.origin) == ("t0006", "manual")  # after every scripted id
    with pytest.raises(PlannerError, match="not the campaign's"):
        planner.suggest({"cyan": 1.0})


def test_the_scripted_planner_can_keep_the_recorded_origins_and_be_restored() -> None:
    planner = ScriptedPlanner(small_spec(), _script(), origin=None)
    with pytest.raises(PlannerError, match="next scripted trial is 't0003'"):
        planner.restore("t0004", POINTS[1], origin="sobol")
    assert planner.restore("t0003", POINTS[0], origin="sobol").origin == "sobol"
    assert [p.trial_id for p in planner.ask(2)] == ["t0004", "t0005"]
    assert planner.best is None


# ------------------------------------------------------------- what a record asks to re-run
def _synthetic_record(path: Path, spec: CampaignSpec, outcomes: dict[str, object]) -> str:
    """A record of ``spec`` whose trials end as ``outcomes`` says: a number or a dict of
    numbers (completed), a state name (ended so), ``"never"`` (abandoned before dispatch)
    or ``"prior"``. Trial ``tNNNN`` runs cyan = NNNN."""
    campaign_id = "colour-mixing-synthetic"
    with CampaignRecord(path) as record:
        record.create_campaign(
            campaign_id,
            name=spec.name,
            spec=spec.model_dump(mode="json"),
            spec_text="",
            versions={},
        )
        for trial_id, outcome in outcomes.items():
            parameters = {"cyan": float(trial_id[1:]), "magenta": 1.0, "yellow": 2.0}
            if outcome == "prior":
                record.add_prior_trial(
                    campaign_id,
                    trial_id,
                    parameters=parameters,
                    outcome=7.0,
                    source="earlier.csv",
                    outcomes={"colour_error": 7.0},
                )
                continue
            record.add_trial(campaign_id, trial_id, parameters=parameters, origin="sobol")
            if outcome == "never":
                record.transition(campaign_id, trial_id, TrialState.ABANDONED, reason="never sent")
                continue
            record.transition(campaign_id, trial_id, TrialState.DISPATCHED)
            if isinstance(outcome, float):
                outcome = {"colour_error": outcome}
            if isinstance(outcome, dict):
                record.transition(campaign_id, trial_id, TrialState.RUNNING)
                record.transition(
                    campaign_id,
                    trial_id,
                    TrialState.COMPLETED,
                    outcome=next(iter(outcome.values())),
                    outcomes=outcome,
                )
            else:
                record.transition(campaign_id, trial_id, TrialState(str(outcome)), reason="x")
        record.finish_campaign(campaign_id, status="completed", reason="budget spent")
    return campaign_id


def test_the_script_reruns_every_dispatched_trial_and_leaves_out_prior_and_unsent(
    tmp_path: Path,
) -> None:
    spec = small_spec(budget=5)
    outcomes = {
        "t0001": "prior",
        "t0002": 3.0,
        "t0003": "FAILED",
        "t0004": "never",
        "t0005": "REJECTED",
        "t0006": "ABANDONED",
    }
    campaign_id = _synthetic_record(tmp_path / "r.sqlite", spec, outcomes)
    with CampaignRecord(tmp_path / "r.sqlite", read_only=True) as record:
        script = replay_script(record, campaign_id)
    assert [t.trial_id for t in script.trials] == ["t0002", "t0003", "t0005", "t0006"]
    assert script.trials[1].parameters == {"cyan": 3.0, "magenta": 1.0, "yellow": 2.0}
    assert [t.trial_id for t in script.prior] == ["t0001"]
    assert [t.trial_id for t in script.skipped] == ["t0004"]


def test_the_replay_keeps_the_recorded_station_options_of_the_same_simulator() -> None:
    recorded = StationRef(plugin="colour-bench", id="bench-7", options={"seed": 7, "noise_std": 1})
    same = replay_station(recorded, "colour-bench", {"seed": 8})
    assert same == StationRef(
        plugin="colour-bench", id="bench-7", options={"seed": 8, "noise_std": 1}
    )
    other = replay_station(recorded, "lpbf-printer")
    assert (other.station_id, other.options) == ("lpbf-printer", {})


def test_a_replay_of_recorded_points_runs_them_all_and_adds_nothing() -> None:
    data = small_spec(budget=12).model_dump()
    data.update(stopping={"no_improvement": 2}, retry={"max_retries": 2})
    data["lease"]["rerun_interrupted"] = True
    spec = CampaignSpec.model_validate(data)
    station = replay_station(spec.station, "colour-bench")
    replay = replay_spec(spec, station, closed_loop=False, budget=3)
    assert (replay.budget, replay.initial_design) == (3, 3)
    assert replay.stopping.no_improvement is None and replay.retry.max_retries == 0
    assert not replay.lease.rerun_interrupted
    afresh = replay_spec(spec, station, closed_loop=True, budget=3)
    assert afresh.model_dump(exclude={"station"}) == spec.model_dump(exclude={"station"})


# --------------------------------------------------------------------------- comparison
def test_the_comparison_pairs_trials_by_id_and_computes_the_statistics(tmp_path: Path) -> None:
    spec = small_spec(budget=5)
    recorded = {"t0001": "prior", "t0002": 1.0, "t0003": 2.0, "t0004": 3.0, "t0005": "never"}
    recorded["t0006"] = "FAILED"
    replayed = {"t0001": "prior", "t0002": 1.5, "t0003": 2.0, "t0004": 4.0}
    replayed["t0006"] = 9.0
    rec_id = _synthetic_record(tmp_path / "a.sqlite", spec, recorded)
    sim_id = _synthetic_record(tmp_path / "b.sqlite", spec, replayed)
    with (
        CampaignRecord(tmp_path / "a.sqlite", read_only=True) as a,
        CampaignRecord(tmp_path / "b.sqlite", read_only=True) as b,
    ):
        comparison = compare_campaigns(a, rec_id, b, sim_id, closed_loop=False)
    assert comparison.prior == 1
    assert [p.number for p in comparison.pairs] == [1, 2, 3, 4, 5]
    unsent = comparison.pairs[3]
    assert unsent.recorded is not None and unsent.recorded.trial_id == "t0005"
    assert unsent.simulated is None and "never dispatched" in unsent.note
    assert [p.recorded.trial_id for p in comparison.state_mismatches if p.recorded] == ["t0006"]
    assert comparison.parameter_mismatches == [] and comparison.first_divergence is None
    [stats] = comparison.stats
    assert (stats.name, stats.kind, stats.pairs) == ("colour_error", "objective", 3)
    assert stats.mean_difference == pytest.approx(0.5)
    assert stats.mean_abs_difference == pytest.approx(0.5)
    assert stats.max_abs_difference == pytest.approx(1.0)
    assert stats.rmse == pytest.approx(math.sqrt((0.25 + 0 + 1) / 3))
    assert stats.pearson_r == pytest.approx(2.5 / math.sqrt(2 * 3.5))
    out = comparison.to_json()
    assert out["mode"] == "recorded-experiments" and out["state_mismatches"] == 1
    assert out["trials"][0]["differences"] == {"colour_error": 0.5}
    assert out["recorded"]["best"]["trial_id"] == "t0002"  # the prior's 7.0 is worse


def test_a_closed_loop_comparison_pairs_by_experiment_number(tmp_path: Path) -> None:
    spec = small_spec(budget=3)
    rec_id = _synthetic_record(tmp_path / "a.sqlite", spec, {"t0001": 1.0, "t0002": 2.0})
    sim_id = _synthetic_record(
        tmp_path / "b.sqlite", spec, {"t0001": 1.0, "t0002": "FAILED", "t0003": 5.0}
    )
    with CampaignRecord(tmp_path / "b.sqlite") as b:  # proposed, never sent
        b.add_trial(
            sim_id, "t0004", parameters={"cyan": 9.0, "magenta": 1, "yellow": 2}, origin="m"
        )
    with (
        CampaignRecord(tmp_path / "a.sqlite", read_only=True) as a,
        CampaignRecord(tmp_path / "b.sqlite", read_only=True) as b,
    ):
        comparison = compare_campaigns(a, rec_id, b, sim_id, closed_loop=True)
    assert [p.number for p in comparison.pairs] == [1, 2, 3, 4]
    assert [p.same_parameters for p in comparison.pairs] == [True, True, None, None]
    assert comparison.first_divergence == 3
    assert len(comparison.state_mismatches) == 1
    assert comparison.stats[0].pairs == 1 and comparison.stats[0].pearson_r is None


def test_two_objectives_compare_pareto_fronts_and_hypervolumes(tmp_path: Path) -> None:
    data = small_spec(budget=3).model_dump()
    data["objective"] = None
    data["objectives"] = [
        {"name": "colour_error", "direction": "minimize", "reading": "spectro_colour_error"},
        {"name": "cost", "direction": "minimize", "reading": "dosing_dye_cost", "reference": 10},
    ]
    spec = CampaignSpec.model_validate(data)
    ids = [
        _synthetic_record(
            tmp_path / f"{name}.sqlite",
            spec,
            {f"t000{i + 1}": {"colour_error": e, "cost": c} for i, (e, c) in enumerate(points)},
        )
        for name, points in (("a", [(1.0, 4.0), (2.0, 2.0)]), ("b", [(1.0, 4.0), (3.0, 3.0)]))
    ]
    with (
        CampaignRecord(tmp_path / "a.sqlite", read_only=True) as a,
        CampaignRecord(tmp_path / "b.sqlite", read_only=True) as b,
    ):
        comparison = compare_campaigns(a, ids[0], b, ids[1], closed_loop=True)
    assert comparison.recorded.pareto_front == ["t0001", "t0002"]
    assert comparison.simulated.pareto_front == ["t0001", "t0002"]
    # One reference point for both: cost's given, colour_error's inferred from both fronts
    # together as BoTorch does (nadir 2 less a tenth of the range 1..2): 2.1.
    assert comparison.reference_point == pytest.approx({"colour_error": 2.1, "cost": 10.0})
    assert comparison.recorded.hypervolume == pytest.approx(1.1 * 6 + 0.1 * 2)
    assert comparison.simulated.hypervolume == pytest.approx(1.1 * 6)  # (3, 3) lies past it
    assert comparison.to_json()["simulated"]["pareto_front_size"] == 2


# ------------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_recorded_experiments_rerun_on_the_same_simulator_give_the_same_results(
    embedded_broker: str, tmp_path: Path
) -> None:
    """A campaign with prior results and failures, replayed: the same parameters in the
    same order under the same trial ids, the same states, and (same seed) the same values."""
    spec = small_spec(budget=6, precipitate_above_ml=15.0, seed=4)
    prior = [PriorResult({"cyan": 3.0, "magenta": 6.0, "yellow": 1.0}, {"colour_error": 4.0}, 2)]
    original = tmp_path / "original.sqlite"
    with worker_for(spec, embedded_broker), CampaignRecord(original) as record:
        runner = CampaignRunner(
            spec, spec_text="", record=record, broker_url=embedded_broker, prior=prior
        )
        runner.run()
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    with CampaignRecord(original, read_only=True) as record:
        script = replay_script(record, runner.campaign_id)
        recorded = record.trials(runner.campaign_id)
    assert len(script.trials) == 6 and len(script.prior) == 1
    assert any(t.state is TrialState.FAILED for t in recorded)  # the failure region is hit

    station = replay_station(spec.station, "colour-bench")
    replay = replay_spec(spec, station, closed_loop=False, budget=len(script.trials))
    planner = ScriptedPlanner(replay, script.trials, prior_ids=[t.trial_id for t in script.prior])
    copy = tmp_path / "replay.sqlite"
    with worker_for(replay, embedded_broker), CampaignRecord(copy) as record:
        again = CampaignRunner(
            replay,
            spec_text="",
            record=record,
            broker_url=embedded_broker,
            planner=planner,
            prior=prior,
        )
        again.run()
    assert hashlib.sha256(original.read_bytes()).hexdigest() == digest  # never written
    with (
        CampaignRecord(original, read_only=True) as a,
        CampaignRecord(copy, read_only=True) as b,
    ):
        replayed = b.trials(again.campaign_id)
        comparison = compare_campaigns(
            a, runner.campaign_id, b, again.campaign_id, closed_loop=False
        )
    assert [(t.trial_id, t.parameters) for t in replayed] == [
        (t.trial_id, t.parameters) for t in recorded
    ]
    assert [t.origin for t in replayed] == ["prior"] + [REPLAY_ORIGIN] * 6
    assert [t.state for t in replayed] == [t.state for t in recorded]
    assert comparison.state_mismatches == [] and comparison.parameter_mismatches == []
    [stats] = comparison.stats
    assert stats.pairs == sum(1 for t in recorded[1:] if t.state is TrialState.COMPLETED)
    assert stats.max_abs_difference == 0.0
