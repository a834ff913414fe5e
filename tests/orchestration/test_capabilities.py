"""A station whose worker lacks what the campaign needs gets nothing (issue 16 item 8, issue
17 item 1): the campaign compares the station's advertised actuators and readings with its
own before the first dispatch and whenever the station's status changes, and stops with a
reason that says what is missing; a status that advertises nothing is not taken to lack
everything (an older worker)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from campaign_helpers import small_spec
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.errors import StationError
from genesis_lab.messages import StationStatus, decode_message, station_status_topic
from genesis_lab.messaging import MqttClient
from genesis_lab.orchestration import CampaignRunner
from genesis_lab.orchestration._capabilities import CapabilityCheck
from genesis_lab.spec import StationRef
from genesis_lab.station import build_station
from genesis_lab.store import CampaignRecord, TrialState
from genesis_lab.worker import Worker

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"


@contextmanager
def qubit_worker(station_id: str, url: str) -> Iterator[tuple[Worker, dict[str, Any]]]:
    """A worker of another plugin (qubit-lab) under ``station_id``, and its actuators'
    positions when it started."""
    station = build_station(StationRef(plugin="qubit-lab"))
    positions = {name: getattr(dev, "position", None) for name, dev in station.actuators.items()}
    worker = Worker(station, station_id, url, plugin="qubit-lab")
    worker.start()
    try:
        yield worker, positions
        now = {name: getattr(dev, "position", None) for name, dev in station.actuators.items()}
        assert now == positions, "the wrong station moved"
    finally:
        worker.stop()
        station.close()
        with MqttClient(url, client_id=f"cleanup-{uuid.uuid4().hex[:8]}") as client:
            client.publish_and_wait(station_status_topic(station_id), b"", retain=True)


def _only_campaign(record_path: Path) -> tuple[str, str, list[str], list[tuple[str, str]]]:
    with CampaignRecord(record_path, read_only=True) as record:
        (campaign,) = record.campaigns()
        cid = campaign.campaign_id
        trials = [row.state.value for row in record.trials(cid)]
        events = [(e.event, e.detail) for e in record.campaign_events(cid)]
        return campaign.status, campaign.stop_reason or "", trials, events


@pytest.mark.mosquitto
def test_a_campaign_for_another_plugins_station_is_stopped_before_any_dispatch(
    system_mosquitto: str, tmp_path: Path
) -> None:
    """A colour-bench campaign run against a qubit-lab worker under its station id: refused
    up front (exit 1) with what is missing and what the station offers; no trial, no
    budget spent, and the worker was sent nothing and moved nothing. It used to send every
    trial, each rejected or failed there, and complete."""
    station_id = f"bench-{uuid.uuid4().hex[:8]}"
    text = CAMPAIGN.read_text().replace("id: colour-bench", f"id: {station_id}", 1)
    campaign = tmp_path / "campaign.yaml"
    text = text.replace("budget: 30", "budget: 4").replace("initial_design: 6", "initial_design: 2")
    campaign.write_text(text)
    record_path = tmp_path / "r.sqlite"
    with qubit_worker(station_id, system_mosquitto) as (worker, _):
        args = ["run", str(campaign), "--broker", system_mosquitto, "--no-local-worker"]
        result = CliRunner().invoke(app, [*args, "--record", str(record_path)])
        assert (worker.stats.requests, worker.stats.malformed) == (0, 0), "sent a request"
    said = " ".join(result.output.split())
    assert result.exit_code == 1, said
    assert f"station '{station_id}' (its worker serves plugin 'qubit-lab') offers" in said
    assert "offers readings ['qubit_excited_population', 'qubit_gate_fidelity']" in said
    assert "but the campaign reads 'spectro_colour_error'" in said
    assert "but the campaign sets 'pump_cyan', 'pump_magenta', 'pump_yellow'" in said
    assert "is the right plugin running under this station id?" in said
    status, reason, trials, events = _only_campaign(record_path)
    assert (status, trials) == ("stopped", [])  # nothing proposed, nothing spent
    assert "but the campaign reads 'spectro_colour_error'" in reason
    assert [e for e, _ in events] == ["started", "station-mismatch", "stopped"], events


@pytest.mark.mosquitto
def test_another_plugins_worker_taking_over_mid_campaign_gets_nothing(
    system_mosquitto: str, tmp_path: Path
) -> None:
    """The right worker serves two trials and stops; a qubit-lab worker comes online under
    the same station id: the campaign dispatches nothing to it and stops (for a resume),
    saying why, the completed trials kept."""
    spec = small_spec(budget=12)  # room: it must not end before the wrong worker comes
    station_id = spec.station.station_id
    record_path = tmp_path / "r.sqlite"
    outcome: list[BaseException | None] = []
    with CampaignRecord(record_path) as record:
        runner = CampaignRunner(spec, spec_text="", record=record, broker_url=system_mosquitto)

        def run() -> None:
            try:
                runner.run()
                outcome.append(None)
            except BaseException as exc:  # the test reads it
                outcome.append(exc)

        thread = threading.Thread(target=run, name="test-campaign")
        station = build_station(spec.station)
        right = Worker(station, station_id, system_mosquitto, plugin=spec.station.plugin)
        right.start()
        try:
            thread.start()
            deadline = time.monotonic() + 120
            while right.stats.completed < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert right.stats.completed >= 2
        finally:
            right.stop()  # it finishes the experiment in hand and says it is offline
            station.close()
        with qubit_worker(station_id, system_mosquitto) as (wrong, _):
            thread.join(timeout=60)
            assert not thread.is_alive()
            assert wrong.stats.requests == 0
    (exc,) = outcome
    assert isinstance(exc, StationError), exc
    assert "is the right plugin running under this station id?" in str(exc)
    status, reason, trials, events = _only_campaign(record_path)
    assert status == "stopped" and "but the campaign reads 'spectro_colour_error'" in reason
    assert trials.count(TrialState.COMPLETED.value) >= 2
    assert "station-mismatch" in [e for e, _ in events]


def _status(**fields: object) -> StationStatus:
    body = {"kind": "station_status", "station_id": "bench", "state": "online", **fields}
    return decode_message(json.dumps(body).encode(), StationStatus)


def test_a_status_without_capabilities_is_not_taken_to_lack_everything() -> None:
    """An older worker's status, without (or with empty) lists, passes; a list it does send
    is checked, the other one not."""
    spec = small_spec()
    check = CapabilityCheck(spec)
    pumps = ["pump_cyan", "pump_magenta", "pump_yellow"]
    assert check.problem(None) is None
    assert check.problem(_status()) is None
    assert check.problem(_status(actuators=[], readings=[])) is None
    assert check.problem(_status(actuators=pumps)) is None
    assert check.problem(_status(readings=["spectro_colour_error", "x"])) is None
    problem = check.problem(_status(actuators=pumps, readings=["qubit_gate_fidelity"]))
    assert problem is not None
    assert "offers readings ['qubit_gate_fidelity'] but the campaign reads" in problem
    assert "actuators" not in problem.split("?")[0]
