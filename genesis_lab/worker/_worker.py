"""The worker: one station's RunEngine, serving experiment requests that arrive over MQTT.

Threads: paho's network thread decodes requests and queues them; one executor thread takes
them in order and calls the RunEngine, whose own event-loop thread emits the documents that
are published as they come. Operators' controls (e-stop, pause, resume, release) arrive on
the station's control topic and the shared one, and act at once from paho's thread (see
:class:`~genesis_lab.worker._executor.TrialExecutor`). ``stop()`` joins every thread it
started.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bluesky import RunEngine
from paho.mqtt.client import MQTTMessageInfo

from genesis_lab.errors import MessageError
from genesis_lab.messages import (
    DocumentMessage,
    ExperimentRequest,
    StationControl,
    StationStatus,
    TrialStatusMessage,
    campaign_results_topic,
    decode_message,
    encode_message,
    station_control_topic,
    station_requests_topic,
    station_status_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.station import Station
from genesis_lab.worker._executor import TrialExecutor, TrialOutcome

__all__ = ["Worker", "WorkerStats", "jsonable_document"]

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """Counters a worker keeps; read them, don't write them.

    ``rejected`` counts trials the station refused; ``malformed`` counts wire messages the
    worker refused, and ``refusals`` the same by reason (malformed, oversized, version,
    schema, station).
    """

    requests: int = 0
    completed: int = 0
    failed: int = 0
    rejected: int = 0
    abandoned: int = 0
    malformed: int = 0
    duplicates: int = 0
    controls: int = 0
    refusals: Counter[str] = field(default_factory=Counter)

    def refuse(self, reason: str) -> None:
        """Count one refused wire message under ``reason``."""
        self.malformed += 1
        self.refusals[reason] += 1


def jsonable_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A Bluesky document as plain JSON types (numpy scalars and arrays become Python ones)."""
    return dict(json.loads(json.dumps(doc, default=_to_builtin)))


