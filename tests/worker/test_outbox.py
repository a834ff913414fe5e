"""The worker's outbox and journal: the SQLite file itself, then the worker over a real broker.

Unit tests run against an outbox in a file and one in memory, on a fake clock. The worker
tests use the embedded broker and a test client playing the orchestrator: it receives the
campaign's results and sends the acknowledgements.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from genesis_lab.errors import RecordError
from genesis_lab.messages import (
    DeliveryAck,
    DocumentMessage,
    ExperimentRequest,
    TrialStatusMessage,
    campaign_results_topic,
    decode_worker_message,
    encode_message,
    station_acks_topic,
    station_requests_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.spec import StationRef
from genesis_lab.station import Station, build_station
from genesis_lab.worker import Worker
from genesis_lab.worker import _outbox as outbox_module
from genesis_lab.worker._outbox import JournalEntry, Outbox, OutboxEntry

TARGET = {"pump_cyan": 3.2, "pump_magenta": 6.1, "pump_yellow": 1.5}
OTHER = {"pump_cyan": 1.1, "pump_magenta": 2.2, "pump_yellow": 3.3}
PUMPS = ("pump_cyan", "pump_magenta", "pump_yellow")
TOPIC = "genesis-lab/v1/campaigns/c1/results"


# ------------------------------------------------------------------------ the outbox alone
class FakeClock:
    """Stands in for the ``time`` module inside the outbox: ``time()`` is ``now``."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(outbox_module, "time", fake)
    return fake


