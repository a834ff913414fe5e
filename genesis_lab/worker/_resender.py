"""The worker's resender: publishes again what the orchestrator has not acknowledged.

Paced: at most :data:`WINDOW` messages go out at once; after a full window the resender
waits (up to the acknowledgement time-out) until most of it is acknowledged before sending
the next, so a backlog of thousands never outruns what the broker can queue for the
orchestrator (a burst it drops would only have to be sent again). Prompt: everything kept
is due at once after the worker reconnects (the broker may have lost what it held), and
when the orchestrator asks for what it misses (a :class:`~genesis_lab.messages.DeliveryAck`
with ``send_again``), instead of when the doubling schedule says. Bounded: what a
campaign will never acknowledge is set aside (:meth:`~genesis_lab.worker._outbox.Outbox.expired`)
with a logged reason, at once when its orchestrator says the campaign completed, or once
the campaign has been silent for ``expire_after_s`` (it ended, or never existed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from genesis_lab.worker._outbox import Outbox

__all__ = ["WINDOW", "Resender"]

log = logging.getLogger(__name__)

WINDOW = 50
"""Messages resent before waiting for their acknowledgements."""


class Resender:
    """Resends ``outbox``'s overdue messages through ``publish(topic, payload)`` while
    ``connected()``; the first resend after ``ack_timeout_s``, then doubling, at most
    ``max_resend_s`` apart. ``on_resent(n)`` counts what went out. Messages of a campaign
    silent for ``expire_after_s`` are set aside."""

    def __init__(
        self,
        outbox: Outbox,
        publish: Callable[[str, bytes], object],
        connected: Callable[[], bool],
        *,
        ack_timeout_s: float,
        max_resend_s: float,
        on_resent: Callable[[int], None] = lambda _n: None,
        expire_after_s: float = 7 * 86400.0,
    ) -> None:
        self.outbox = outbox
        self._publish = publish
        self._connected = connected
        self.ack_timeout_s = ack_timeout_s
        self.max_resend_s = max_resend_s
        self._on_resent = on_resent
        self.expire_after_s = expire_after_s
        self._swept_at = 0.0
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._acked = threading.Event()
        self._asked_at: dict[str, float] = {}  # campaign -> when it last asked
        self._thread: threading.Thread | None = None

    def start(self, name: str) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._acked.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def acknowledged(self) -> None:
        """Some messages were acknowledged: a paced resend may go on."""
        self._acked.set()

    def reconnected(self) -> None:
        """The connection is new: send everything kept now (from paho's thread; no wait)."""
        due = self.outbox.due_now()
        if due:
            log.info("reconnected: sending %d unacknowledged message(s) again now", due)
            self._wake.set()

    def asked_again(self, campaign_id: str) -> None:
        """Campaign ``campaign_id``'s orchestrator misses messages: send what is kept for it
        now. At most once per acknowledgement time-out per campaign (a flood of asks does
        not make a flood of resends)."""
        now = time.monotonic()
        if now - self._asked_at.get(campaign_id, -self.ack_timeout_s) < self.ack_timeout_s:
            return
        self._asked_at[campaign_id] = now
        due = self.outbox.due_now(campaign_id)
        if due:
            log.info(
                "campaign %s asked for what it misses: sending %d message(s) again now",
                campaign_id,
                due,
            )
            self._wake.set()

    def campaign_ended(self, campaign_id: str) -> None:
        """Campaign ``campaign_id`` completed: what is kept of it is set aside."""
        count = self.outbox.expire_campaign(
            campaign_id, f"campaign {campaign_id} completed: it needed none of these"
        )
        if count:
            log.info(
                "campaign %s completed: set aside %d message(s) it did not need", campaign_id, count
            )

    def _sweep(self) -> None:
        """Set aside the messages of campaigns silent for ``expire_after_s``."""
        now = time.monotonic()
        if now - self._swept_at < min(60.0, self.expire_after_s / 2):
            return
        self._swept_at = now
        for campaign_id, count in self.outbox.expire_silent(self.expire_after_s).items():
            log.warning(
                "set aside %d message(s) of campaign %s: it acknowledged nothing for %g s "
                "(it ended, or never had an orchestrator); see 'genesis-lab worker "
                "--outbox-status'",
                count,
                campaign_id,
                self.expire_after_s,
            )

    def _run(self) -> None:
        tick = min(1.0, self.ack_timeout_s / 2)
        while not self._stopping.is_set():
            self._wake.wait(tick)
            self._wake.clear()
            try:
                self._sweep()
            except Exception:  # never let the resender die
                log.exception("could not set aside the outbox's unneeded messages")
            if self._stopping.is_set() or not self._connected():
                continue  # after the reconnect; paho keeps what it had in flight
            try:
                due = self.outbox.due(limit=WINDOW)
                for entry in due:
                    self._publish(entry.topic, entry.payload)
                self.outbox.mark_sent(due, resend_s=self.ack_timeout_s, max_s=self.max_resend_s)
            except Exception:  # never let the resender die; try again next tick
                log.exception("could not resend the outbox")
                continue
            if not due:
                continue
            self._on_resent(len(due))
            log.info("resent %d unacknowledged message(s)", len(due))
            if len(due) == WINDOW:  # more may wait: once this window is mostly taken
                self._await_acknowledgements([e.message_id for e in due])
                self._wake.set()

    def _await_acknowledgements(self, message_ids: list[str]) -> None:
        """Until at most half of ``message_ids`` are still kept, or the time-out."""
        deadline = time.monotonic() + self.ack_timeout_s
        while not self._stopping.is_set() and time.monotonic() < deadline:
            if self.outbox.kept(message_ids) <= len(message_ids) // 2:
                return
            self._acked.wait(0.2)
            self._acked.clear()
