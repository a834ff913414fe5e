"""Hostile input on the worker's topics: refused with a logged, counted reason.

The worker's callbacks are fed directly (the worker is never started): its requests topic,
its station's control topic and its acknowledgements topic. Each refusal adds one to
``stats.malformed`` and to its reason in ``stats.refusals``; a valid message afterwards is
still taken.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis_lab.messages import (
    MAX_MESSAGE_BYTES,
    DeliveryAck,
    ExperimentRequest,
    StationControl,
    encode_message,
    station_acks_topic,
    station_control_topic,
    station_requests_topic,
)
from genesis_lab.spec import StationRef
from genesis_lab.station import build_station
from genesis_lab.worker import Worker

SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
STATION = "hostile-bench"
REQUESTS = station_requests_topic(STATION)
CONTROL = station_control_topic(STATION)
VALID_REQUEST = ExperimentRequest(
    campaign_id="c1",
    trial_id="t0001",
    station_id=STATION,
    setpoints={"pump_cyan": 1.0},
    parameters={"cyan": 1.0},
)
VALID_CONTROL = StationControl(command="pause", station_id=STATION)
ACKS = station_acks_topic(STATION)
VALID_ACK = DeliveryAck(campaign_id="c1", station_id=STATION, message_ids=["m1"])


@pytest.fixture
def worker() -> Iterator[Worker]:
    station = build_station(StationRef(plugin="colour-bench", options={}))
    try:
        worker = Worker(station, STATION, "mqtt://127.0.0.1:1", plugin="colour-bench")
        yield worker
        worker.outbox.close()
    finally:
        station.close()


def _is_object(payload: bytes) -> bool:
    try:
        return isinstance(json.loads(payload), dict)
    except ValueError:
        return False


malformed = st.binary(max_size=200).filter(lambda b: not _is_object(b)) | st.sampled_from(
    [b"", b"null", b"[]", b'"text"', b"1", b"{", b"\xff\xfe{}"]
)


@st.composite
def hostile(draw: st.DrawFn, valid: bytes) -> tuple[bytes, str]:
    """A payload built to fail, and the reason it must be refused under."""
    data = json.loads(valid)
    # Not an unknown field: a newer release's, which a receiver ignores
    # (tests/messages/test_compatibility.py).
    how = draw(st.sampled_from(["malformed", "missing", "type", "version", "big"]))
    if how == "malformed":
        return draw(malformed), "malformed"
    if how == "missing":
        data.pop(
            draw(
                st.sampled_from(
                    sorted(k for k in ("campaign_id", "trial_id", "command") if k in data)
                )
            )
        )
    elif how == "type":
        # Booleans replace a field of another type (a boolean field would take them).
        name = draw(
            st.sampled_from(
                sorted(
                    k
                    for k, v in data.items()
                    if k not in ("sent_at", "schema_version") and not isinstance(v, bool)
                )
            )
        )
        data[name] = draw(st.booleans() | st.lists(st.booleans(), min_size=1, max_size=2))
    elif how == "version":
        data["schema_version"] = draw(st.integers().filter(lambda v: v != 1) | st.just("1"))
        return json.dumps(data).encode(), "version"
    else:
        pad = MAX_MESSAGE_BYTES - len(valid) + draw(st.integers(1, 64))
        return valid[:-1] + b" " * pad + b"}", "oversized"
    return json.dumps(data).encode(), "schema"


def refused_once(worker: Worker, handler: str, topic: str, payload: bytes, reason: str) -> None:
    before, by_reason = worker.stats.malformed, worker.stats.refusals[reason]
    getattr(worker, handler)(topic, payload)
    assert worker.stats.malformed == before + 1
    assert worker.stats.refusals[reason] == by_reason + 1, dict(worker.stats.refusals)


@SETTINGS
@given(data=st.data())
def test_requests_refuse_hostile_input(
    worker: Worker, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    payload, reason = data.draw(hostile(encode_message(VALID_REQUEST)))
    with caplog.at_level(logging.WARNING):
        refused_once(worker, "_on_request", REQUESTS, payload, reason)
    assert f"rejected ({reason}) message on {REQUESTS}" in caplog.text
    assert worker._requests.empty()


@SETTINGS
@given(data=st.data())
def test_acknowledgements_refuse_hostile_input(
    worker: Worker, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    """A forged or broken acknowledgement never removes anything from the outbox."""
    worker.outbox.put("m1", "c1", "t", b"kept", resend_s=60)
    payload, reason = data.draw(hostile(encode_message(VALID_ACK)))
    with caplog.at_level(logging.WARNING):
        refused_once(worker, "_on_ack", ACKS, payload, reason)
    assert f"rejected ({reason}) acknowledgement on {ACKS}" in caplog.text
    assert len(worker.outbox) == 1
    assert worker.stats.acknowledged == 0


@SETTINGS
@given(data=st.data())
def test_control_refuses_hostile_input(
    worker: Worker, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    # Empty: what a release clearing a retained e-stop looks like (below).
    payload, reason = data.draw(hostile(encode_message(VALID_CONTROL)).filter(lambda p: p[0]))
    with caplog.at_level(logging.WARNING):
        refused_once(worker, "_on_control", CONTROL, payload, reason)
    assert f"rejected ({reason}) control message on {CONTROL}" in caplog.text
    assert worker.stats.controls == 0


def test_an_empty_control_payload_is_a_cleared_latch_and_changes_nothing(
    worker: Worker,
) -> None:
    """A release clears the e-stop retained on a control topic by publishing an empty
    payload there, which every worker listening receives: not a refusal, not a control."""
    worker._on_control(CONTROL, b"")
    assert worker.stats.malformed == worker.stats.controls == 0
    assert worker.mode == "serving" and not worker.stats.refusals


def test_valid_messages_are_taken_after_hostile_ones(worker: Worker) -> None:
    refused_once(worker, "_on_request", REQUESTS, b"\x00garbage", "malformed")
    other = VALID_REQUEST.model_copy(update={"station_id": "other"})
    refused_once(worker, "_on_request", REQUESTS, encode_message(other), "station")
    worker._on_request(REQUESTS, encode_message(VALID_REQUEST))
    assert worker._requests.get_nowait() == VALID_REQUEST
    refused_once(worker, "_on_control", CONTROL, b"[]", "malformed")
    for_other = StationControl(command="estop", station_id="other")
    refused_once(worker, "_on_control", CONTROL, encode_message(for_other), "station")
    worker._on_control(station_control_topic(), encode_message(for_other))  # not ours: ignored
    worker._on_control(CONTROL, encode_message(VALID_CONTROL))
    assert worker.stats.controls == 1
    assert worker.stats.malformed == 4 == sum(worker.stats.refusals.values())
