"""An offline station gets nothing (issue 15, item 2): while a station's worker is down the
campaign dispatches nothing to it, says it is waiting and for how long, carries on when the
worker is back, and stops with a clear reason after ``lease.offline_limit_s``. A trial that
no worker ever took costs no budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from genesis_lab.store import CampaignRecord, TrialState

from .conftest import (
    Cli,
    check_record,
    start_worker,
    trial_states,
    wait_for,
    wait_outbox_empty,
    write_campaign,
)

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

COMPLETED = TrialState.COMPLETED


def campaign_events(record_path: Path) -> list[tuple[str, str]]:
    try:
        with CampaignRecord(record_path, read_only=True) as record:
            campaigns = record.campaigns()
            if not campaigns:
                return []
            return [(e.event, e.detail) for e in record.campaign_events(campaigns[-1].campaign_id)]
    except Exception:  # being created; try again
        return []


def test_nothing_is_dispatched_while_the_worker_is_down_and_no_budget_is_spent(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """The worker stops for longer than two trial time-outs; the campaign waits instead of
    sending trials to be abandoned (it used to spend a trial per time-out), and completes
    its whole budget once the worker is back."""
    campaign = write_campaign(
        tmp_path, private_mosquitto.url, budget=6, latency_s=0.1, trial_timeout_s=6
    )
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w1.log")
    run_args = ["run", str(campaign), "--no-local-worker", "--record", str(record_path)]
    orchestrator = Cli(run_args, tmp_path / "run.log")
    processes.append(orchestrator)
    wait_for(lambda: trial_states(record_path)[COMPLETED] >= 2, 90, "two completed trials")
    worker.stop()  # SIGTERM: it finishes the experiment in hand and says it is offline
    wait_for(
        lambda: "station-offline" in [e for e, _ in campaign_events(record_path)],
        30,
        "the campaign to record that the station went offline",
    )
    before = trial_states(record_path)
    time.sleep(15)  # the outage: longer than two trial time-outs
    assert trial_states(record_path) == before, "something was dispatched or ended meanwhile"

    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w2.log")
    assert orchestrator.wait(timeout=180) == 0, orchestrator.output()
    wait_outbox_empty(outbox)
    worker.stop()
    facts = check_record(record_path)
    assert facts.states == {COMPLETED: 6}, facts
    events = campaign_events(record_path)
    assert [e for e, _ in events] == ["started", "station-offline", "station-online", "completed"]
    assert "waits up to 900 s" in events[1][1]
    said = " ".join(orchestrator.output().split())
    assert "is offline: nothing is dispatched until its worker is back" in said
    assert "is back online after" in said


def test_a_station_offline_past_the_limit_stops_the_campaign_for_a_resume(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """The worker is killed and stays down past ``lease.offline_limit_s``: the campaign
    ends 'stopped', exit 1, saying why and how to carry on, its trials in flight left as
    they are; with the worker back, a resume completes the campaign."""
    campaign = write_campaign(
        tmp_path, private_mosquitto.url, budget=5, latency_s=0.3, offline_limit_s=4
    )
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w1.log")
    run_args = ["run", str(campaign), "--no-local-worker", "--record", str(record_path)]
    orchestrator = Cli(run_args, tmp_path / "run.log")
    processes.append(orchestrator)
    wait_for(lambda: trial_states(record_path)[COMPLETED] >= 1, 90, "a completed trial")
    worker.kill()  # the broker publishes its will: offline
    assert orchestrator.wait(timeout=60) == 1, orchestrator.output()
    said = " ".join(orchestrator.output().split())
    assert "offline for" in said and "lease.offline_limit_s=4" in said, said
    assert "genesis-lab resume" in said
    with CampaignRecord(record_path, read_only=True) as record:
        campaign_row = record.campaigns()[-1]
        left = [t for t in record.trials(campaign_row.campaign_id) if t.state in IN_FLIGHT]
    assert campaign_row.status == "stopped"
    assert "offline for" in campaign_row.stop_reason

    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w2.log")
    resumed = Cli(["resume", str(record_path), "--no-local-worker"], tmp_path / "resume.log")
    processes.append(resumed)
    assert resumed.wait(timeout=180) == 0, resumed.output()
    wait_outbox_empty(outbox)
    worker.stop()
    facts = check_record(record_path)
    with CampaignRecord(record_path, read_only=True) as record:
        trials = record.trials(record.campaigns()[-1].campaign_id)
    # A trial running when the worker was killed is reported interrupted on its restart
    # (it reached the instrument: budget spent); every other trial completes.
    cut = [t for t in trials if t.state is TrialState.ABANDONED]
    assert all("restarted" in t.reason for t in cut), [t.reason for t in cut]
    assert len(cut) <= len(left)
    assert facts.states[COMPLETED] + len(cut) == 5, facts


IN_FLIGHT = (TrialState.DISPATCHED, TrialState.RUNNING)