@pytest.fixture(params=["file", "memory"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "state" / "outbox.db" if request.param == "file" else None)
    try:
        yield box
    finally:
        box.close()


def _ids(entries: list[OutboxEntry]) -> list[str]:
    return [entry.message_id for entry in entries]


def test_a_message_is_kept_until_acknowledged(outbox: Outbox) -> None:
    assert len(outbox) == 0
    assert outbox.put("m1", "c1", TOPIC, b"first", resend_s=0) is True
    assert outbox.put("m2", "c1", TOPIC, b"second", resend_s=0) is True
    assert outbox.put("m1", "c1", TOPIC, b"changed", resend_s=0) is False  # already kept
    assert len(outbox) == 2
    (kept,) = [e for e in outbox.due() if e.message_id == "m1"]
    assert (kept.campaign_id, kept.topic, kept.payload, kept.attempts) == ("c1", TOPIC, b"first", 1)
    assert isinstance(kept.payload, bytes)
    assert outbox.ack(["m1", "never-kept"]) == 1
    assert len(outbox) == 1 and _ids(outbox.due()) == ["m2"]
    assert outbox.ack(["m1"]) == 0  # an acknowledgement that comes twice changes nothing
    assert outbox.ack(["m2"]) == 1
    assert len(outbox) == 0 and outbox.due() == []


def test_a_message_is_due_only_once_its_resend_time_has_come(
    outbox: Outbox, clock: FakeClock
) -> None:
    outbox.put("now", "c1", TOPIC, b"a", resend_s=0)
    outbox.put("later", "c1", TOPIC, b"b", resend_s=60)
    assert _ids(outbox.due()) == ["now"]
    clock.now += 59.9
    assert _ids(outbox.due()) == ["now"]
    clock.now += 0.1
    assert _ids(outbox.due()) == ["now", "later"]


def test_due_entries_come_back_in_the_order_they_were_put(outbox: Outbox) -> None:
    for message_id in ("m3", "m1", "m4", "m2"):
        outbox.put(message_id, "c1", TOPIC, message_id.encode(), resend_s=0)
    due = outbox.due()
    assert _ids(due) == ["m3", "m1", "m4", "m2"]
    assert [e.seq for e in due] == sorted(e.seq for e in due)
    assert _ids(outbox.due(limit=2)) == ["m3", "m1"]


def test_resending_doubles_the_wait_per_attempt_up_to_the_cap(
    outbox: Outbox, clock: FakeClock
) -> None:
    outbox.put("m", "c1", TOPIC, b"x", resend_s=1.0)
    waits = []
    for _ in range(5):
        # Find when the message falls due, to 1 ms, then resend it right then.
        start = clock.now
        while not outbox.due():
            clock.now = round(clock.now + 0.001, 6)
        waits.append(round(clock.now - start, 3))
        (entry,) = outbox.due()
        outbox.mark_sent([entry], resend_s=1.0, max_s=5.0)
        assert outbox.due() == []
    # The first wait is the one put() set; then 2, 4 and 8 capped at 5.
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    clock.now += 5.0
    assert [e.attempts for e in outbox.due()] == [6]


def test_mark_sent_touches_only_the_entries_it_is_given(outbox: Outbox, clock: FakeClock) -> None:
    outbox.put("m1", "c1", TOPIC, b"a", resend_s=0)
    outbox.put("m2", "c1", TOPIC, b"b", resend_s=0)
    first, _ = outbox.due()
    outbox.mark_sent([first], resend_s=10.0, max_s=60.0)
    assert [(e.message_id, e.attempts) for e in outbox.due()] == [("m2", 1)]
    outbox.mark_sent([], resend_s=10.0, max_s=60.0)  # nothing due: nothing to do
    assert _ids(outbox.due()) == ["m2"]


def test_the_backoff_is_written_to_the_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    try:
        box.put("m", "c1", TOPIC, b"x", resend_s=0.5)
        for due_at in (1_000.5, 1_001.5, 1_003.5):  # waits 1.0 and 2.0 between them
            clock.now = due_at
            box.mark_sent(box.due(), resend_s=0.5, max_s=3.0)
        with contextlib.closing(sqlite3.connect(path)) as reader:
            row = reader.execute(
                "SELECT created_at, next_at, attempts FROM outbox WHERE message_id = 'm'"
            ).fetchone()
    finally:
        box.close()
    # The third resend waits 0.5 * 2**3 = 4.0 s, capped at 3.0.
    assert row == (1_000.0, 1_006.5, 4)


def test_outbox_and_journal_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    try:
        box.put("m1", "c1", TOPIC, b"\x00binary\xff", resend_s=0)
        box.put("m2", "c1", TOPIC, b"second", resend_s=0)
        box.ack(["m2"])
        box.claim("c1", "t0001", b"request one")
        box.claim("c1", "t0002", b"request two")
        box.advance("c1", "t0001", "running")
    finally:
        box.close()
    again = Outbox(path)
    try:
        assert len(again) == 1
        (entry,) = again.due()
        assert (entry.message_id, entry.payload) == ("m1", b"\x00binary\xff")
        assert again.journal_state("c1", "t0001") == "running"
        assert again.unfinished() == [
            JournalEntry("c1", "t0001", "running", b"request one"),
            JournalEntry("c1", "t0002", "accepted", b"request two"),
        ]
        assert again.put("m1", "c1", TOPIC, b"again", resend_s=0) is False
        assert again.ack(["m1"]) == 1
    finally:
        again.close()
    fresh = Outbox()  # in memory: nothing of the file, nothing of another in-memory outbox
    try:
        assert len(fresh) == 0 and fresh.unfinished() == []
    finally:
        fresh.close()


def test_the_journal_records_each_trial_once_and_how_far_it_got(outbox: Outbox) -> None:
    assert outbox.journal_state("c1", "t0002") is None
    assert outbox.claim("c1", "t0002", b"two") is True
    assert outbox.claim("c1", "t0001", b"one") is True
    assert outbox.claim("c1", "t0002", b"two again") is False
    assert outbox.claim("c2", "t0002", b"other campaign") is True  # ids are per campaign
    assert outbox.journal_state("c1", "t0002") == "accepted"
    outbox.advance("c1", "t0002", "running")
    assert outbox.journal_state("c1", "t0002") == "running"
    assert outbox.journal_state("c2", "t0002") == "accepted"
    # In the order accepted, not by id; the first request kept, not the repeat.
    assert outbox.unfinished() == [
        JournalEntry("c1", "t0002", "running", b"two"),
        JournalEntry("c1", "t0001", "accepted", b"one"),
        JournalEntry("c2", "t0002", "accepted", b"other campaign"),
    ]
    outbox.advance("c1", "t0002", "ended")
    outbox.advance("c2", "t0002", "ended")
    assert outbox.journal_state("c1", "t0002") == "ended"
    assert outbox.unfinished() == [JournalEntry("c1", "t0001", "accepted", b"one")]
    assert outbox.claim("c1", "t0002", b"after the end") is False  # never accepted twice


@pytest.mark.parametrize("state", ["accepted", "completed", "", "RUNNING"])
def test_advance_refuses_a_state_that_is_not_running_or_ended(outbox: Outbox, state: str) -> None:
    outbox.claim("c1", "t0001", b"one")
    outbox.advance("c1", "t0001", "running")
    with pytest.raises(ValueError, match="running or ended"):
        outbox.advance("c1", "t0001", state)
    assert outbox.journal_state("c1", "t0001") == "running"


def test_an_outbox_that_cannot_be_opened_raises_a_record_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="cannot open the worker's outbox") as caught:
        Outbox(tmp_path)  # a directory, not a database file
    assert caught.value.path == str(tmp_path)


