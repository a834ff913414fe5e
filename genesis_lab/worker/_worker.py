"""The worker: one station's RunEngine, serving experiment requests that arrive over MQTT.

Threads: paho's network thread decodes requests and queues them; one executor thread takes
them in order and calls the RunEngine, whose own event-loop thread emits the documents that
are published as they come. Operators' controls (e-stop, pause, resume, release) arrive on
the station's control topic and the shared one, and act at once from paho's thread (see
:class:`~genesis_lab.worker._executor.TrialExecutor`). ``stop()`` joins every thread it
started.

Nothing is lost: every document and trial status goes into the worker's
:class:`~genesis_lab.worker._outbox.Outbox` (committed) before it is published, and stays
there until the orchestrator acknowledges it after storing it; a resender thread publishes
again whatever is overdue. Every accepted request is journalled before anything moves, so a
request that comes again is never run twice, and a restarted worker runs what it had
accepted and reports what it was running when it died.

Signed commands (``signing``): with trusted keys, a request or control that is unsigned,
wrongly signed, expired or replayed is refused before anything moves (an e-stop excepted:
see :mod:`~genesis_lab.worker._guard`); with a key, every document and status is signed.

A request for an actuator or a reading the station does not offer (a worker of another
plugin under the campaign's station id) is refused before it is journalled, with a
``refused`` status naming what is missing (:mod:`~genesis_lab.worker._capabilities`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from bluesky import RunEngine

from genesis_lab.errors import BrokerError, MessageError, SignatureError
from genesis_lab.messages import (
    DeliveryAck,
    DocumentMessage,
    ExperimentRequest,
    StationControl,
    StationStatus,
    TrialStatusMessage,
    campaign_results_topic,
    decode_message,
    encode_message,
    station_acks_topic,
    station_control_topic,
    station_requests_topic,
    station_status_topic,
)
from genesis_lab.messaging import MqttClient, TransportSecurity, process_identity
from genesis_lab.security import MessageSigning, Verified
from genesis_lab.station import Station
from genesis_lab.worker._capabilities import CAPABILITIES, StationCapabilities
from genesis_lab.worker._duplicate import check_no_other_worker
from genesis_lab.worker._executor import TrialExecutor, TrialOutcome
from genesis_lab.worker._guard import CommandGuard
from genesis_lab.worker._outbox import Outbox
from genesis_lab.worker._resender import Resender

__all__ = ["Worker", "WorkerStats", "jsonable_document"]

log = logging.getLogger(__name__)
#: One line per trial that did not complete (its reason names the device): a ``run`` with
#: its own worker shows it in its trial line instead.
trial_log = logging.getLogger("genesis_lab.worker.trials")

M = TypeVar("M", DeliveryAck, ExperimentRequest, StationControl)


@dataclass
class WorkerStats:
    """Counters a worker keeps; read them, don't write them.

    ``rejected`` counts trials the station refused; ``malformed`` counts wire messages the
    worker refused, and ``refusals`` the same by reason (malformed, oversized, version,
    schema, station, expired; capabilities: a request for an actuator or a reading the station
    lacks, refused before anything moved; and for signed commands unsigned, unknown-key,
    bad-signature, expired, future, replayed). ``unverified_estops``: e-stops obeyed though
    they failed their signature check. ``duplicates``: requests for a trial accepted before (not
    run again). ``acknowledged``: outbox messages the orchestrator confirmed; ``resent``:
    messages published again because no acknowledgement came in time. ``interrupted``:
    trials found running when this worker started (its predecessor died mid-run).
    """

    requests: int = 0
    completed: int = 0
    failed: int = 0
    rejected: int = 0
    abandoned: int = 0
    malformed: int = 0
    duplicates: int = 0
    controls: int = 0
    acknowledged: int = 0
    resent: int = 0
    interrupted: int = 0
    unverified_estops: int = 0
    refusals: Counter[str] = field(default_factory=Counter)

    def refuse(self, reason: str) -> None:
        """Count one refused wire message under ``reason``."""
        self.malformed += 1
        self.refusals[reason] += 1


def jsonable_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A Bluesky document as plain JSON types (numpy scalars and arrays become Python ones;
    a NaN or infinite reading becomes null, JSON's and the record's failed reading)."""
    text = json.dumps(doc, default=_to_builtin)
    return dict(json.loads(text, parse_constant=lambda _constant: None))


