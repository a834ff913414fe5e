"""Hostile input on the orchestrator's topics: refused with a logged, counted reason.

The runner's callbacks are fed directly (no broker): results, control and station status.
Every refusal adds exactly one to ``rejected_messages`` and to its reason in
``rejection_reasons``, is logged, and a valid message afterwards is still processed.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from event_model import compose_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis_lab.errors import StationError
from genesis_lab.messages import (
    MAX_MESSAGE_BYTES,
    DocumentMessage,
    ManualTrialRequest,
    StationStatus,
    TrialStatusMessage,
    campaign_control_topic,
    campaign_results_topic,
    encode_message,
    station_status_topic,
)
from genesis_lab.orchestration import CampaignRunner
from genesis_lab.planning import RandomPlanner
from genesis_lab.spec import CampaignSpec, load_campaign
from genesis_lab.store import CampaignRecord, TrialState, verify_record

REPO = Path(__file__).resolve().parents[2]
SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def small_spec() -> CampaignSpec:
    spec = load_campaign(REPO / "campaigns" / "colour_mixing.yaml").spec
    data = spec.model_dump()
    data.update(budget=50, initial_design=50, trial_timeout_s=60)
    data["station"]["id"] = f"hostile-{uuid.uuid4().hex[:8]}"
    return CampaignSpec.model_validate(data)


class Harness:
    """A runner that is never connected: dispatches are recorded, not published."""

    def __init__(self, record: CampaignRecord) -> None:
        self.spec = small_spec()
        planner = RandomPlanner(self.spec.parameters, self.spec.all_objectives)  # no model fits
        self.runner = CampaignRunner(
            self.spec, spec_text="", record=record, broker_url="mqtt://127.0.0.1:1", planner=planner
        )
        self.runner._client.publish_and_wait = lambda *a, **k: None  # type: ignore[method-assign]
        # As if connected (nothing leaves: paho keeps what is published while down), so the
        # loop's time-outs run as on a live link; cut off, the runner holds them.
        self.runner._client._connected = True
        record.create_campaign(
            self.runner.campaign_id, name="hostile", spec={}, spec_text="", versions={}
        )
        self.results = campaign_results_topic(self.runner.campaign_id)
        self.control = campaign_control_topic(self.runner.campaign_id)
        self.presence = station_status_topic(self.spec.station.station_id)

    def dispatch(self) -> str:
        [proposal] = self.runner.planner.ask(1)
        self.runner._dispatch(proposal)
        return proposal.trial_id

    def deliver(self, payload: bytes, topic: str | None = None) -> None:
        """What paho's thread and then the loop's thread do with one results message."""
        runner = self.runner
        if topic == self.control:
            runner._intake.on_control(topic, payload)
        elif topic == self.presence:
            runner._intake.on_presence(topic, payload)
        else:
            runner._intake.on_result(topic or self.results, payload)
        while not runner._intake.inbox.empty():
            message = runner._intake.inbox.get_nowait()
            if isinstance(message, DocumentMessage):
                runner._ingest_document(message)
            elif isinstance(message, TrialStatusMessage):
                runner._ingest_status(message)
            else:
                runner._accept_manual(message)

    def document(self, trial_id: str, name: str, doc: dict[str, Any]) -> bytes:
        return encode_message(
            DocumentMessage(
                campaign_id=self.runner.campaign_id,
                trial_id=trial_id,
                station_id=self.spec.station.station_id,
                name=name,  # type: ignore[arg-type]
                doc=json.loads(json.dumps(doc)),
            )
        )

    def status(self, trial_id: str, state: str) -> bytes:
        return encode_message(
            TrialStatusMessage(
                campaign_id=self.runner.campaign_id,
                trial_id=trial_id,
                station_id=self.spec.station.station_id,
                state=state,  # type: ignore[arg-type]
            )
        )

    def run_documents(self, trial_id: str) -> list[tuple[str, bytes]]:
        """A valid run's start, descriptor, event and stop, as results payloads."""
        reading = self.spec.objective.reading
        bundle = compose_run(
            metadata={
                "campaign_id": self.runner.campaign_id,
                "trial_id": trial_id,
                "station_id": self.spec.station.station_id,
            }
        )
        desc = bundle.compose_descriptor(
            name="primary",
            data_keys={reading: {"source": "sim", "dtype": "number", "shape": []}},
        )
        event = desc.compose_event(data={reading: 0.5}, timestamps={reading: 0.0})
        stop = bundle.compose_stop()
        docs = [("start", bundle.start_doc), ("descriptor", desc.descriptor_doc)]
        docs += [("event", event), ("stop", stop)]
        return [(name, self.document(trial_id, name, dict(doc))) for name, doc in docs]

    def complete(self, trial_id: str) -> None:
        for _name, payload in self.run_documents(trial_id):
            self.deliver(payload)
        self.deliver(self.status(trial_id, "completed"))

    def state(self, trial_id: str) -> TrialState:
        rows = self.runner.record.trials(self.runner.campaign_id)
        return next(r.state for r in rows if r.trial_id == trial_id)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with CampaignRecord(tmp_path / "record.sqlite") as record:
        yield Harness(record)


