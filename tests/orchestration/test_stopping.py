"""Stopping rules, as pure logic and through a real closed loop."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_helpers import small_spec, worker_for

from genesis_lab.orchestration._stopping import StopWatch
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import TERMINAL_STATES, CampaignRecord, TrialState

NAME = small_spec().primary_objective.name


def with_rules(direction: str = "minimize", **rules: object) -> CampaignSpec:
    data = small_spec().model_dump()
    data["objective"]["direction"] = direction
    data["stopping"] = rules
    return CampaignSpec.model_validate(data)


def test_no_rule_never_stops() -> None:
    watch = StopWatch(with_rules(), started=0.0)
    for value in (5.0, 6.0, 7.0):
        watch.observe({NAME: value})
    assert watch.reason(now=1e9) is None


@pytest.mark.parametrize(
    ("direction", "values", "fires"),
    [
        ("minimize", [5.0, 2.0], False),
        ("minimize", [5.0, 0.9], True),
        ("maximize", [0.5, 0.9], False),
        ("maximize", [0.5, 1.0], True),
    ],
)
def test_target_respects_direction(direction: str, values: list[float], fires: bool) -> None:
    watch = StopWatch(with_rules(direction, target=1.0), started=0.0)
    for value in values:
        watch.observe({NAME: value})
    reason = watch.reason(now=0.0)
    assert (reason is not None) == fires
    if fires:
        assert reason is not None and reason.startswith("target reached")


def test_no_improvement_counts_completed_experiments_since_the_best() -> None:
    watch = StopWatch(with_rules(no_improvement=3), started=0.0)
    for value in (5.0, 6.0, 7.0, 4.0, 8.0, 9.0):
        watch.observe({NAME: value})
        assert watch.reason(now=0.0) is None
    watch.observe({NAME: 4.0})  # equal is not better
    assert "no improvement over the last 3" in (watch.reason(now=0.0) or "")


def with_two_objectives(**rules: object) -> CampaignSpec:
    data = small_spec().model_dump()
    first = data.pop("objective")
    second = {**first, "name": "cost", "reading": "meter_cost", "direction": "minimize"}
    data["objectives"] = [first, second]
    data["outcome_constraints"] = [{"name": "clarity", "reading": "spectro_t", "min": 0.5}]
    data["stopping"] = rules
    return CampaignSpec.model_validate(data)


def test_with_several_objectives_a_result_on_the_pareto_front_is_an_improvement() -> None:
    watch = StopWatch(with_two_objectives(no_improvement=2), started=0.0)
    ok = {"clarity": 0.9}
    watch.observe({NAME: 5.0, "cost": 5.0, **ok})
    watch.observe({NAME: 6.0, "cost": 6.0, **ok})  # dominated
    assert watch.reason(now=0.0) is None
    watch.observe({NAME: 6.0, "cost": 1.0, **ok})  # a new trade-off: improves
    watch.observe({NAME: 0.0, "cost": 0.0, "clarity": 0.1})  # breaks the constraint
    assert watch.reason(now=0.0) is None
    watch.observe({NAME: 7.0, "cost": 7.0, **ok})
    assert "no improvement over the last 2" in (watch.reason(now=0.0) or "")


def test_wall_clock_limit() -> None:
    watch = StopWatch(with_rules(max_duration_s=10.0), started=100.0)
    assert watch.reason(now=109.9) is None
    assert watch.reason(now=110.0) == "wall-clock limit of 10 s reached"


def test_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="no_improvement"):
        with_rules(no_improvement=0)
    with pytest.raises(ValueError, match="max_duration_s"):
        with_rules(max_duration_s=-1)
    with pytest.raises(ValueError, match=r"stopping\.targett"):
        with_rules(targett=1.0)


def _run(spec: CampaignSpec, url: str, path: Path) -> tuple[str, list[TrialState]]:
    from genesis_lab.orchestration import CampaignRunner

    with worker_for(spec, url), CampaignRecord(path) as record:
        result = CampaignRunner(spec, spec_text="", record=record, broker_url=url).run()
        [campaign] = record.campaigns()
        assert campaign.stop_reason == result.stop_reason
        return result.stop_reason, [t.state for t in record.trials(result.campaign_id)]


@pytest.mark.slow
def test_campaign_stops_at_its_target_and_records_why(embedded_broker: str, tmp_path: Path) -> None:
    data = small_spec(budget=12).model_dump()
    data["stopping"] = {"target": 40.0}  # the Sobol design reaches this within a few trials
    reason, states = _run(CampaignSpec.model_validate(data), embedded_broker, tmp_path / "r")
    assert reason.startswith("target reached: best colour_error")
    assert 1 <= len(states) < 12 and all(s in TERMINAL_STATES for s in states)


@pytest.mark.slow
def test_campaign_stops_at_its_wall_clock_limit(embedded_broker: str, tmp_path: Path) -> None:
    data = small_spec(budget=12, latency_s=0.3).model_dump()
    data["stopping"] = {"max_duration_s": 1.0}
    reason, states = _run(CampaignSpec.model_validate(data), embedded_broker, tmp_path / "r")
    assert reason == "wall-clock limit of 1 s reached"
    assert 1 <= len(states) < 12 and all(s is TrialState.COMPLETED for s in states)


@pytest.mark.slow
def test_batch_keeps_several_trials_in_flight(embedded_broker: str, tmp_path: Path) -> None:
    data = small_spec(budget=9).model_dump()
    data["batch_size"] = 3
    spec = CampaignSpec.model_validate(data)
    path = tmp_path / "r.sqlite"
    reason, states = _run(spec, embedded_broker, path)
    assert reason == "budget of 9 experiments spent"
    assert states == [TrialState.COMPLETED] * 9
    with CampaignRecord(path, read_only=True) as record:
        [campaign] = record.campaigns()
        in_flight, most = 0, 0
        for _trial, _old, new, _reason, _at in record.transitions(campaign.campaign_id):
            in_flight += {"DISPATCHED": 1, "COMPLETED": -1}.get(new, 0)
            most = max(most, in_flight)
        points = {tuple(t.parameters.values()) for t in record.trials(campaign.campaign_id)}
    assert most == 3
    assert len(points) == 9  # no point proposed twice, pending ones included