# ----------------------------------------------------------------- the worker over a broker
def _station() -> Station:
    return build_station(StationRef(plugin="colour-bench", options={"noise_std": 0.0}))


def _sets(station: Station) -> dict[str, list[float]]:
    """The setpoints each pump was commanded to, in order."""
    sets: dict[str, list[float]] = {}
    for name in PUMPS:
        log = station.actuators[name].command_log  # type: ignore[attr-defined]
        sets[name] = [c.value for c in log if c.command == "set"]
    return sets


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


Result = DocumentMessage | TrialStatusMessage


class Harness:
    """A worker on a fresh station id, and a client playing the orchestrator.

    ``restart()`` stops the worker and starts a new one on the same station, station id and
    outbox (a file, when ``outbox`` is given)."""

    def __init__(self, url: str, *, outbox: Path | None = None, **worker_options: float) -> None:
        self.url = url
        self.station_id = f"bench-{uuid.uuid4().hex[:8]}"
        self.campaign_id = f"c-{uuid.uuid4().hex[:8]}"
        self.station = _station()
        self.outbox_path = outbox
        self.worker_options = {"ack_timeout_s": 60.0, **worker_options}
        self.worker = self._new_worker()
        self.results: queue.Queue[Result] = queue.Queue()
        self.received: list[Result] = []  # everything, resent copies included
        self.others: dict[str, list[Result]] = {}
        self.client = MqttClient(url, client_id=f"test-{uuid.uuid4().hex[:8]}")

    def _new_worker(self) -> Worker:
        return Worker(
            self.station,
            self.station_id,
            self.url,
            plugin="colour-bench",
            outbox=self.outbox_path,
            **self.worker_options,
        )

    def _on_result(self, _topic: str, payload: bytes) -> None:
        message = decode_worker_message(payload)
        self.received.append(message)
        self.results.put(message)

    def __enter__(self) -> Harness:
        self.client.connect()
        self.client.subscribe(campaign_results_topic(self.campaign_id), self._on_result)
        self.worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.worker.stop()
        finally:
            self.client.close()
            self.station.close()

    def restart(self) -> None:
        self.worker.stop()
        self.worker = self._new_worker()
        self.worker.start()

    def make_request(
        self, trial_id: str, setpoints: dict[str, float], *, expires_at: float | None = None
    ) -> ExperimentRequest:
        values: dict[str, float | int | str] = dict(setpoints)
        return ExperimentRequest(
            campaign_id=self.campaign_id,
            trial_id=trial_id,
            station_id=self.station_id,
            setpoints=values,
            parameters=values,
            expires_at=expires_at,
        )

    def request(
        self, trial_id: str, setpoints: dict[str, float], *, expires_at: float | None = None
    ) -> None:
        message = self.make_request(trial_id, setpoints, expires_at=expires_at)
        self.send(station_requests_topic(self.station_id), encode_message(message))

    def ack(self, message_ids: list[str], *, station_id: str | None = None) -> None:
        ack = DeliveryAck(
            campaign_id=self.campaign_id,
            station_id=station_id or self.station_id,
            message_ids=message_ids,
        )
        self.send(station_acks_topic(self.station_id), encode_message(ack))

    def send(self, topic: str, payload: bytes) -> None:
        self.client.publish_and_wait(topic, payload)

    def unique(self, trial_id: str) -> list[Result]:
        """The trial's messages received so far, in arrival order, one per message id."""
        found: dict[str, Result] = {}
        for message in list(self.received):
            if message.trial_id == trial_id:
                found.setdefault(message.message_id, message)
        return list(found.values())

    def until_terminal(self, trial_id: str) -> list[Result]:
        """The trial's messages up to its final status; other trials' are kept for later."""
        seen: list[Result] = []
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