def refused_once(harness: Harness, payload: bytes, reason: str, topic: str | None = None) -> None:
    """Deliver ``payload``; it must be refused, counted once under ``reason``, and logged."""
    runner = harness.runner
    before, by_reason = runner.rejected_messages, runner.rejection_reasons[reason]
    harness.deliver(payload, topic)
    assert runner.rejected_messages == before + 1
    assert runner.rejection_reasons[reason] == by_reason + 1, dict(runner.rejection_reasons)
    assert runner._intake.inbox.empty()


# -- payload strategies -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


def _is_object(payload: bytes) -> bool:
    try:
        return isinstance(json.loads(payload), dict)
    except ValueError:
        return False


malformed = st.one_of(
    st.binary(max_size=200).filter(lambda b: not _is_object(b)),
    json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
    st.text(max_size=50)
    .map(lambda t: ("{" + t).encode("utf-8", "surrogatepass"))
    .filter(lambda b: not _is_object(b)),  # "{" + "}" is an object, refused as "schema"
)


def wrong_type(value: object) -> st.SearchStrategy[object]:
    """Values of another JSON type than ``value`` (a bool is not a number on this wire)."""
    if isinstance(value, str):
        return st.integers() | st.booleans() | st.lists(st.text(max_size=3), max_size=2)
    if isinstance(value, bool | int | float):
        return st.text(max_size=5) | st.booleans() | st.lists(st.integers(), max_size=2)
    if isinstance(value, dict):
        return st.text(max_size=5) | st.integers() | st.lists(st.integers(), max_size=2)
    if value is None:  # a str or None
        return st.integers() | st.booleans() | st.lists(st.integers(), max_size=2)
    return st.text(max_size=5) | st.integers() | st.booleans()  # a list


#: Fields that some wire message may leave out (they have a default).
OPTIONAL = {
    name
    for model in (DocumentMessage, TrialStatusMessage, ManualTrialRequest, StationStatus)
    for name, info in model.model_fields.items()
    if not info.is_required()
}


@st.composite
def wrong_schema(draw: st.DrawFn, valid: dict[str, Any]) -> bytes:
    """``valid`` with a required field missing, or one of the wrong type. (An unknown
    field is not wrong: a newer release's, ignored; tests/messages/test_compatibility.py.)"""
    data = dict(valid)
    fields = sorted(k for k in data if k not in ("schema_version", "sent_at"))
    how = draw(st.sampled_from(["missing", "type"]))
    if how == "missing":
        data.pop(draw(st.sampled_from([k for k in fields if k not in OPTIONAL])))
    else:
        name = draw(st.sampled_from(fields))
        data[name] = draw(wrong_type(data[name]))
    return json.dumps(data).encode()


versions = st.integers().filter(lambda v: v != 1) | st.sampled_from(["1", 1.5, None, "2"])


def with_version(valid: dict[str, Any], version: object) -> bytes:
    return json.dumps({**valid, "schema_version": version}).encode()


def oversized(valid: bytes, extra: int) -> bytes:
    return valid[:-1] + b" " * (MAX_MESSAGE_BYTES - len(valid) + extra) + b"}"


# -- the results topic ------------------------------------------------------------------


