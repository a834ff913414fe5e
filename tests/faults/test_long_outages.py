"""An overnight in ten minutes (issue 15): one campaign of real processes runs through
repeated, long faults, and at the end nothing is lost, nothing is counted twice, and the
budget paid only for experiments that reached the instrument.

The faults, one after another while the campaign runs: the broker killed (no persistence)
and restarted; the worker killed mid-campaign and kept down for 90 s (longer than its
accept lease and the trial time-out); the orchestrator killed and resumed; the
orchestrator's link cut for 60 s (connections reset, new ones refused); the broker killed
again. The campaign ends by its own stopping rule (500 s after the resume), at
least 10 minutes after it started.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.orchestration._trials import UNREACHED
from genesis_lab.store import CampaignRecord, TrialState

from .conftest import (
    Cli,
    check_record,
    outbox_size,
    start_worker,
    trial_states,
    wait_for,
    write_campaign,
)
from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow, pytest.mark.long]

COMPLETED = TrialState.COMPLETED
LONG_S = 600.0  # the scenario runs at least this long


@pytest.mark.timeout(1500)
def test_a_campaign_survives_ten_minutes_of_repeated_long_faults(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    campaign = write_campaign(
        tmp_path, private_mosquitto.url, budget=400, latency_s=1.5, trial_timeout_s=60
    )
    spec = yaml.safe_load(campaign.read_text())
    spec["stopping"] = {"max_duration_s": 500}  # counted from the resume
    campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    began = time.monotonic()
    logs = iter(range(1, 100))

    def worker() -> Cli:
        return start_worker(
            processes, campaign, private_mosquitto.url, outbox, tmp_path / f"w{next(logs)}.log"
        )

    def completed_more(than: int, timeout: float = 180) -> Callable[[], None]:
        def wait() -> None:
            wait_for(lambda: trial_states(record_path)[COMPLETED] > than, timeout, "progress")

        return wait

    def done() -> int:
        return trial_states(record_path)[COMPLETED]

    with TcpProxy("127.0.0.1", private_mosquitto.port) as link:
        serving = worker()
        args = ["--no-local-worker", "--broker", link.url]
        orchestrator = Cli(
            ["run", str(campaign), "--record", str(record_path), *args], tmp_path / "run.log"
        )
        processes.append(orchestrator)
        completed_more(3, timeout=120)()

        # 1. The broker dies (no persistence: sessions, retained statuses and queued
        #    messages gone) and is back 5 s later.
        private_mosquitto.kill()
        time.sleep(5)
        private_mosquitto.start()
        completed_more(done() + 3)()

        # 2. The worker is killed and stays down for 90 s: longer than its accept lease
        #    and the trial time-out. Nothing is dispatched meanwhile.
        serving.kill()
        time.sleep(90)
        serving = worker()
        completed_more(done() + 3)()

        # 3. The orchestrator is killed and resumed.
        orchestrator.kill()
        time.sleep(5)
        orchestrator = Cli(["resume", str(record_path), *args], tmp_path / "resume.log")
        processes.append(orchestrator)
        completed_more(done() + 3)()

        # 4. The orchestrator's link is cut for 60 s: connections reset, new ones refused.
        link.refuse(True)
        link.drop()
        time.sleep(60)
        link.refuse(False)
        completed_more(done() + 3)()

        # 5. The broker dies again.
        private_mosquitto.kill()
        time.sleep(5)
        private_mosquitto.start()
        completed_more(done() + 3)()

        assert orchestrator.wait(timeout=900) == 0, orchestrator.output()
        elapsed = time.monotonic() - began
        wait_for(lambda: outbox_size(outbox) == 0, 120, "the worker's outbox to empty")
        serving.stop()

    assert elapsed >= LONG_S, f"the scenario ran {elapsed:.0f} s, not {LONG_S:.0f}"
    facts = check_record(record_path)  # terminal, whole runs, no uid twice, one ending each
    with CampaignRecord(record_path, read_only=True) as record:
        row = record.campaigns()[-1]
        trials = record.trials(row.campaign_id)
        events = [e.event for e in record.campaign_events(row.campaign_id)]
    assert "wall-clock limit of 500 s reached" in row.stop_reason, row.stop_reason
    assert events[:1] == ["started"] and "resumed" in events and events[-1] == "completed"
    assert "station-offline" in events and "station-online" in events
    # The budget paid only for experiments that reached the instrument: every abandoned
    # trial either never reached one (and says it cost nothing) or was cut short by the
    # worker's kill (its restart reports it interrupted: at most one).
    abandoned = [t for t in trials if t.state is TrialState.ABANDONED]
    cut = [t for t in abandoned if not t.reason.endswith(UNREACHED)]
    assert len(cut) <= 1 and all("restarted" in t.reason for t in cut), [t.reason for t in cut]
    assert facts.states[COMPLETED] >= 15, facts
    verified = CliRunner().invoke(app, ["verify", str(record_path)])
    assert verified.exit_code == 0, verified.output
