"""Wire messages round-trip; anything else is refused with a reason, never a crash."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genesis_lab.errors import MessageError
from genesis_lab.messages import (
    MAX_MESSAGE_BYTES,
    DocumentMessage,
    ExperimentRequest,
    StationControl,
    StationStatus,
    TrialStatusMessage,
    campaign_results_topic,
    decode_message,
    decode_worker_message,
    encode_message,
    station_requests_topic,
)

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(
    campaign=ids,
    trial=ids,
    station=ids,
    setpoints=st.dictionaries(ids, finite, min_size=1, max_size=4),
)
def test_request_round_trip(
    campaign: str, trial: str, station: str, setpoints: dict[str, float]
) -> None:
    request = ExperimentRequest(
        campaign_id=campaign,
        trial_id=trial,
        station_id=station,
        setpoints=setpoints,
        parameters=setpoints,
    )
    assert decode_message(encode_message(request), ExperimentRequest) == request


@given(
    state=st.sampled_from(["running", "completed", "failed", "rejected"]),
    reason=st.text(max_size=50),
)
def test_status_round_trip(state: str, reason: str) -> None:
    status = TrialStatusMessage(
        campaign_id="c", trial_id="t0001", station_id="s", state=state, reason=reason
    )  # type: ignore[arg-type]
    assert decode_worker_message(encode_message(status)) == status


def test_document_round_trip() -> None:
    doc = DocumentMessage(
        campaign_id="c",
        trial_id="t1",
        station_id="s",
        name="event",
        doc={"uid": "u", "data": {"x": 1.5}},
    )
    assert decode_worker_message(encode_message(doc)) == doc


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_with_a_reason(payload: bytes) -> None:
    for decode in (lambda p: decode_message(p, ExperimentRequest), decode_worker_message):
        try:
            decode(payload)
        except MessageError as exc:
            assert str(exc)


@given(
    st.dictionaries(
        st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=10)), max_size=6
    )
)
def test_arbitrary_json_objects_are_refused(obj: dict[str, object]) -> None:
    with pytest.raises(MessageError):
        decode_message(json.dumps(obj).encode(), ExperimentRequest)


def _request_json(**changes: object) -> bytes:
    base: dict[str, object] = {
        "schema_version": 1,
        "kind": "experiment_request",
        "campaign_id": "c",
        "trial_id": "t1",
        "station_id": "s",
        "setpoints": {"a": 1.0},
        "parameters": {"a": 1.0},
    }
    base.update(changes)
    return json.dumps(base).encode()


def test_wrong_schema_version_is_refused() -> None:
    decode_message(_request_json(), ExperimentRequest)
    with pytest.raises(MessageError, match="schema_version"):
        decode_message(_request_json(schema_version=2), ExperimentRequest)


def test_an_unknown_field_is_kept_aside_and_ignored() -> None:
    """A tolerant reader (tests/messages/test_compatibility.py): a newer release's field."""
    message = decode_message(_request_json(surprise=1), ExperimentRequest)
    assert message.model_extra == {"surprise": 1}
    plain = decode_message(_request_json(), ExperimentRequest)
    assert message.model_dump(exclude={"surprise", "sent_at"}) == plain.model_dump(
        exclude={"sent_at"}
    )


def test_topic_unsafe_id_is_refused() -> None:
    with pytest.raises(MessageError, match="trial_id"):
        decode_message(_request_json(trial_id="a/#"), ExperimentRequest)


def test_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(MessageError, match="exceeds"):
        decode_message(b" " * (MAX_MESSAGE_BYTES + 1), StationStatus)


def test_topics_are_versioned_and_refuse_wildcards() -> None:
    assert station_requests_topic("bench-1") == "genesis-lab/v1/stations/bench-1/requests"
    assert campaign_results_topic("c-1") == "genesis-lab/v1/campaigns/c-1/results"
    for bad in ("a/b", "a+", "#", ""):
        with pytest.raises(ValueError):
            station_requests_topic(bad)


@given(requested_by=st.text(max_size=400), reason=st.text(max_size=1200))
def test_free_text_of_a_control_is_capped_and_holds_no_control_character(
    requested_by: str, reason: str
) -> None:
    """Issue 14, item 3: whatever a control message says of who and why, the parsed message
    holds it on one line (no control or format character: newline, escape, bidirectional
    override) within its cap, cut rather than refused, so that an e-stop is still obeyed;
    and parsing it again changes nothing (a signature over it stays valid)."""
    raw = {"kind": "station_control", "command": "estop", "requested_by": requested_by}
    control = decode_message(json.dumps({**raw, "reason": reason}).encode(), StationControl)
    for text, cap in ((control.requested_by, 200), (control.reason, 500)):
        assert len(text) <= cap
        assert not any(unicodedata.category(c).startswith("C") for c in text)
    assert decode_message(encode_message(control), StationControl) == control


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused_at_the_wire(token: str) -> None:
    """Issue 15, item 7: JSON has no NaN or Infinity (and 1e400 overflows to one), and no
    record can store one: a document or status carrying one is refused, naming where."""
    document = {
        "kind": "document",
        "campaign_id": "c1",
        "trial_id": "t0001",
        "station_id": "bench",
        "name": "event",
        "doc": {"uid": "u1", "data": {"spectro_colour_error": 1.5}},
    }
    payload = json.dumps(document).replace("1.5", token).encode()
    with pytest.raises(MessageError, match=r"doc\.data\.spectro_colour_error is not a finite"):
        decode_worker_message(payload)
    status = {"kind": "trial_status", "campaign_id": "c1", "trial_id": "t0001"}
    status |= {"station_id": "bench", "state": "running", "sent_at": 1.5}
    with pytest.raises(MessageError, match="finite number"):
        decode_worker_message(json.dumps(status).replace("1.5", token).encode())
