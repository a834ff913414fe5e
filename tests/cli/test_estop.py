"""`genesis-lab estop` during a running campaign on a slow pump: motion stops within one
second of the command, the trial in progress is recorded ABANDONED for the emergency stop,
the campaign dispatches nothing while the station is e-stopped, and goes on after
`estop --release`."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.messages import station_control_topic
from genesis_lab.orchestration import (
    CampaignResult,
    CampaignRunner,
)
from genesis_lab.spec import parse_campaign
from genesis_lab.station import build_station
from genesis_lab.store import CampaignRecord, TrialState
from genesis_lab.worker import Worker

pytestmark = pytest.mark.slow
cli = CliRunner()

CAMPAIGN = """
name: estop-test
parameters:
  - {name: cyan, device: pump_cyan, bounds: [6.0, 10.0], units: mL}
  - {name: magenta, device: pump_magenta, bounds: [6.0, 10.0], units: mL}
objective: {name: colour_error, direction: minimize, reading: spectro_colour_error}
budget: 3
initial_design: 3
station:
  plugin: colour-bench
  id: slow-bench
  options: {noise_std: 0.0, pump_latency_s: 4.0}
trial_timeout_s: 60
"""


def _wait_for(condition: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_estop_stops_a_slow_pump_within_one_second_and_records_the_trial(
    embedded_broker: str, tmp_path: Path
) -> None:
    campaign = parse_campaign(CAMPAIGN)
    spec = campaign.spec
    station = build_station(spec.station)
    pumps = [station.actuators["pump_cyan"], station.actuators["pump_magenta"]]
    results: list[CampaignResult] = []
    try:
        with (
            Worker(station, "slow-bench", embedded_broker, plugin="colour-bench") as worker,
            CampaignRecord(tmp_path / "record.sqlite") as record,
        ):
            runner = CampaignRunner(
                spec, spec_text=campaign.text, record=record, broker_url=embedded_broker
            )
            loop = threading.Thread(target=lambda: results.append(runner.run()))
            loop.start()
            try:
                # Under way: a pump has moved 0.5 mL of a move to 6 mL or more.
                _wait_for(lambda: max(p.position for p in pumps) >= 0.5, 60)  # type: ignore[attr-defined]
                result = cli.invoke(
                    app, ["estop", "--broker", embedded_broker, "--reason", "test", "--by", "me"]
                )
                assert result.exit_code == 0, result.output
                assert "slow-bench: estopped (ok)" in result.output
                # Stopped short of a 4 s move (how fast: benchmarks/estop_latency.py).
                for pump in pumps:
                    assert not pump.moving  # type: ignore[attr-defined]
                    assert pump.position < 6.0  # type: ignore[attr-defined]
                assert worker.mode == "estopped"

                # The campaign holds while the station is e-stopped: nothing new is sent.
                # Once it has recorded both the e-stop and the stopped trial, every turn of
                # its loop sees the station e-stopped; every later trial is proposed after
                # the release (checked below, against the record's transition times).
                cid = runner.campaign_id
                _wait_for(lambda: record.trials(cid)[0].state is not TrialState.RUNNING, 60)
                _wait_for(lambda: "estopped" in [e.event for e in record.campaign_events(cid)], 60)
                trials = record.trials(cid)
                assert len(trials) == 1 and trials[0].state is TrialState.ABANDONED
                assert trials[0].reason == "emergency stop (emergency stop by me: test)"
                assert loop.is_alive()

                released_at = time.time()
                release = cli.invoke(
                    app, ["estop", "--release", "--broker", embedded_broker, "--by", "sam"]
                )
                assert release.exit_code == 0, release.output
                assert "slow-bench: serving (ok)" in release.output
                # The e-stop had latched on the broker; the confirmed release cleared it.
                assert "it latches" in result.output
                assert f"cleared the e-stop retained on {station_control_topic()}" in (
                    release.output
                )
                assert worker.mode == "serving"
            finally:
                loop.join(timeout=60)
            # Released: the campaign went on and spent the rest of its budget.
            states = [t.state for t in record.trials(runner.campaign_id)]
            assert states == [TrialState.ABANDONED] + [TrialState.COMPLETED] * (spec.budget - 1)
            later = [t for t in record.transitions(cid) if t[0] != trials[0].trial_id]
            assert later and all(at >= released_at for *_x, at in later), (released_at, later)
            assert worker.stats.abandoned == 1
            # Who e-stopped the station and who released it, in the campaign's record.
            events = [
                (e.event, e.actor, e.detail) for e in record.campaign_events(runner.campaign_id)
            ]
            assert ("estopped", "me", "estop: test") in events
            assert ("serving", "sam", "release") in events
    finally:
        station.close()
    assert results and results[0].states == {"ABANDONED": 1, "COMPLETED": spec.budget - 1}


def test_pause_and_resume_through_the_cli(embedded_broker: str) -> None:
    campaign = parse_campaign(CAMPAIGN)
    station = build_station(campaign.spec.station)
    try:
        with Worker(station, "slow-bench", embedded_broker) as worker:
            paused = cli.invoke(app, ["pause", "--broker", embedded_broker])
            assert "slow-bench: paused (ok)" in paused.output
            assert worker.mode == "paused"
            resumed = cli.invoke(app, ["pause", "--release", "--broker", embedded_broker])
            assert "slow-bench: serving (ok)" in resumed.output
            other = cli.invoke(
                app, ["estop", "--station", "other-bench", "--broker", embedded_broker]
            )
            # Sent, but no worker of that station is online to confirm it: exit 3.
            assert other.exit_code == 3 and worker.mode == "serving"
            assert "no worker is online to confirm it" in other.output
    finally:
        station.close()


def test_estop_with_a_bad_broker_url_exits_2() -> None:
    result = cli.invoke(app, ["estop", "--broker", "tcp://nowhere"])
    assert result.exit_code == 2