@SETTINGS
@given(payload=malformed)
def test_results_refuse_malformed(
    harness: Harness, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        refused_once(harness, payload, "malformed")
    assert "rejected (malformed) message on" in caplog.text


@SETTINGS
@given(data=st.data())
def test_results_refuse_wrong_schema_and_version(harness: Harness, data: st.DataObject) -> None:
    trial = harness.dispatch() if not harness.runner._dispatched else min(harness.runner._in_flight)
    valid = json.loads(
        data.draw(
            st.sampled_from([harness.status(trial, "running"), harness.run_documents(trial)[0][1]])
        )
    )
    refused_once(harness, data.draw(wrong_schema(valid)), "schema")
    refused_once(harness, with_version(valid, data.draw(versions)), "version")
    refused_once(
        harness, oversized(json.dumps(valid).encode(), data.draw(st.integers(1, 64))), "oversized"
    )


def test_results_recover_after_hostile_input(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    trial = harness.dispatch()
    valid = json.loads(harness.status(trial, "running"))
    hostile = [
        (b"\x00\xff garbage", "malformed"),
        (b"[]", "malformed"),
        (json.dumps({**valid, "state": 7}).encode(), "schema"),
        (with_version(valid, 2), "version"),
        (oversized(json.dumps(valid).encode(), 1), "oversized"),
        (json.dumps({**valid, "campaign_id": "other"}).encode(), "campaign"),
        (json.dumps({**valid, "station_id": "other"}).encode(), "station"),
        (harness.status("t9999", "completed"), "unknown-trial"),
    ]
    with caplog.at_level(logging.WARNING):
        for payload, reason in hostile:
            refused_once(harness, payload, reason)
    assert harness.runner.rejected_messages == len(hostile)
    assert caplog.text.count("rejected (") == len(hostile)
    harness.complete(trial)
    assert harness.state(trial) is TrialState.COMPLETED
    assert harness.runner.rejected_messages == len(hostile)


# -- out of order -----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["descriptor", "event", "stop"])
def test_document_before_start_is_refused(harness: Harness, first: str) -> None:
    trial = harness.dispatch()
    docs = dict(harness.run_documents(trial))
    refused_once(harness, docs[first], "out-of-order")
    harness.complete(trial)  # the run in order afterwards is ingested
    assert harness.state(trial) is TrialState.COMPLETED


@pytest.mark.parametrize("key", ["campaign_id", "trial_id", "station_id"])
def test_a_start_naming_another_campaign_trial_or_station_is_refused_for_good(
    harness: Harness, key: str
) -> None:
    """Issue 14, item 1: a trial's result comes only from the run its own station produced
    for its own request: a start document that names anything else is refused (and
    acknowledged: a resend will not make it right), and so is that run's event."""
    trial = harness.dispatch()
    name, start = harness.run_documents(trial)[0]
    doc = json.loads(start)["doc"]
    refused_once(
        harness, harness.document(trial, name, {**doc, key: "someone-else"}), "foreign-run"
    )
    assert harness.state(trial) is TrialState.DISPATCHED
    harness.complete(trial)  # its own run is ingested
    assert harness.state(trial) is TrialState.COMPLETED


def test_an_event_of_another_runs_descriptor_is_refused(harness: Harness) -> None:
    trial = harness.dispatch()
    docs = harness.run_documents(trial)
    for _name, payload in docs[:2]:  # start, descriptor
        harness.deliver(payload)
    event = json.loads(dict(docs)["event"])["doc"]
    forged = {**event, "uid": "f" * 32, "descriptor": "another-descriptor"}
    refused_once(harness, harness.document(trial, "event", forged), "out-of-order")
    for _name, payload in docs[2:]:
        harness.deliver(payload)
    harness.deliver(harness.status(trial, "completed"))
    assert harness.state(trial) is TrialState.COMPLETED
    [row] = [r for r in harness.runner.record.trials(harness.runner.campaign_id)]
    assert row.outcomes == {harness.spec.objective.name: 0.5}  # its own event alone


def test_document_after_stop_second_start_and_foreign_stop_are_refused(
    harness: Harness,
) -> None:
    trial = harness.dispatch()
    docs = harness.run_documents(trial)
    for _name, payload in docs:
        harness.deliver(payload)
    refused_once(harness, dict(harness.run_documents(trial))["start"], "outside-run")
    refused_once(harness, dict(harness.run_documents(trial))["event"], "outside-run")
    refused_once(harness, dict(harness.run_documents(trial))["stop"], "outside-run")
    harness.deliver(docs[-1][1])  # the same stop again: a duplicate, not a refusal
    assert harness.runner.duplicate_documents == 1
    harness.deliver(harness.status(trial, "completed"))
    assert harness.state(trial) is TrialState.COMPLETED
    assert harness.runner.rejected_messages == 3


def _second_stop(harness: Harness, trial: str, docs: list[tuple[str, bytes]]) -> bytes:
    stop = json.loads(dict(docs)["stop"])["doc"]
    return harness.document(trial, "stop", {**stop, "uid": "5" * 32, "exit_status": "abort"})


def _event_after_stop(harness: Harness, trial: str, docs: list[tuple[str, bytes]]) -> bytes:
    event = json.loads(dict(docs)["event"])["doc"]
    reading = harness.spec.objective.reading
    late = {**event, "uid": "7" * 32, "seq_num": 2, "data": {reading: 0.0}}
    return harness.document(trial, "event", late)


def test_a_second_stop_of_a_trial_in_flight_is_refused(harness: Harness) -> None:
    """Issue 15, item 5: a second stop of the same run (another uid) used to be stored."""
    trial = harness.dispatch()
    docs = harness.run_documents(trial)
    for _name, payload in docs:
        harness.deliver(payload)
    refused_once(harness, _second_stop(harness, trial, docs), "outside-run")
    harness.deliver(harness.status(trial, "completed"))
    assert harness.state(trial) is TrialState.COMPLETED
    stored = harness.runner.record.documents(harness.runner.campaign_id, trial)
    assert [d.name for d in stored] == ["start", "descriptor", "event", "stop"]


@pytest.mark.parametrize("late", ["second start", "second stop", "event after the stop"])
def test_documents_after_the_end_are_refused_never_stored(harness: Harness, late: str) -> None:
    """Issue 15, item 5: once a trial has ended, a second start, a second stop or an event
    after its stop (new uids) used to be stored as 'late documents'; verify passed and
    export wrote a run with two stops, or a phantom run. Now each is refused (counted,
    acknowledged) and the record holds the one run; a copy of a stored document is still
    a duplicate, not a refusal."""
    trial = harness.dispatch()
    docs = harness.run_documents(trial)
    for _name, payload in docs:
        harness.deliver(payload)
    harness.deliver(harness.status(trial, "completed"))
    assert harness.state(trial) is TrialState.COMPLETED
    harness.runner._ended_runs.clear()  # as after a resume: the run is read back
    payload = {
        "second start": dict(harness.run_documents(trial))["start"],
        "second stop": _second_stop(harness, trial, docs),
        "event after the stop": _event_after_stop(harness, trial, docs),
    }[late]
    refused_once(harness, payload, "outside-run")
    harness.deliver(docs[2][1])  # its own event again
    assert harness.runner.duplicate_documents == 1
    record = harness.runner.record
    stored = record.documents(harness.runner.campaign_id, trial)
    assert [d.name for d in stored] == ["start", "descriptor", "event", "stop"]
    assert verify_record(record).ok


def test_a_late_run_of_an_abandoned_trial_is_stored_by_the_same_rules(
    harness: Harness,
) -> None:
    """A trial abandoned before its run began, run later by a worker that came back: its
    one run is stored (late documents, the trial stays ABANDONED); a second stop is not."""
    trial = harness.dispatch()
    harness.runner._end(trial, TrialState.ABANDONED, reason="no result in time")
    docs = harness.run_documents(trial)
    for _name, payload in docs:
        harness.deliver(payload)
    refused_once(harness, _second_stop(harness, trial, docs), "outside-run")
    assert harness.state(trial) is TrialState.ABANDONED
    stored = harness.runner.record.documents(harness.runner.campaign_id, trial)
    assert [d.name for d in stored] == ["start", "descriptor", "event", "stop"]


def test_completed_before_stop_waits_for_the_stop(harness: Harness) -> None:
    trial = harness.dispatch()
    docs = harness.run_documents(trial)
    for _name, payload in docs[:-1]:
        harness.deliver(payload)
    harness.deliver(harness.status(trial, "completed"))
    assert harness.state(trial) is TrialState.RUNNING
    harness.deliver(docs[-1][1])
    assert harness.state(trial) is TrialState.COMPLETED
    assert harness.runner.rejected_messages == 0


def test_status_for_ended_trial_is_dropped_or_refused(harness: Harness) -> None:
    """A copy of the final status (a worker's resend) is a duplicate; a contradicting one
    is refused; neither changes the record."""
    trial = harness.dispatch()
    harness.complete(trial)
    harness.deliver(harness.status(trial, "completed"))
    harness.deliver(harness.status(trial, "running"))
    assert harness.runner.duplicate_statuses == 2
    assert harness.runner.rejected_messages == 0
    refused_once(harness, harness.status(trial, "failed"), "ended-trial")
    assert harness.state(trial) is TrialState.COMPLETED


@SETTINGS
@given(order=st.permutations(range(5)), repeat=st.lists(st.integers(0, 4), max_size=3))
def test_any_arrival_order_is_stored_refused_or_dropped(
    harness: Harness, order: list[int], repeat: list[int]
) -> None:
    """Each of a run's documents, in any order and repeated, is stored, refused or dropped."""
    runner = harness.runner
    trial = harness.dispatch()
    messages = [payload for _name, payload in harness.run_documents(trial)]
    messages.append(harness.status(trial, "completed"))
    arrivals = [messages[i] for i in order + repeat]
    out_of_order = (
        runner.rejection_reasons["out-of-order"] + runner.rejection_reasons["outside-run"]
    )
    duplicates = runner.duplicate_documents
    for payload in arrivals:
        harness.deliver(payload)
    stored = len(runner.record.documents(runner.campaign_id, trial))
    documents = sum(1 for p in arrivals if p != messages[-1])
    refused = (
        runner.rejection_reasons["out-of-order"] + runner.rejection_reasons["outside-run"]
    ) - out_of_order
    assert stored + refused + runner.duplicate_documents - duplicates == documents
    assert runner.rejected_messages == sum(runner.rejection_reasons.values())
    if order == sorted(order):
        assert harness.state(trial) is TrialState.COMPLETED


# -- control and station status ---------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_control_and_presence_refuse_hostile_input(
    harness: Harness, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    manual = ManualTrialRequest(
        campaign_id=harness.runner.campaign_id,
        parameters={"cyan": 1.0, "magenta": 2.0, "yellow": 3.0},
    )
    status = StationStatus(station_id=harness.spec.station.station_id, state="online")
    with caplog.at_level(logging.WARNING):
        for topic, message in ((harness.control, manual), (harness.presence, status)):
            valid = json.loads(encode_message(message))
            refused_once(harness, data.draw(malformed), "malformed", topic)
            refused_once(harness, data.draw(wrong_schema(valid)), "schema", topic)
            refused_once(harness, with_version(valid, data.draw(versions)), "version", topic)
            big = oversized(encode_message(message), data.draw(st.integers(1, 64)))
            refused_once(harness, big, "oversized", topic)
    assert "rejected (version) control message" in caplog.text
    assert "rejected (oversized) station status" in caplog.text


def test_control_and_presence_recover(harness: Harness) -> None:
    status = StationStatus(station_id=harness.spec.station.station_id, state="online")
    refused_once(harness, b"\xff", "malformed", harness.presence)
    other = StationStatus(station_id="other-station", state="online")
    refused_once(harness, encode_message(other), "station", harness.presence)
    assert not harness.runner._intake.station_online.is_set()
    harness.deliver(encode_message(status), harness.presence)
    assert harness.runner._intake.station_online.is_set()
    manual = ManualTrialRequest(
        campaign_id=harness.runner.campaign_id,
        parameters={"cyan": 1.0, "magenta": 2.0, "yellow": 3.0},
    )
    refused_once(harness, b"{", "malformed", harness.control)
    harness.deliver(encode_message(manual), harness.control)
    assert len(harness.runner._next) == 1


@pytest.mark.parametrize("token", ["NaN", "Infinity", "1e400"])
def test_a_non_finite_reading_is_refused_and_the_campaign_goes_on(
    harness: Harness, token: str
) -> None:
    """Issue 15, item 7: such an event used to be stored, then the record write raised
    and the orchestrator exited. Now it is refused at the wire (and acknowledged, so the
    sender stops resending it); the trial completes from its own run, the record verifies."""
    trial = harness.dispatch()
    docs = harness.run_documents(trial)
    for _name, payload in docs[:2]:  # start, descriptor
        harness.deliver(payload)
    event = json.loads(dict(docs)["event"])["doc"]
    reading = harness.spec.objective.reading
    forged = {**event, "uid": "e" * 32, "data": {reading: 0.25}}
    # The reading itself, not any "0.25" elsewhere (a sent_at can hold those digits).
    value = f'"{reading}":0.25'.encode()
    payload = harness.document(trial, "event", forged)
    assert payload.count(value) == 1, payload
    payload = payload.replace(value, f'"{reading}":{token}'.encode())
    refused_once(harness, payload, "schema")
    for _name, payload in docs[2:]:  # its own event and stop
        harness.deliver(payload)
    harness.deliver(harness.status(trial, "completed"))
    assert harness.state(trial) is TrialState.COMPLETED
    record = harness.runner.record
    [row] = record.trials(harness.runner.campaign_id)
    assert row.outcomes == {harness.spec.objective.name: 0.5}
    assert verify_record(record).ok


def test_an_injected_event_never_shifts_a_result(harness: Harness) -> None:
    """Issue 15, item 6: a trial completes from exactly the events its stop counts, each
    with its own seq_num. An event with a taken seq_num is refused; one with a new seq_num
    makes the run's count wrong, and the trial fails rather than telling the planner a
    shifted mean."""
    reading = harness.spec.objective.reading
    first = harness.dispatch()
    docs = harness.run_documents(first)
    for _name, payload in docs[:3]:  # start, descriptor, its own event (seq_num 1)
        harness.deliver(payload)
    event = json.loads(dict(docs)["event"])["doc"]
    same_seq = {**event, "uid": "a" * 32, "data": {reading: 0.0}}
    refused_once(harness, harness.document(first, "event", same_seq), "outside-run")
    harness.deliver(docs[3][1])  # the stop: one event
    harness.deliver(harness.status(first, "completed"))
    assert harness.state(first) is TrialState.COMPLETED

    second = harness.dispatch()
    docs = harness.run_documents(second)
    for _name, payload in docs[:3]:
        harness.deliver(payload)
    event = json.loads(dict(docs)["event"])["doc"]
    extra = {**event, "uid": "b" * 32, "seq_num": 2, "data": {reading: 0.0}}
    harness.deliver(harness.document(second, "event", extra))  # stored: seq_num 2 is free
    harness.deliver(docs[3][1])  # the stop counts one event
    harness.deliver(harness.status(second, "completed"))
    assert harness.state(second) is TrialState.FAILED
    rows = {r.trial_id: r for r in harness.runner.record.trials(harness.runner.campaign_id)}
    assert rows[first].outcomes == {harness.spec.objective.name: 0.5}
    assert rows[second].outcomes is None
    assert "holds 2 events but its stop counts 1" in rows[second].reason


def test_a_campaign_never_completes_while_a_run_is_partly_stored(harness: Harness) -> None:
    """Issue 15, item 3: the worker says the run completed (4 documents) but its event is
    missing here. At the trial's time-out it is not abandoned: the worker is asked for the
    rest and the trial gets one more time-out; after that the campaign stops (it used to
    abandon the trial and call itself completed), the trial left in flight for a resume."""
    runner = harness.runner
    runner._intake.station_online.set()  # the station is there; its run is only partly here
    trial = harness.dispatch()
    docs = dict(harness.run_documents(trial))
    for name in ("start", "descriptor", "stop"):
        harness.deliver(docs[name])
    completed = json.loads(harness.status(trial, "completed"))
    completed["documents"] = 4
    harness.deliver(json.dumps(completed).encode())
    assert harness.state(trial) is TrialState.RUNNING
    timeout = harness.spec.trial_timeout_s
    runner._in_flight[trial].dispatched_at -= timeout + 1
    runner._expire_leases()  # the first time-out: one more, and the worker is asked
    assert harness.state(trial) is TrialState.RUNNING
    assert runner._in_flight[trial].overtime
    runner._in_flight[trial].dispatched_at -= timeout + 1
    with pytest.raises(StationError, match="3 of them stored here"):
        runner._expire_leases()
    assert harness.state(trial) is TrialState.RUNNING
    [campaign] = runner.record.campaigns()
    assert campaign.status == "stopped"
    assert "worker completed its run (4 documents), 3 of them stored" in campaign.stop_reason


def test_a_rejected_status_for_a_running_trial_is_refused_not_fatal(harness: Harness) -> None:
    """Found by the live property test: 'rejected' (refused before anything moved) for a
    trial whose run has begun made the record write raise and the campaign fail. It is
    refused (counted, acknowledged); the trial completes from its run."""
    trial = harness.dispatch()
    docs = harness.run_documents(trial)
    harness.deliver(docs[0][1])  # the start: the trial is running
    assert harness.state(trial) is TrialState.RUNNING
    refused_once(harness, harness.status(trial, "rejected"), "contradicts-trial")
    for _name, payload in docs[1:]:
        harness.deliver(payload)
    harness.deliver(harness.status(trial, "completed"))
    assert harness.state(trial) is TrialState.COMPLETED
