"""Fault injection: every fault is real, and the campaign still loses nothing.

Each test runs a campaign on a private Mosquitto, injects one kind of fault mid-campaign
and checks the record: every trial terminal, every completed run whole (events equal the
stop document's ``num_events``, no gap in ``seq_num``), no document stored twice, no
result told twice, and the worker's outbox empty at the end.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from genesis_lab.store import CampaignRecord, TrialState

from .conftest import (
    Cli,
    check_record,
    outbox_size,
    start_runner,
    start_worker,
    trial_states,
    wait_for,
    wait_outbox_empty,
    worker_in_process,
    write_campaign,
)
from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

COMPLETED, RUNNING = TrialState.COMPLETED, TrialState.RUNNING


def test_broker_killed_and_restarted_mid_campaign(private_mosquitto, tmp_path: Path) -> None:
    """SIGKILL the broker (no persistence: every session and queued message is gone) while
    a trial runs, restart it on the same port; the campaign completes every experiment."""
    campaign = write_campaign(tmp_path, private_mosquitto.url, budget=6, latency_s=0.15)
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    with worker_in_process(campaign, private_mosquitto.url, outbox):
        run = start_runner(campaign, private_mosquitto.url, record_path)
        wait_for(lambda: trial_states(record_path)[COMPLETED] >= 2, 60, "two completed trials")
        wait_for(lambda: trial_states(record_path)[RUNNING] == 1, 30, "a running trial")
        private_mosquitto.kill()
        time.sleep(2.0)
        private_mosquitto.start()
        result = run.join(timeout=180)
        wait_outbox_empty(outbox)
    facts = check_record(record_path)
    assert facts.states[COMPLETED] == 6, facts
    assert result.states == {"COMPLETED": 6}


def test_worker_killed_mid_experiment_and_restarted(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """SIGKILL the worker process during a run and start it again on the same outbox: the
    cut run is reported interrupted (never run again), everything else completes."""
    # Each move and each measurement takes 1 s: the kill lands well inside a run.
    campaign = write_campaign(tmp_path, private_mosquitto.url, budget=5, latency_s=1.0)
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w1.log")
    run = start_runner(campaign, private_mosquitto.url, record_path)
    wait_for(lambda: trial_states(record_path)[COMPLETED] >= 1, 90, "a completed trial")
    wait_for(lambda: trial_states(record_path)[RUNNING] == 1, 30, "a running trial")
    time.sleep(0.3)  # mid-move
    worker.kill()
    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w2.log")
    result = run.join(timeout=180)
    wait_outbox_empty(outbox)
    worker.stop()
    facts = check_record(record_path)
    with CampaignRecord(record_path, read_only=True) as record:
        trials = record.trials(record.campaigns()[-1].campaign_id)
    abandoned = [t for t in trials if t.state is TrialState.ABANDONED]
    assert len(abandoned) == 1, result.states
    assert "restarted" in abandoned[0].reason
    assert facts.states[COMPLETED] == 4
    assert "was running when the previous worker stopped" in worker.output()


def _journal_state(outbox: Path, trial_id: str) -> str | None:
    """The state of ``trial_id`` in the worker's journal (read while the worker runs)."""
    with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as db:
        row = db.execute("SELECT state FROM journal WHERE trial_id = ?", (trial_id,)).fetchone()
    return None if row is None else str(row[0])