def _to_builtin(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot put {type(value).__name__} into a document message")


def _when(at: float) -> str:
    """Unix seconds as local ISO time, to the second, for the log."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _expired(request: ExperimentRequest) -> bool:
    return request.expires_at is not None and request.expires_at < time.time()


class Worker:
    """Serve ``station`` as ``station_id`` on the broker at ``broker_url``.

    ``outbox``: the file of the worker's outbox and journal (see
    :class:`~genesis_lab.worker._outbox.Outbox`), or an open one; None keeps them in memory,
    which survives broker faults but not the process. ``ack_timeout_s``: how long a published
    message may wait for the orchestrator's acknowledgement before it is sent again (then
    twice as long each time, at most ``max_resend_s``); the messages of a campaign that has
    acknowledged nothing for ``outbox_expiry_s`` are set aside, and so are those of a
    campaign whose orchestrator says it completed. ``signing``: the station's key,
    which signs every document and status, and the keys whose signatures it requires on
    requests and controls (None: unsigned, and unsigned commands accepted). ``security``:
    TLS and credentials for the broker (needed for an ``mqtts://`` ``broker_url``).
    """

    def __init__(
        self,
        station: Station,
        station_id: str,
        broker_url: str,
        *,
        plugin: str = "",
        publish_timeout_s: float = 30.0,
        move_timeout_s: float | None = None,
        outbox: Outbox | str | Path | None = None,
        ack_timeout_s: float = 5.0,
        max_resend_s: float = 300.0,
        outbox_expiry_s: float = 7 * 86400.0,
        signing: MessageSigning | None = None,
        security: TransportSecurity | None = None,
    ) -> None:
        if ack_timeout_s <= 0 or max_resend_s < ack_timeout_s:
            raise ValueError("need 0 < ack_timeout_s <= max_resend_s")
        self.station = station
        self.station_id = station_id
        self.broker_url = broker_url
        self.plugin = plugin
        self.publish_timeout_s = publish_timeout_s
        self.move_timeout_s = move_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.max_resend_s = max_resend_s
        self.stats = WorkerStats()
        self._owns_outbox = not isinstance(outbox, Outbox)
        self.outbox = outbox if isinstance(outbox, Outbox) else Outbox(outbox)
        self._requests: queue.Queue[ExperimentRequest | None] = queue.Queue()
        self._status_topic = station_status_topic(station_id)
        #: This worker process, as its presence names it (who, where, pid, a random id).
        self.instance = f"{process_identity(security)} pid {os.getpid()} {uuid.uuid4().hex[:8]}"
        self._security = security
        offline = StationStatus(
            station_id=station_id, state="offline", plugin=plugin, worker=self.instance
        )
        # A fixed client id and a persistent session: requests published while this worker
        # is away wait for it at the broker (one that keeps sessions, as Mosquitto does).
        self._client = MqttClient(
            broker_url,
            client_id=f"genesis-lab-worker-{station_id}",
            will=(self._status_topic, encode_message(offline)),
            clean_session=False,
            security=security,
        )
        self._guard = CommandGuard(signing, self.outbox, station_id, self._client.publish)
        #: Who runs this station's experiments, named in every run's start document.
        self.identity = process_identity(security)
        # Presence on every reconnect: a broker that restarted without persistence has
        # forgotten the retained status, and nobody would dispatch to this station.
        self._client.on_reconnect(self._announce_again)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: RunEngine | None = None
        self._executor: threading.Thread | None = None
        self._resender = Resender(
            self.outbox,
            self._client.publish,
            lambda: self._client.is_connected,
            ack_timeout_s=ack_timeout_s,
            max_resend_s=max_resend_s,
            on_resent=self._count_resent,
            expire_after_s=outbox_expiry_s,
        )
        self._stopping = threading.Event()
        self._trials: TrialExecutor | None = None
        self._capabilities: StationCapabilities | None = None  # what it offers, once started
        self._status_lock = threading.Lock()
        self._mode_change = ("", "")  # who made the last change of mode, and the command

    # --------------------------------------------------------------- life cycle
    def start(self) -> None:
        """Connect, announce the station online (retained), and start serving requests.

        First takes up what a previous worker of this outbox left: accepted requests that
        never started are queued to run; a trial that was running is reported interrupted,
        never run again; unacknowledged messages are sent again. A worker starts once.

        Refuses to start (:class:`~genesis_lab.errors.StationError`) while another worker
        process serves the same station id on the broker: taking the station's session
        would push that worker off."""
        check_no_other_worker(
            self.broker_url, self.station_id, self.instance, security=self._security
        )
        self._capabilities = StationCapabilities.of(self.station)
        self._loop = asyncio.new_event_loop()
        self._engine = RunEngine(loop=self._loop, context_managers=[])
        self._trials = TrialExecutor(
            self.station,
            self._engine,
            move_timeout_s=self.move_timeout_s,
            identity=self.identity,
            starts=self.outbox,  # the hourly cap survives a restart
        )
        latch = self.outbox.estop_latch()
        if latch is not None:  # pressed before this worker started: it still holds
            self._trials.emergency_stop(f"{latch.reason} (latched before this worker started)")
            self._mode_change = (latch.actor, "estop (latched before this worker started)")
            log.error(
                "station %s comes up e-stopped: %s; it serves again after "
                "'genesis-lab estop --release'",
                self.station_id,
                latch.reason,
            )
        self._stopping.clear()
        try:
            self._take_up_journal()
            # Registered before connecting, so nothing the session held is dropped.
            self._client.subscribe(station_requests_topic(self.station_id), self._on_request)
            self._client.subscribe(station_control_topic(self.station_id), self._on_control)
            self._client.subscribe(station_control_topic(), self._on_control)
            self._client.subscribe(station_acks_topic(self.station_id), self._on_ack)
            self._client.connect()
            self._see_retained_controls()
            # Connected first: a run taken up from the journal streams in order.
            self._executor = threading.Thread(
                target=self._serve, name=f"genesis-worker-{self.station_id}", daemon=True
            )
            self._executor.start()
            self._resender.start(name=f"genesis-worker-{self.station_id}-outbox")
            self._announce()
        except BaseException:
            self._release()
            raise
        log.info("worker for station %s serving on %s", self.station_id, self.broker_url)

    def _see_retained_controls(self) -> None:
        """Before the first experiment: obey an e-stop the broker retains (one sent while
        this worker was down, or lab-wide), even if requests queued for the station's
        session arrived first; they then wait, and are refused, behind the e-stop."""
        try:
            self._client.barrier(station_acks_topic(self.station_id))
        except BrokerError as exc:  # the e-stop, if any, still stops what runs, a moment late
            log.warning("could not wait for the retained controls of %s: %s", self.station_id, exc)

    def stop(self) -> None:
        """Finish the experiment in progress, announce offline, and release every thread.

        Messages not yet acknowledged stay in the outbox for the next worker to send."""
        self._stop_executor()
        offline = self._online_status("offline")  # with the mode it will come back in
        try:
            self._client.publish_and_wait(self._status_topic, encode_message(offline), retain=True)
        except Exception as exc:  # the broker may already be gone; the will covers that
            log.warning("could not announce station %s offline: %s", self.station_id, exc)
        self._release()

    @property
    def mode_changed_by(self) -> str:
        """Who made the last change of mode: as the control message named them, with the key
        that signed it when the worker checked the signature ("" before any change)."""
        return self._mode_change[0]

    @property
    def mode_change_reason(self) -> str:
        """The command and reason of the last change of mode ("" before any change), marked
        unverified when its signature did not hold up."""
        return self._mode_change[1]

    @property
    def mode(self) -> str:
        """serving, paused or estopped."""
        return "serving" if self._trials is None else self._trials.mode

    def _announce(self, *, wait: bool = True) -> None:
        """Publish (retained) that the station is online, and whether it serves; with
        ``wait``, block until the broker has it.

        The lock keeps announcements in the order of the modes they carry; the wait is
        outside it: paho's thread (a control's handler) announces too, and it is the one
        that receives the acknowledgement waited for. From that thread, ``wait`` must be
        False."""
        with self._status_lock:
            online = self._online_status()
            info = self._client.publish(self._status_topic, encode_message(online), retain=True)
        if wait:
            self._client.wait_published(info, self._status_topic, 10.0)

    def _announce_again(self) -> None:
        """After a reconnect, on paho's thread: say again that the station is online."""
        if self._trials is None or self._stopping.is_set():
            return
        self._resender.reconnected()
        self._announce(wait=False)
        log.info("station %s re-announced after a reconnect", self.station_id)

    def _online_status(self, state: Literal["online", "offline"] = "online") -> StationStatus:
        return StationStatus(
            station_id=self.station_id,
            state=state,
            mode=self.mode,  # type: ignore[arg-type]
            changed_by=self._mode_change[0],
            change_reason=self._mode_change[1],
            plugin=self.plugin,
            actuators=sorted(self.station.actuators),
            readings=self.station.readings(),
            worker=self.instance,
        )

    def _take_up_journal(self) -> None:
        for entry in self.outbox.unfinished():
            try:
                request = decode_message(entry.request, ExperimentRequest)
            except MessageError as exc:  # written by this code; cannot happen unless edited
                log.error("journal entry for trial %s is unreadable: %s", entry.trial_id, exc)
                self.outbox.advance(entry.campaign_id, entry.trial_id, "ended")
                continue
            if entry.state == "accepted":
                log.warning("running trial %s, accepted before a restart", entry.trial_id)
                self._requests.put(request)
                continue
            self.stats.interrupted += 1
            log.error(
                "trial %s was running when the previous worker stopped; reported abandoned",
                entry.trial_id,
            )
            self._status(
                request,
                "interrupted",
                reason="the worker stopped during the run and was restarted; the run did "
                "not finish and is not run again",
                ends=True,
            )

    def _stop_executor(self) -> None:
        """Let the experiment in progress finish, then end the executor thread."""
        if self._executor is not None:
            if self._trials is not None:
                self._trials.close()
            self._requests.put(None)
            self._executor.join()
            self._executor = None

    def _release(self) -> None:
        """Stop the executor, the resender, the MQTT client and the RunEngine's loop; join
        their threads; close the outbox if this worker opened it."""
        self._stop_executor()
        self._stopping.set()
        self._resender.stop()
        self._client.close()
        if self._loop is not None and self._engine is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._engine._th.join(timeout=10)
            self._loop.close()
            self._loop = None
            self._engine = None
        if self._owns_outbox:
            self.outbox.close()

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- controls
    def emergency_stop(self, reason: str = "emergency stop") -> None:
        """Stop every actuator and halt the run in progress; refuse requests until released."""
        if self._trials is not None:
            self._trials.emergency_stop(reason)

    def control(
        self,
        message: StationControl,
        *,
        unverified: str = "",
        signed_by: str = "",
        message_sha256: str = "",
    ) -> None:
        """Obey an operator's control message (e-stop, release, pause, resume).

        ``unverified``: why its signature did not hold up (an e-stop is obeyed all the
        same); then whatever it says of who and why is marked unverified in the log, the
        station's status and the stopped trial's reason. ``signed_by``: who its verified
        signature names (``carol (key ...)``), said instead of what the message claims.
        ``message_sha256``: of the e-stop's payload, remembered so that once released the
        same e-stop, retained on the broker, does not stop the station again."""
        trials = self._trials
        if trials is None:
            return
        mark = f" (unverified: {unverified})" if unverified else ""
        name = signed_by or message.requested_by
        who = (f" by {name}" if name else "") + mark
        if message.command == "estop":
            reason = f"emergency stop{who}" + (f": {message.reason}" * bool(message.reason))
            trials.emergency_stop(reason)
            # Latched: a worker restarted for this station comes up stopped.
            self.outbox.latch_estop(
                reason, name, verified=not unverified, message_sha256=message_sha256
            )
        elif message.command == "release":
            trials.release()
            self.outbox.clear_estop()
        elif message.command == "pause":
            trials.pause()
        else:
            trials.resume()
        log.warning("station %s: %s%s; now %s", self.station_id, message.command, who, trials.mode)
        because = f": {message.reason}" if message.reason else ""
        actor = f"{name}{mark}".strip()
        self._mode_change = (actor, f"{message.command}{because}{mark}")

    def _decode(self, payload: bytes, model: type[M], topic: str, what: str) -> M | None:
        """``payload`` as ``model``, or None after counting and logging why ``what`` is
        refused."""
        try:
            return decode_message(payload, model, topic=topic)
        except MessageError as exc:
            self.stats.refuse(exc.reason)
            log.warning("rejected (%s) %s on %s: %s", exc.reason, what, topic, exc)
            return None

    def _on_control(self, topic: str, payload: bytes) -> None:
        if not payload:  # a release clearing the e-stop retained on the topic
            return
        message = self._decode(payload, StationControl, topic, "control message")
        if message is None:
            return
        if message.station_id not in (None, self.station_id):
            if topic == station_control_topic(self.station_id):  # the shared topic: not ours
                self.stats.refuse("station")
                log.warning("rejected (station) control for %s on %s", message.station_id, topic)
            return
        digest = hashlib.sha256(payload).hexdigest()
        if message.command == "estop":
            released = self.outbox.estop_released(digest)
            if released is not None:  # retained on the broker, released here since
                log.info(
                    "station %s: not stopping again for the e-stop the broker retains (sent "
                    "at %s by %s): it was released for this station at %s",
                    self.station_id,
                    _when(message.sent_at),
                    message.requested_by or "?",
                    _when(released),
                )
                return
        checked = self._guard.check(message, topic, payload, obeyed=message.command == "estop")
        refused = checked if isinstance(checked, SignatureError) else None
        if refused is not None and message.command != "estop":
            self.stats.refuse(refused.reason)
            return
        self.stats.controls += 1
        # Verified: the key that signed it is who asked (an operator's key names its
        # person), whatever the message claims.
        signed_by = ""
        if isinstance(checked, Verified):
            signed_by = f"{checked.operator or message.requested_by or checked.signer}"
            signed_by += f" (key {checked.key_id})"
        if refused is not None:  # counted before it takes effect: whoever sees the mode sees it
            self.stats.unverified_estops += 1
        self.control(
            message,
            unverified="" if refused is None else refused.reason,
            signed_by=signed_by,
            message_sha256=digest,
        )
        try:
            self._announce(wait=False)
        except Exception as exc:  # obeyed all the same; the status is only a courtesy
            log.warning("could not announce station %s mode: %s", self.station_id, exc)

    # ------------------------------------------------------------------ serving
    def _on_request(self, topic: str, payload: bytes) -> None:
        request = self._decode(payload, ExperimentRequest, topic, "message")
        if request is None:
            return
        if request.station_id != self.station_id:
            self.stats.refuse("station")
            log.warning("rejected (station) request for %s on %s", request.station_id, topic)
            return
        checked = self._guard.check(request, topic, payload)  # before anything else
        refused = checked if isinstance(checked, SignatureError) else None
        if refused is not None:
            self.stats.refuse(refused.reason)
            self._guard.report(request, refused.reason, str(refused))
            return
        if self._refuse_unservable(request):
            return
        journalled = self.outbox.journal_state(request.campaign_id, request.trial_id)
        if journalled is not None:
            self.stats.duplicates += 1
            log.info("not running trial %s again: its request came before", request.trial_id)
            if journalled != "ended":
                self._status(request, "accepted")  # the orchestrator may not know yet
            return
        if _expired(request):  # the orchestrator has sent it again, or given up on it
            self.stats.refuse("expired")
            log.warning("not taking trial %s: its request expired", request.trial_id)
            return
        self.outbox.claim(request.campaign_id, request.trial_id, payload)
        self._status(request, "accepted")
        self._requests.put(request)

    def _refuse_unservable(self, request: ExperimentRequest) -> bool:
        """Refuse ``request`` (True) if it sets an actuator or asks for a reading this
        station lacks: before it is journalled, so nothing moves and it is never accepted."""
        problem = None if self._capabilities is None else self._capabilities.problem(request)
        if problem is None:
            return False
        plugin = f" (this worker serves plugin {self.plugin!r})" if self.plugin else ""
        detail = (
            f"{problem}{plugin}; nothing moved. Is the right plugin running under this station id?"
        )
        self.stats.refuse(CAPABILITIES)
        log.warning("refused (%s) trial %s: %s", CAPABILITIES, request.trial_id, detail)
        self._guard.report(request, CAPABILITIES, detail)
        return True

    def _on_ack(self, topic: str, payload: bytes) -> None:
        ack = self._decode(payload, DeliveryAck, topic, "acknowledgement")
        if ack is None:
            return
        if ack.station_id != self.station_id:
            self.stats.refuse("station")
            log.warning("rejected (station) acknowledgement for %s", ack.station_id)
            return
        if ack.message_ids:
            self.stats.acknowledged += self.outbox.ack(ack.message_ids, ack.campaign_id)
            self._resender.acknowledged()
        if ack.campaign_ended:
            self._resender.campaign_ended(ack.campaign_id)
        elif ack.send_again:
            self._resender.asked_again(ack.campaign_id)

    def _count_resent(self, count: int) -> None:
        self.stats.resent += count

    def _serve(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            if self._trials is not None:
                self._trials.wait_until_serving()
            self.stats.requests += 1
            try:
                self._execute(request)
            except Exception:  # never let one experiment end the worker
                log.exception("worker could not report trial %s", request.trial_id)

    def _execute(self, request: ExperimentRequest) -> None:
        trials = self._trials
        if trials is None:
            raise RuntimeError("worker is not started")
        sent = 0
        announced = False

        def publish_document(name: str, doc: Mapping[str, Any]) -> None:
            nonlocal announced, sent
            if not announced:  # the run has started: the trial is running
                announced = True
                self._status(request, "running")
            body = jsonable_document(doc)
            uid = body.get("uid") or body.get("datum_id")
            message = DocumentMessage(
                campaign_id=request.campaign_id,
                trial_id=request.trial_id,
                station_id=self.station_id,
                name=name,  # type: ignore[arg-type]
                doc=body,
                message_id=uid if isinstance(uid, str) else uuid.uuid4().hex,
            )
            self._send(request.campaign_id, message)
            sent += 1

        # Journalled before anything moves: after a crash this trial is never run again.
        self.outbox.advance(request.campaign_id, request.trial_id, "running")
        outcome = trials.run(request, publish_document)
        self._count(outcome)
        if outcome.state != "completed":
            trial_log.warning("trial %s %s: %s", request.trial_id, outcome.state, outcome.reason)
        self._status(
            request,
            outcome.state,
            reason=outcome.reason,
            run_uid=outcome.run_uid,
            documents=sent,
            ends=True,  # journalled ended with it: never reported interrupted after this
        )

    def _count(self, outcome: TrialOutcome) -> None:
        if outcome.state == "completed":
            self.stats.completed += 1
        elif outcome.state == "failed":
            self.stats.failed += 1
        elif outcome.state == "rejected":
            self.stats.rejected += 1
        else:
            self.stats.abandoned += 1

    def _status(
        self,
        request: ExperimentRequest,
        state: str,
        *,
        reason: str = "",
        run_uid: str | None = None,
        documents: int = 0,
        ends: bool = False,
    ) -> None:
        """Send the trial's status; ``ends``: its last one (the journal marks it ended)."""
        message = TrialStatusMessage(
            campaign_id=request.campaign_id,
            trial_id=request.trial_id,
            station_id=self.station_id,
            state=state,  # type: ignore[arg-type]
            reason=reason,
            run_uid=run_uid,
            documents=documents,
            worker=self.instance,
        )
        self._send(request.campaign_id, message, ends_trial=request.trial_id if ends else None)

    def _send(
        self,
        campaign_id: str,
        message: DocumentMessage | TrialStatusMessage,
        *,
        ends_trial: str | None = None,
    ) -> None:
        """Keep ``message`` in the outbox (committed, with ``ends_trial`` journalled ended in
        the same transaction), then publish it without waiting."""
        topic = campaign_results_topic(campaign_id)
        if self._guard.signer is not None:
            message = self._guard.signer.sign(message)
        payload = encode_message(message)
        if not self.outbox.put(
            message.message_id,
            campaign_id,
            topic,
            payload,
            resend_s=self.ack_timeout_s,
            ends_trial=ends_trial,
        ):
            return  # already kept: the resender sends it
        try:
            self._client.publish(topic, payload)
        except Exception as exc:  # kept all the same; the resender sends it
            log.warning("could not publish to %s now (%s); it will be resent", topic, exc)
