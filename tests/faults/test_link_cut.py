"""The orchestrator's own link is cut for longer than the trial time-out while a trial
runs (issue 15's long scenario found it): the worker finishes the trial and keeps its
results; the orchestrator, which cannot hear anything while cut off, must not abandon the
trial at its time-out meanwhile. Once the link is back it takes the results and the trial
completes: no result of an experiment that ran is lost, no budget paid for nothing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from genesis_lab.store import CampaignRecord, TrialState

from .conftest import Cli, check_record, start_worker, trial_states, wait_for, write_campaign
from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

TRIAL_TIMEOUT_S = 8.0
CUT_S = 2 * TRIAL_TIMEOUT_S  # the fault: longer than the time-out


def _journal_state(outbox: Path, trial_id: str) -> str | None:
    with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as db:
        row = db.execute("SELECT state FROM journal WHERE trial_id = ?", (trial_id,)).fetchone()
    return None if row is None else str(row[0])


def test_a_trial_outlives_the_orchestrators_cut_link(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    campaign = write_campaign(
        tmp_path,
        private_mosquitto.url,
        budget=3,
        latency_s=1.0,
        accept_s=30,
        trial_timeout_s=TRIAL_TIMEOUT_S,
    )
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w.log")
    with TcpProxy("127.0.0.1", private_mosquitto.port) as link:
        orchestrator = Cli(
            [
                "run",
                str(campaign),
                "--record",
                str(record_path),
                "--no-local-worker",
                "--broker",
                link.url,
            ],
            tmp_path / "run.log",
        )
        processes.append(orchestrator)
        wait_for(lambda: trial_states(record_path)[TrialState.RUNNING] == 1, 120, "a trial")
        with CampaignRecord(record_path, read_only=True) as record:
            cid = record.campaigns()[-1].campaign_id
            [running] = [t.trial_id for t in record.trials(cid) if t.state is TrialState.RUNNING]
        link.refuse(True)
        link.drop()
        wait_for(lambda: _journal_state(outbox, running) == "ended", 60, f"{running} to end")
        time.sleep(CUT_S)  # the outage: past the trial's time-out
        link.refuse(False)
        assert orchestrator.wait(timeout=240) == 0, orchestrator.output()
    facts = check_record(record_path)
    assert facts.states == {TrialState.COMPLETED: 3}, facts
    with CampaignRecord(record_path, read_only=True) as record:
        trial = next(t for t in record.trials(cid) if t.trial_id == running)
    assert trial.state is TrialState.COMPLETED, trial.reason