def _states(messages: list[Result]) -> list[str]:
    return [m.state for m in messages if isinstance(m, TrialStatusMessage)]


def test_results_stay_in_the_outbox_until_the_orchestrator_acknowledges_them(
    embedded_broker: str,
) -> None:
    with Harness(embedded_broker) as h:
        h.request("t0001", TARGET)
        messages = h.until_terminal("t0001")
        assert _states(messages) == ["accepted", "running", "completed"]
        ids = [m.message_id for m in messages]
        assert len(ids) == 7 and len(set(ids)) == 7  # 3 statuses and 4 documents
        outbox = h.worker.outbox
        assert len(outbox) == 7  # nothing acknowledged yet
        h.ack(ids[:3])
        wait_for(lambda: len(outbox) == 4, "the first three acknowledged messages to go")
        assert h.worker.stats.acknowledged == 3
        h.ack(ids[3:])
        wait_for(lambda: len(outbox) == 0, "the outbox to empty")
        assert h.worker.stats.acknowledged == 7
        assert h.worker.stats.resent == 0
        wait_for(lambda: outbox.journal_state(h.campaign_id, "t0001") == "ended", "the end")


def test_unacknowledged_results_are_sent_again_with_the_same_message_id(
    embedded_broker: str,
) -> None:
    with Harness(embedded_broker, ack_timeout_s=0.5, max_resend_s=1.0) as h:
        h.request("t0001", TARGET)
        first = h.until_terminal("t0001")

        def repeated() -> list[Result]:
            counts: dict[str, int] = {}
            for m in list(h.received):
                counts[m.message_id] = counts.get(m.message_id, 0) + 1
            return [m for m in first if counts.get(m.message_id, 0) >= 2]

        wait_for(lambda: len(repeated()) == len(first), "every message to be sent again")
        assert h.worker.stats.resent >= len(first)
        for original in first:  # a resent copy is the very same message
            copies = [m for m in list(h.received) if m.message_id == original.message_id]
            assert all(copy == original for copy in copies)
        h.ack([m.message_id for m in first])
        wait_for(lambda: len(h.worker.outbox) == 0, "the outbox to empty after the acks")
        assert h.worker.stats.requests == 1  # resending results never runs the trial again


def test_a_request_that_comes_twice_runs_once_even_across_a_restart(
    embedded_broker: str, tmp_path: Path
) -> None:
    with Harness(embedded_broker, outbox=tmp_path / "outbox.db") as h:
        h.request("t0001", TARGET)
        h.request("t0001", TARGET)
        assert _states(h.until_terminal("t0001"))[-1] == "completed"
        wait_for(lambda: h.worker.stats.duplicates == 1, "the repeat to be counted")
        assert h.worker.stats.requests == 1
        assert _sets(h.station) == {name: [TARGET[name]] for name in PUMPS}

        restarted_at = time.time()
        h.restart()
        assert h.worker.outbox.journal_state(h.campaign_id, "t0001") == "ended"
        h.request("t0001", TARGET)
        h.request("t0002", OTHER)  # handled after the repeat: its statuses come after
        assert _states(h.until_terminal("t0002")) == ["accepted", "running", "completed"]
        assert h.worker.stats.duplicates == 1
        assert h.worker.stats.requests == 1
        # Ended: the new worker sent nothing for it, not even an accepted status.
        assert [m for m in h.unique("t0001") if m.sent_at >= restarted_at] == []
        assert _sets(h.station) == {name: [TARGET[name], OTHER[name]] for name in PUMPS}


