"""The campaign loop's intake: what paho's network thread does with incoming messages.

Each message is decoded and checked against the campaign and its station; a bad one is
refused with a counted, logged reason, a good one queued for the loop's thread. The
station's retained status says whether its worker is alive and whether it serves.

With the stations' public keys (``results``), a document or status that is unsigned or not
signed by one of them is refused (``unsigned``, ``unknown-key``, ``bad-signature``) and not
acknowledged, so a forged copy cannot make a worker forget the genuine one; so is one
signed by another station's key than the station the campaign dispatches to
(``wrong-station``): a station's key speaks for that station only. With the
operator's key (``controls``), a manual trial request must be signed by it, recently and
only once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from dataclasses import dataclass

from genesis_lab.errors import MessageError, SignatureError
from genesis_lab.messages import (
    DocumentMessage,
    ManualTrialRequest,
    StationStatus,
    TrialStatusMessage,
    decode_message,
    decode_worker_message,
)
from genesis_lab.security import MessageVerifier

__all__ = ["Intake", "StationModeChange"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StationModeChange:
    """The station started serving, paused or was e-stopped: for the record, with who did
    it (``actor``, as the control message named them) and why."""

    mode: str
    actor: str
    detail: str


Incoming = DocumentMessage | TrialStatusMessage | ManualTrialRequest | StationModeChange


class Intake:
    """Checks and queues the messages of campaign ``campaign_id`` on ``station_id``."""

    def __init__(
        self,
        campaign_id: str,
        station_id: str,
        trial_timeout_s: float,
        *,
        results: MessageVerifier | None = None,
        controls: MessageVerifier | None = None,
    ) -> None:
        self.campaign_id = campaign_id
        self.results = results
        self.controls = controls
        self.station_id = station_id
        self.trial_timeout_s = trial_timeout_s
        self.rejected_messages = 0
        self.rejection_reasons: Counter[str] = Counter()
        self.inbox: queue.Queue[Incoming] = queue.Queue()
        self.station_online = threading.Event()
        #: The station's latest online status (what its worker offers), once one came.
        self.station_status: StationStatus | None = None
        self.station_mode = "serving"  # or "paused" / "estopped": hold new dispatches
        self._mode_lock = threading.Lock()
        self._mode_at = float("-inf")  # the worker's clock when it last said its mode
        self._said_mode = "serving"  # as its status said it (station_mode may run ahead)

    def refuse(self, reason: str, what: str, *args: object) -> None:
        """Count a rejected message under ``reason`` and log why (``what % args``)."""
        self.rejected_messages += 1
        self.rejection_reasons[reason] += 1
        log.warning("rejected (%s) " + what, reason, *args)

    def on_result(self, topic: str, payload: bytes) -> None:
        try:
            message = decode_worker_message(payload, topic=topic)
        except MessageError as exc:
            self.refuse(exc.reason, "message on %s: %s", topic, exc)
            return
        if message.campaign_id != self.campaign_id:
            self.refuse("campaign", "message for campaign %s on %s", message.campaign_id, topic)
            return
        if message.station_id != self.station_id:
            self.refuse("station", "message from station %s on %s", message.station_id, topic)
            return
        if self.results is not None:
            try:  # results are re-sent with their first signature: no age or nonce check
                self.results.verify(message, fresh=False, station_id=self.station_id)
            except SignatureError as exc:
                self.refuse(exc.reason, "%s on %s: %s", message.kind, topic, exc)
                return
        self.inbox.put(message)

    def on_control(self, topic: str, payload: bytes) -> None:
        try:
            request = decode_message(payload, ManualTrialRequest, topic=topic)
        except MessageError as exc:
            self.refuse(exc.reason, "control message on %s: %s", topic, exc)
            return
        if request.campaign_id != self.campaign_id:
            self.refuse("campaign", "control message for campaign %s", request.campaign_id)
            return
        if self.controls is not None:
            try:
                self.controls.verify(request)
            except SignatureError as exc:
                self.refuse(exc.reason, "manual trial on %s: %s", topic, exc)
                return
        self.inbox.put(request)

    def estopped_at(self, at: float) -> None:
        """The worker said (at ``at``, its clock) that an e-stop ended a trial: hold new
        dispatches now, before its status says so (it comes on another topic, maybe later),
        unless the station has said since that it serves again."""
        with self._mode_lock:
            if at < self._mode_at or self.station_mode == "estopped":
                return
            self.station_mode = "estopped"
        log.warning("station %s reports an e-stop; dispatching is held", self.station_id)

    def on_presence(self, topic: str, payload: bytes) -> None:
        try:
            status = decode_message(payload, StationStatus, topic=topic)
        except MessageError as exc:
            self.refuse(exc.reason, "station status on %s: %s", topic, exc)
            return
        if status.station_id != self.station_id:
            self.refuse("station", "status of station %s on %s", status.station_id, topic)
            return
        if status.state == "online":
            with self._mode_lock:
                self._mode_at = max(self._mode_at, status.sent_at)
                changed = status.mode != self._said_mode
                self._said_mode = self.station_mode = status.mode
            if changed:
                serving = status.mode == "serving"
                held = "; dispatching resumes" if serving else "; dispatching is held"
                log.warning("station %s is %s%s", self.station_id, status.mode, held)
                self.inbox.put(
                    StationModeChange(status.mode, status.changed_by, status.change_reason)
                )
        if status.state == "online":
            self.station_status = status  # before it is online: checked before any dispatch
            self.station_online.set()
        elif self.station_online.is_set():
            self.station_online.clear()
            log.warning(
                "station %s went offline; trials in flight are abandoned after "
                "trial_timeout_s=%g s unless its worker comes back",
                self.station_id,
                self.trial_timeout_s,
            )