def _to_builtin(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot put {type(value).__name__} into a document message")


class Worker:
    """Serve ``station`` as ``station_id`` on the broker at ``broker_url``."""

    def __init__(
        self,
        station: Station,
        station_id: str,
        broker_url: str,
        *,
        plugin: str = "",
        publish_timeout_s: float = 30.0,
        move_timeout_s: float | None = None,
    ) -> None:
        self.station = station
        self.station_id = station_id
        self.broker_url = broker_url
        self.plugin = plugin
        self.publish_timeout_s = publish_timeout_s
        self.move_timeout_s = move_timeout_s
        self.stats = WorkerStats()
        self._requests: queue.Queue[ExperimentRequest | None] = queue.Queue()
        self._seen: set[tuple[str, str]] = set()
        self._status_topic = station_status_topic(station_id)
        offline = StationStatus(station_id=station_id, state="offline", plugin=plugin)
        self._client = MqttClient(
            broker_url,
            client_id=f"genesis-lab-worker-{station_id}",
            will=(self._status_topic, encode_message(offline)),
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: RunEngine | None = None
        self._executor: threading.Thread | None = None
        self._trials: TrialExecutor | None = None
        self._status_lock = threading.Lock()

    # --------------------------------------------------------------- life cycle
    def start(self) -> None:
        """Connect, announce the station online (retained), and start serving requests."""
        self._loop = asyncio.new_event_loop()
        self._engine = RunEngine(loop=self._loop, context_managers=[])
        self._trials = TrialExecutor(self.station, self._engine, move_timeout_s=self.move_timeout_s)
        self._executor = threading.Thread(
            target=self._serve, name=f"genesis-worker-{self.station_id}", daemon=True
        )
        self._executor.start()
        try:
            self._client.connect()
            self._client.subscribe(station_requests_topic(self.station_id), self._on_request)
            self._client.subscribe(station_control_topic(self.station_id), self._on_control)
            self._client.subscribe(station_control_topic(), self._on_control)
            self._announce()
        except BaseException:
            self._release()
            raise
        log.info("worker for station %s serving on %s", self.station_id, self.broker_url)

    def stop(self) -> None:
        """Finish the experiment in progress, announce offline, and release every thread."""
        self._stop_executor()
        offline = StationStatus(station_id=self.station_id, state="offline", plugin=self.plugin)
        try:
            self._client.publish_and_wait(self._status_topic, encode_message(offline), retain=True)
        except Exception as exc:  # the broker may already be gone; the will covers that
            log.warning("could not announce station %s offline: %s", self.station_id, exc)
        self._release()

    @property
    def mode(self) -> str:
        """serving, paused or estopped."""
        return "serving" if self._trials is None else self._trials.mode

    def _announce(self, *, wait: bool = True) -> None:
        """Publish (retained) that the station is online, and whether it serves.

        From paho's own thread (a control message's handler) it must not wait for the
        broker's acknowledgement, which that same thread would have to receive."""
        with self._status_lock:
            online = StationStatus(
                station_id=self.station_id,
                state="online",
                mode=self.mode,  # type: ignore[arg-type]
                plugin=self.plugin,
                actuators=sorted(self.station.actuators),
                readings=self.station.readings(),
            )
            if wait:
                self._client.publish_and_wait(
                    self._status_topic, encode_message(online), retain=True
                )
            else:
                self._client.publish(self._status_topic, encode_message(online), retain=True)

    def _stop_executor(self) -> None:
        """Let the experiment in progress finish, then end the executor thread."""
        if self._executor is not None:
            if self._trials is not None:
                self._trials.close()
            self._requests.put(None)
            self._executor.join()
            self._executor = None

    def _release(self) -> None:
        """Stop the executor, the MQTT client and the RunEngine's loop; join their threads."""
        self._stop_executor()
        self._client.close()
        if self._loop is not None and self._engine is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._engine._th.join(timeout=10)
            self._loop.close()
            self._loop = None
            self._engine = None

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

    def control(self, message: StationControl) -> None:
        """Obey an operator's control message (e-stop, release, pause, resume)."""
        trials = self._trials
        if trials is None:
            return
        who = f" by {message.requested_by}" if message.requested_by else ""
        if message.command == "estop":
            trials.emergency_stop(
                f"emergency stop{who}" + (f": {message.reason}" * bool(message.reason))
            )
        elif message.command == "release":
            trials.release()
        elif message.command == "pause":
            trials.pause()
        else:
            trials.resume()
        log.warning("station %s: %s%s; now %s", self.station_id, message.command, who, trials.mode)

    def _on_control(self, topic: str, payload: bytes) -> None:
        try:
            message = decode_message(payload, StationControl, topic=topic)
        except MessageError as exc:
            self.stats.refuse(exc.reason)
            log.warning("rejected (%s) control message on %s: %s", exc.reason, topic, exc)
            return
        if message.station_id not in (None, self.station_id):
            if topic == station_control_topic(self.station_id):  # the shared topic: not ours
                self.stats.refuse("station")
                log.warning("rejected (station) control for %s on %s", message.station_id, topic)
            return
        self.stats.controls += 1
        self.control(message)
        try:
            self._announce(wait=False)
        except Exception as exc:  # obeyed all the same; the status is only a courtesy
            log.warning("could not announce station %s mode: %s", self.station_id, exc)

    # ------------------------------------------------------------------ serving
    def _on_request(self, topic: str, payload: bytes) -> None:
        try:
            request = decode_message(payload, ExperimentRequest, topic=topic)
        except MessageError as exc:
            self.stats.refuse(exc.reason)
            log.warning("rejected (%s) message on %s: %s", exc.reason, topic, exc)
            return
        if request.station_id != self.station_id:
            self.stats.refuse("station")
            log.warning("rejected (station) request for %s on %s", request.station_id, topic)
            return
        self._requests.put(request)

    def _serve(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            if self._trials is not None:
                self._trials.wait_until_serving()
            key = (request.campaign_id, request.trial_id)
            if key in self._seen:
                self.stats.duplicates += 1
                log.info("ignoring repeated request for trial %s", request.trial_id)
                continue
            self._seen.add(key)
            self.stats.requests += 1
            try:
                self._execute(request)
            except Exception:  # never let one experiment end the worker
                log.exception("worker could not report trial %s", request.trial_id)

    def _execute(self, request: ExperimentRequest) -> None:
        topic = campaign_results_topic(request.campaign_id)
        trials = self._trials
        if trials is None:
            raise RuntimeError("worker is not started")
        sent: list[MQTTMessageInfo] = []
        announced = False

        def publish_document(name: str, doc: Mapping[str, Any]) -> None:
            nonlocal announced
            if not announced:  # the run has started: the trial is running
                announced = True
                self._status(topic, request, "running")
            message = DocumentMessage(
                campaign_id=request.campaign_id,
                trial_id=request.trial_id,
                station_id=self.station_id,
                name=name,  # type: ignore[arg-type]
                doc=jsonable_document(doc),
            )
            sent.append(self._client.publish(topic, encode_message(message)))

        outcome = trials.run(request, publish_document)
        for info in sent:
            info.wait_for_publish(timeout=self.publish_timeout_s)
        self._count(outcome)
        if outcome.state != "completed":
            log.warning("trial %s %s: %s", request.trial_id, outcome.state, outcome.reason)
        self._status(
            topic,
            request,
            outcome.state,
            reason=outcome.reason,
            run_uid=outcome.run_uid,
            documents=len(sent),
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
        topic: str,
        request: ExperimentRequest,
        state: str,
        *,
        reason: str = "",
        run_uid: str | None = None,
        documents: int = 0,
    ) -> None:
        message = TrialStatusMessage(
            campaign_id=request.campaign_id,
            trial_id=request.trial_id,
            station_id=self.station_id,
            state=state,  # type: ignore[arg-type]
            reason=reason,
            run_uid=run_uid,
            documents=documents,
        )
        self._client.publish_and_wait(
            topic, encode_message(message), timeout=self.publish_timeout_s
        )