def test_an_expired_request_is_refused_and_never_journalled(embedded_broker: str) -> None:
    with Harness(embedded_broker) as h:
        h.request("t0001", TARGET, expires_at=time.time() - 60)
        wait_for(lambda: h.worker.stats.refusals["expired"] == 1, "the expired request")
        assert h.worker.outbox.journal_state(h.campaign_id, "t0001") is None
        h.request("t0002", OTHER, expires_at=time.time() + 60)  # still in time: run
        assert _states(h.until_terminal("t0002")) == ["accepted", "running", "completed"]
        assert h.worker.stats.requests == 1
        assert all(m.trial_id == "t0002" for m in list(h.received))
        assert _sets(h.station) == {name: [OTHER[name]] for name in PUMPS}


def test_a_restarted_worker_reports_the_interrupted_trial_and_runs_the_accepted_one(
    embedded_broker: str, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.db"
    h = Harness(embedded_broker, outbox=path, ack_timeout_s=1.0)
    running = h.make_request("t0001", TARGET)
    accepted = h.make_request("t0002", OTHER)
    journal = Outbox(path)  # what the worker that died left behind
    try:
        for request in (running, accepted):
            assert journal.claim(h.campaign_id, request.trial_id, encode_message(request))
        journal.advance(h.campaign_id, "t0001", "running")
    finally:
        journal.close()

    with h:
        # The accepted trial runs as the worker starts, before its connection is up, so its
        # messages may arrive in any order: wait for all of them (resent copies dropped).
        wait_for(lambda: len(h.unique("t0002")) == 6, "t0002's 2 statuses and 4 documents")
        ran = h.unique("t0002")
        assert sorted(_states(ran)) == ["completed", "running"]
        names = [m.name for m in ran if isinstance(m, DocumentMessage)]
        assert sorted(names) == ["descriptor", "event", "start", "stop"]
        (interrupted,) = h.unique("t0001")  # reported, and nothing else: it never ran
        assert isinstance(interrupted, TrialStatusMessage)
        assert interrupted.state == "interrupted" and "not run again" in interrupted.reason
        stats = h.worker.stats
        assert (stats.interrupted, stats.requests, stats.completed) == (1, 1, 1)
        assert _sets(h.station) == {name: [OTHER[name]] for name in PUMPS}
        # The journal says ended just after the final status is sent.
        wait_for(lambda: h.worker.outbox.unfinished() == [], "both trials to be journalled ended")
        assert h.worker.outbox.journal_state(h.campaign_id, "t0001") == "ended"
        # The request of the interrupted trial, sent again, is not run either.
        h.request("t0001", TARGET)
        h.request("t0003", TARGET)  # handled after the repeat: its statuses come after
        assert _states(h.until_terminal("t0003")) == ["accepted", "running", "completed"]
        assert stats.duplicates == 1 and stats.requests == 2
        assert h.unique("t0001") == [interrupted]  # ended: not even an accepted status again
        assert _sets(h.station) == {name: [OTHER[name], TARGET[name]] for name in PUMPS}


def test_bad_acknowledgements_are_refused_and_counted(embedded_broker: str) -> None:
    with Harness(embedded_broker) as h:
        h.request("t0001", TARGET)
        ids = [m.message_id for m in h.until_terminal("t0001")]
        stats = h.worker.stats
        topic = station_acks_topic(h.station_id)
        h.send(topic, b"not json")
        h.send(topic, b'{"kind": "delivery_ack", "campaign_id": "c1", "message_ids": []}')
        h.ack(ids, station_id="another-station")  # on our topic, but not for us
        wait_for(
            lambda: sum(stats.refusals.values()) == 3, "the three acknowledgements to be refused"
        )
        assert stats.refusals == {"malformed": 1, "schema": 1, "station": 1}
        assert stats.malformed == 3
        assert stats.acknowledged == 0 and len(h.worker.outbox) == 7
        # The worker is unharmed: a good acknowledgement works, and it keeps serving.
        h.ack(ids)
        wait_for(lambda: len(h.worker.outbox) == 0, "the outbox to empty")
        h.request("t0002", OTHER)
        assert _states(h.until_terminal("t0002"))[-1] == "completed"
