"""A paused and released trial completes with the result an unpaused run gives (issue 16,
item 2): on a ramping furnace (a reference SCPI driver over TCP), paused mid-ramp, the
RunEngine stops the furnace with stop(success=True), which must finish (not fail) the
move's Status; on release the run goes on from its checkpoint and ramps to the setpoint."""

from __future__ import annotations

import queue
import time
import uuid
from typing import Any

import pytest

from genesis_lab.messages import (
    ExperimentRequest,
    StationControl,
    TrialStatusMessage,
    campaign_results_topic,
    decode_worker_message,
    encode_message,
    station_requests_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.spec import StationRef
from genesis_lab.station import build_station
from genesis_lab.worker import Worker

pytestmark = pytest.mark.slow

OPTIONS = {
    "simulator": {"time_scale": 1000, "noise_K": 0.0, "resistance_noise_rel": 0.0, "seed": 5},
    "timeout_s": 1.0,
    "move_timeout_s": 60.0,
}
SETPOINTS = {"furnace": 600.0, "furnace_ramp_rate": 10.0}


def _wait_for(condition: Any, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _run_once(broker: str, *, pause: bool) -> tuple[TrialStatusMessage, dict[str, Any]]:
    station_id = f"furnace-{uuid.uuid4().hex[:6]}"
    station = build_station(StationRef(plugin="furnace-bench", id=station_id, options=OPTIONS))
    furnace = station.actuators["furnace"]
    answers: queue.Queue[Any] = queue.Queue()
    campaign_id = f"c-{station_id}"
    try:
        with (
            Worker(station, station_id, broker) as worker,
            MqttClient(broker, client_id=f"probe-{station_id}") as probe,
        ):
            probe.subscribe(
                campaign_results_topic(campaign_id),
                lambda _t, payload: answers.put(decode_worker_message(payload)),
            )
            request = ExperimentRequest(
                campaign_id=campaign_id,
                trial_id="t0001",
                station_id=station_id,
                setpoints=SETPOINTS,
                parameters={"temperature": 600.0, "ramp_rate": 10.0},
            )
            probe.publish_and_wait(station_requests_topic(station_id), encode_message(request))
            if pause:
                _wait_for(lambda: 100.0 < float(furnace.position) < 500.0, "the ramp")
                worker.control(StationControl(command="pause"))
                _wait_for(lambda: worker._engine.state == "paused", "the run to pause")  # type: ignore[union-attr]
                assert float(furnace.position) < 590.0  # paused mid-ramp
                worker.control(StationControl(command="resume"))
            event: dict[str, Any] = {}
            while True:
                message = answers.get(timeout=120)
                if getattr(message, "name", None) == "event":
                    event = message.doc["data"]
                if isinstance(message, TrialStatusMessage) and message.state not in (
                    "accepted",
                    "running",
                ):
                    return message, event
    finally:
        station.close()


def test_a_paused_and_released_ramp_completes_as_an_unpaused_one(embedded_broker: str) -> None:
    paused, paused_event = _run_once(embedded_broker, pause=True)
    assert paused.state == "completed", paused.reason
    plain, plain_event = _run_once(embedded_broker, pause=False)
    assert plain.state == "completed", plain.reason
    assert paused_event["furnace_setpoint"] == plain_event["furnace_setpoint"] == 600.0
    assert paused_event["probe_sheet_resistance"] == pytest.approx(
        plain_event["probe_sheet_resistance"], rel=1e-3
    )
