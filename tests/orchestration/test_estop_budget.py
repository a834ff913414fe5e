"""An e-stop spends no budget on what it refuses (issue 16, item 3): a trial the worker
gives up before its run began (its turn came with the e-stop in force) is not counted,
and nothing new is proposed or dispatched to an e-stopped station."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from genesis_lab.cli._control import send_control
from genesis_lab.orchestration import (
    CampaignResult,
    CampaignRunner,
)
from genesis_lab.orchestration._trials import UNREACHED
from genesis_lab.spec import parse_campaign
from genesis_lab.station import build_station
from genesis_lab.store import CampaignRecord, TrialState
from genesis_lab.worker import Worker

pytestmark = pytest.mark.slow

CAMPAIGN = """
name: estop-budget
parameters:
  - {name: cyan, device: pump_cyan, bounds: [6.0, 10.0], units: mL}
  - {name: magenta, device: pump_magenta, bounds: [6.0, 10.0], units: mL}
objective: {name: colour_error, direction: minimize, reading: spectro_colour_error}
budget: 4
initial_design: 4
batch_size: 2
station:
  plugin: colour-bench
  id: budget-bench
  options: {noise_std: 0.0, pump_latency_s: 3.0}
trial_timeout_s: 120
"""


def _wait_for(condition: Any, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_trial_refused_under_an_estop_costs_no_budget(
    embedded_broker: str, tmp_path: Path
) -> None:
    campaign = parse_campaign(CAMPAIGN)
    spec = campaign.spec
    station = build_station(spec.station)
    pumps = [station.actuators["pump_cyan"], station.actuators["pump_magenta"]]
    results: list[CampaignResult] = []
    try:
        with (
            Worker(station, "budget-bench", embedded_broker, plugin="colour-bench"),
            CampaignRecord(tmp_path / "record.sqlite") as record,
        ):
            runner = CampaignRunner(
                spec, spec_text=campaign.text, record=record, broker_url=embedded_broker
            )
            cid = runner.campaign_id

            def states() -> dict[str, TrialState]:
                return {t.trial_id: t.state for t in record.trials(cid)}

            loop = threading.Thread(target=lambda: results.append(runner.run()))
            loop.start()
            try:
                # Two in flight (batch_size 2): the first moving, the second queued at the
                # worker behind it.
                _wait_for(lambda: any(p.moving for p in pumps), "the first trial to move")  # type: ignore[attr-defined]
                assert len(states()) == 2
                stopped = send_control("estop", embedded_broker, station="budget-bench")
                assert stopped.modes == {"budget-bench": "estopped"}
                _wait_for(
                    lambda: list(states().values()) == [TrialState.ABANDONED] * 2,
                    "both trials to end",
                )
                _wait_for(
                    lambda: "estopped" in [e.event for e in record.campaign_events(cid)],
                    "the campaign to see the e-stop",
                )
                assert len(states()) == 2  # nothing proposed into the e-stop
                moved, refused = record.trials(cid)
                assert moved.reason.startswith("emergency stop") and UNREACHED not in moved.reason
                assert "emergency stop in force" in refused.reason
                assert refused.reason.endswith(UNREACHED)
            finally:
                send_control("release", embedded_broker, station="budget-bench")
                loop.join(timeout=300)
            trials = record.trials(cid)
    finally:
        station.close()
    # The budget of 4 buys 4 experiments that reached an instrument: the one the e-stop
    # cut short and 3 completed; the refused one is not among them.
    assert [t.state for t in trials] == [TrialState.ABANDONED] * 2 + [TrialState.COMPLETED] * 3
    assert results and results[0].states == {"ABANDONED": 2, "COMPLETED": 3}
