"""The worker: a real RunEngine on the simulated bench, requests and documents over MQTT."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from event_model import DocumentNames, schema_validators

from genesis_lab.errors import BrokerError
from genesis_lab.messages import (
    DocumentMessage,
    ExperimentRequest,
    StationStatus,
    TrialStatusMessage,
    campaign_results_topic,
    decode_message,
    decode_worker_message,
    encode_message,
    station_requests_topic,
    station_status_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.spec import StationRef
from genesis_lab.station import Station, build_station
from genesis_lab.worker import PLAN_NAME, Worker, envelope_violations, experiment_plan
from genesis_lab.worker._worker import jsonable_document

TARGET = {"pump_cyan": 3.2, "pump_magenta": 6.1, "pump_yellow": 1.5}


def _station(**options: object) -> Station:
    return build_station(StationRef(plugin="colour-bench", options={"noise_std": 0.0, **options}))


class Harness:
    """A worker on a fresh station id, and a client playing the orchestrator."""

    def __init__(self, url: str, **options: object) -> None:
        self.station_id = f"bench-{uuid.uuid4().hex[:8]}"
        self.campaign_id = f"c-{uuid.uuid4().hex[:8]}"
        self.station = _station(**options)
        self.worker = Worker(self.station, self.station_id, url, plugin="colour-bench")
        self.results: queue.Queue[DocumentMessage | TrialStatusMessage] = queue.Queue()
        self.others: dict[str, list[DocumentMessage | TrialStatusMessage]] = {}
        self.client = MqttClient(url, client_id=f"test-{uuid.uuid4().hex[:8]}")

    def __enter__(self) -> Harness:
        self.client.connect()
        self.client.subscribe(
            campaign_results_topic(self.campaign_id),
            lambda _t, p: self.results.put(decode_worker_message(p)),
        )
        self.worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.stop()
        self.client.close()
        self.station.close()

    def request(
        self, trial_id: str, setpoints: dict[str, float], readings: tuple[str, ...] = ()
    ) -> None:
        message = ExperimentRequest(
            campaign_id=self.campaign_id,
            trial_id=trial_id,
            station_id=self.station_id,
            setpoints=setpoints,
            parameters=setpoints,
            readings=list(readings),
        )
        self.client.publish_and_wait(
            station_requests_topic(self.station_id), encode_message(message)
        )

    def until_terminal(self, trial_id: str) -> list[DocumentMessage | TrialStatusMessage]:
        """The trial's messages up to its final status; other trials' are kept for later."""
        seen: list[DocumentMessage | TrialStatusMessage] = []
        while True:
            kept = self.others.get(trial_id)
            message = kept.pop(0) if kept else self.results.get(timeout=30)
            if message.trial_id != trial_id:
                self.others.setdefault(message.trial_id, []).append(message)
                continue
            seen.append(message)
            if isinstance(message, TrialStatusMessage) and message.state not in (
                "accepted",
                "running",
            ):
                return seen


@pytest.fixture
def harness(embedded_broker: str) -> Iterator[Harness]:
    with Harness(embedded_broker) as h:
        yield h


def test_plan_is_one_run_of_moves_then_one_reading() -> None:
    station = _station()
    try:
        msgs = list(
            experiment_plan(station.actuators, TARGET, station.detectors, {"trial_id": "t1"})
        )
    finally:
        station.close()
    commands = [m.command for m in msgs]
    assert commands[0] == "open_run" and commands[-1] == "close_run"
    assert commands.count("open_run") == 1
    assert commands.index("set") < commands.index("trigger")
    assert msgs[0].kwargs["plan_name"] == PLAN_NAME and msgs[0].kwargs["trial_id"] == "t1"


def test_envelope_refuses_unknown_nonfinite_and_out_of_limits() -> None:
    station = _station()
    try:
        assert envelope_violations(station, TARGET) == []
        problems = envelope_violations(
            station, {"pump_cyan": 11.0, "pump_magenta": float("nan"), "laser": 1.0}
        )
    finally:
        station.close()
    assert any("pump_cyan" in p and "outside the limits [0.0, 10.0]" in p for p in problems)
    assert any("pump_magenta" in p and "not a finite number" in p for p in problems)
    assert any("laser: no such actuator" in p for p in problems)


def test_envelope_refuses_a_choice_the_actuator_does_not_declare() -> None:
    station = _station(solvent_selector=True)
    try:
        assert station.choices("solvent") == ("water", "ethanol", "glycerol", "acetone")
        assert station.choices("pump_cyan") is None
        assert envelope_violations(station, {**TARGET, "solvent": "ethanol"}) == []
        problems = envelope_violations(station, {**TARGET, "solvent": "toluene"})
    finally:
        station.close()
    assert problems == [
        "solvent: 'toluene' is not one of its choices (water, ethanol, glycerol, acetone)"
    ]


def test_request_becomes_one_run_streamed_over_mqtt(harness: Harness) -> None:
    harness.request("t0001", TARGET)
    messages = harness.until_terminal("t0001")
    statuses = [m for m in messages if isinstance(m, TrialStatusMessage)]
    docs = [m for m in messages if isinstance(m, DocumentMessage)]
    assert [s.state for s in statuses] == ["accepted", "running", "completed"]
    assert [d.name for d in docs] == ["start", "descriptor", "event", "stop"]
    for d in docs:
        schema_validators[DocumentNames[d.name]].validate(d.doc)
    start = docs[0].doc
    assert (start["campaign_id"], start["trial_id"]) == (harness.campaign_id, "t0001")
    assert statuses[-1].run_uid == start["uid"] and statuses[-1].documents == 4
    assert docs[2].doc["data"]["spectro_colour_error"] == pytest.approx(0.0, abs=1e-9)
    assert docs[3].doc["exit_status"] == "success"


def test_out_of_envelope_request_is_rejected_before_anything_moves(harness: Harness) -> None:
    before = harness.station.actuators["pump_cyan"].position  # type: ignore[attr-defined]
    harness.request("t0001", {**TARGET, "pump_cyan": 50.0})
    accepted, status = harness.until_terminal("t0001")
    assert isinstance(accepted, TrialStatusMessage) and accepted.state == "accepted"
    assert isinstance(status, TrialStatusMessage) and status.state == "rejected"
    assert "outside the limits" in status.reason
    assert harness.station.actuators["pump_cyan"].position == before  # type: ignore[attr-defined]
    harness.request("t0002", TARGET)  # the worker keeps serving
    assert harness.until_terminal("t0002")[-1].state == "completed"  # type: ignore[union-attr]


def test_a_request_the_station_cannot_serve_is_refused_before_anything_moves(
    harness: Harness,
) -> None:
    """Issue 16 item 8: a request that sets an actuator the station lacks, or asks for a
    reading it does not produce (a campaign for another plugin), is refused before it is
    accepted: a ``refused`` status naming what is missing and what the station offers,
    counted, nothing moved, no run; the worker keeps serving."""
    pumps = harness.station.actuators
    before = {name: pumps[name].position for name in TARGET}  # type: ignore[attr-defined]
    harness.request("t0001", {**TARGET, "furnace_temperature": 800.0})
    harness.request("t0002", TARGET, readings=("spectro_colour_error", "rabi_excited_fraction"))
    reasons = {}
    for trial_id, missing in (
        ("t0001", "has no actuator 'furnace_temperature'"),
        ("t0002", "offers no reading 'rabi_excited_fraction'"),
    ):
        (status,) = harness.until_terminal(trial_id)  # no "accepted", no document
        assert isinstance(status, TrialStatusMessage) and status.state == "refused"
        assert status.reason.startswith("request refused (capabilities): ")
        assert missing in status.reason
        assert "this worker serves plugin 'colour-bench'" in status.reason
        reasons[trial_id] = status.reason
    assert "(its actuators: 'pump_cyan', 'pump_magenta', 'pump_yellow')" in reasons["t0001"]
    assert "'spectro_colour_error'" in reasons["t0002"].split("its readings:")[1]
    assert {name: pumps[name].position for name in TARGET} == before  # type: ignore[attr-defined]
    stats = harness.worker.stats
    assert stats.refusals["capabilities"] == 2
    assert (stats.requests, stats.rejected) == (0, 0)
    assert harness.worker.outbox.journal_state(harness.campaign_id, "t0001") is None
    harness.request("t0003", TARGET, readings=("spectro_colour_error",))  # it keeps serving
    assert harness.until_terminal("t0003")[-1].state == "completed"  # type: ignore[union-attr]


def test_device_fault_fails_the_trial_and_the_worker_keeps_serving(embedded_broker: str) -> None:
    with Harness(embedded_broker, fault_rate=1.0) as h:
        for trial_id in ("t0001", "t0002"):
            h.request(trial_id, TARGET)
            final = h.until_terminal(trial_id)[-1]
            assert isinstance(final, TrialStatusMessage) and final.state == "failed"
            assert "lamp fault" in final.reason
        assert (h.worker.stats.failed, h.worker.stats.requests) == (2, 2)


def test_malformed_and_repeated_requests_do_not_stop_the_worker(harness: Harness) -> None:
    topic = station_requests_topic(harness.station_id)
    for payload in (b"not json", b"{}", b'{"kind": "experiment_request", "schema_version": 9}'):
        harness.client.publish_and_wait(topic, payload)
    harness.request("t0001", TARGET)
    harness.request("t0001", TARGET)
    harness.request("t0002", TARGET)
    assert harness.until_terminal("t0001")[-1].state == "completed"  # type: ignore[union-attr]
    assert harness.until_terminal("t0002")[-1].state == "completed"  # type: ignore[union-attr]
    assert harness.worker.stats.malformed == 3
    assert harness.worker.stats.duplicates == 1
    assert harness.worker.stats.requests == 2


def test_presence_is_retained_online_then_offline(embedded_broker: str) -> None:
    seen: queue.Queue[StationStatus] = queue.Queue()
    harness = Harness(embedded_broker)
    with MqttClient(embedded_broker, client_id="watch") as watch:
        with harness:
            watch.subscribe(
                station_status_topic(harness.station_id),
                lambda _t, p: seen.put(decode_message(p, StationStatus)),
            )
            online = seen.get(timeout=10)
            assert online.state == "online"
            assert "spectro_colour_error" in online.readings
            assert online.actuators == ["pump_cyan", "pump_magenta", "pump_yellow"]
        assert seen.get(timeout=10).state == "offline"


def test_a_worker_that_cannot_connect_fails_clearly_and_leaves_no_thread(
    unused_port: int,
) -> None:
    station = _station()
    worker = Worker(station, "bench-x", f"mqtt://127.0.0.1:{unused_port}")
    try:
        with pytest.raises(BrokerError, match=f"127.0.0.1:{unused_port}"):
            worker.start()
    finally:
        station.close()


def test_a_non_finite_reading_leaves_the_worker_as_null() -> None:
    """Issue 15, item 7: a detector's NaN or infinite reading goes on the wire as null (a
    failed reading), never as JSON's forbidden NaN, which the orchestrator refuses."""
    doc = {"uid": "u", "data": {"a": float("nan"), "b": float("inf"), "c": np.float64(1.5)}}
    body = jsonable_document(doc)
    assert body["data"] == {"a": None, "b": None, "c": 1.5}
    message = DocumentMessage(campaign_id="c", trial_id="t", station_id="s", name="event", doc=body)
    assert decode_worker_message(encode_message(message)) == message