def test_orchestrator_killed_and_resumed(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """SIGKILL the orchestrator while a trial runs; 'genesis-lab resume' finishes the
    campaign with exactly the budget completed, taking the worker's results of the trial
    it missed from the worker's outbox."""
    campaign = write_campaign(tmp_path, private_mosquitto.url, budget=6, latency_s=0.3)
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w.log")
    run_args = ["run", str(campaign), "--no-local-worker", "--record", str(record_path)]
    orchestrator = Cli(run_args, tmp_path / "run.log")
    processes.append(orchestrator)
    wait_for(lambda: trial_states(record_path)[COMPLETED] >= 2, 90, "two completed trials")
    wait_for(lambda: trial_states(record_path)[RUNNING] == 1, 30, "a running trial")
    orchestrator.kill()
    with CampaignRecord(record_path, read_only=True) as record:
        cid = record.campaigns()[-1].campaign_id
        [running] = [t.trial_id for t in record.trials(cid) if t.state is RUNNING]
    # The worker finishes the trial meanwhile; its results wait in the outbox.
    wait_for(lambda: _journal_state(outbox, running) == "ended", 60, f"{running} to end")
    assert outbox_size(outbox) > 0
    resumed = Cli(["resume", str(record_path), "--no-local-worker"], tmp_path / "resume.log")
    processes.append(resumed)
    assert resumed.wait(timeout=180) == 0, resumed.output()
    wait_outbox_empty(outbox)
    worker.stop()
    facts = check_record(record_path)
    assert facts.states == {COMPLETED: 6}, facts
    with CampaignRecord(record_path, read_only=True) as record:
        events = record.campaign_events(record.campaigns()[-1].campaign_id)
    assert [e.event for e in events] == ["started", "resumed", "completed"]


def test_proxy_drops_and_stalls_connections(private_mosquitto, tmp_path: Path) -> None:
    """Both components reach the broker through TCP proxies that reset their connections
    and stall them mid-campaign; nothing is lost and nothing counted twice."""
    campaign = write_campaign(tmp_path, private_mosquitto.url, budget=6, latency_s=0.15)
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    with (
        TcpProxy("127.0.0.1", private_mosquitto.port) as worker_link,
        TcpProxy("127.0.0.1", private_mosquitto.port) as runner_link,
        worker_in_process(campaign, worker_link.url, outbox),
    ):
        run = start_runner(campaign, runner_link.url, record_path)
        wait_for(lambda: trial_states(record_path)[COMPLETED] >= 1, 60, "a completed trial")
        wait_for(lambda: trial_states(record_path)[RUNNING] == 1, 30, "a running trial")
        assert worker_link.drop() >= 1
        wait_for(lambda: trial_states(record_path)[COMPLETED] >= 3, 60, "three completed")
        runner_link.stall()
        time.sleep(3.0)
        runner_link.resume()
        wait_for(lambda: trial_states(record_path)[RUNNING] == 1, 30, "a running trial")
        assert runner_link.drop() >= 1
        result = run.join(timeout=180)
        wait_outbox_empty(outbox)
    facts = check_record(record_path)
    assert facts.states == {COMPLETED: 6}, facts
    assert result.states == {"COMPLETED": 6}


def test_document_flood_overflows_mosquittos_queue_and_nothing_is_lost(
    private_mosquitto, tmp_path: Path
) -> None:
    """Three workers each stream a run of 1,500 events at their campaign's orchestrator
    while its connection is stalled: Mosquitto's default per-client queue (1,000 messages
    beyond 20 in flight) overflows and the broker drops messages. The outboxes send them
    again and every run is stored whole."""
    runs, workers, links, outboxes = [], [], [], []
    with ExitStack() as stack:
        for n in range(3):
            directory = tmp_path / f"c{n}"
            directory.mkdir()
            campaign = write_campaign(
                directory, private_mosquitto.url, budget=1, replicates=1500, accept_s=30
            )
            outboxes.append(directory / "outbox.sqlite")
            workers.append(
                stack.enter_context(
                    worker_in_process(campaign, private_mosquitto.url, outboxes[-1], 2.0)
                )
            )
            links.append(stack.enter_context(TcpProxy("127.0.0.1", private_mosquitto.port)))
            runs.append(start_runner(campaign, links[-1].url, directory / "record.sqlite"))
        for n in range(3):
            record_path = tmp_path / f"c{n}" / "record.sqlite"
            wait_for(lambda p=record_path: trial_states(p)[RUNNING] == 1, 60, "a running trial")
            links[n].stall()
        wait_for(lambda: all(w.stats.completed >= 1 for w in workers), 120, "three long runs")
        time.sleep(1.0)
        for link in links:
            link.resume()
        results = [run.join(timeout=240) for run in runs]
        for outbox in outboxes:
            wait_outbox_empty(outbox, timeout=60)
    log = private_mosquitto.log_text()
    assert "Outgoing messages are being dropped" in log, "the broker's queue never overflowed"
    assert sum(w.stats.resent for w in workers) > 0
    for n, result in enumerate(results):
        facts = check_record(tmp_path / f"c{n}" / "record.sqlite")
        assert facts.states == {COMPLETED: 1}, facts
        assert facts.events == 1500
        assert result.states == {"COMPLETED": 1}


def test_a_resume_that_finds_no_worker_leaves_trials_in_flight_for_the_next(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """Issue 15, item 1: the orchestrator dies with a trial running; the worker finishes it
    and is then stopped. A resume that finds no worker ends, exit 1, saying how to carry
    on, and leaves the trial as it was (it used to abandon it); once the worker is back, a
    second resume collects the trial's results from the worker's outbox and completes."""
    campaign = write_campaign(tmp_path, private_mosquitto.url, budget=5, latency_s=0.3)
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w.log")
    run_args = ["run", str(campaign), "--no-local-worker", "--record", str(record_path)]
    orchestrator = Cli(run_args, tmp_path / "run.log")
    processes.append(orchestrator)
    wait_for(lambda: trial_states(record_path)[COMPLETED] >= 1, 90, "a completed trial")
    wait_for(lambda: trial_states(record_path)[RUNNING] == 1, 30, "a running trial")
    orchestrator.kill()
    wait_for(lambda: outbox_size(outbox) > 0, 30, "the running trial's results in the outbox")
    worker.stop()  # SIGTERM: it announces itself offline
    before = trial_states(record_path)
    args = ["resume", str(record_path), "--no-local-worker", "--presence-timeout", "2"]
    failed = Cli(args, tmp_path / "resume-1.log")
    processes.append(failed)
    assert failed.wait(timeout=60) == 1, failed.output()
    said = " ".join(failed.output().split())
    assert "trials in flight left as they are" in said and "genesis-lab resume" in said
    assert trial_states(record_path) == before  # nothing abandoned
    with CampaignRecord(record_path, read_only=True) as record:
        assert record.campaigns()[-1].status == "stopped"

    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w2.log")
    resumed = Cli(["resume", str(record_path), "--no-local-worker"], tmp_path / "resume-2.log")
    processes.append(resumed)
    assert resumed.wait(timeout=180) == 0, resumed.output()
    wait_outbox_empty(outbox)
    worker.stop()
    facts = check_record(record_path)
    assert facts.states == {COMPLETED: 5}, facts
