"""Delivery acknowledgements: the orchestrator's half of the workers' outboxes.

A worker keeps each document and trial status until the orchestrator says it is stored (or
refused for good); acknowledgements are batched per station and sent after the record
write, never before. A lost acknowledgement costs only a resend, which is a duplicate the
orchestrator drops and acknowledges again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from genesis_lab.messages import DeliveryAck, encode_message, station_acks_topic
from genesis_lab.messaging import MqttClient

__all__ = ["Acknowledgements"]

log = logging.getLogger(__name__)

_MAX_BATCH = 500
_MAX_WAIT_S = 0.5  # under a steady stream the inbox is seldom empty: flush at least this often


class Acknowledgements:
    """Message ids to acknowledge, per station, published in batches by ``flush``."""

    def __init__(self, client: MqttClient, campaign_id: str) -> None:
        self._client = client
        self._campaign_id = campaign_id
        self._waiting: defaultdict[str, list[str]] = defaultdict(list)
        self._since = time.monotonic()  # when the oldest waiting id was added
        self.sent = 0
        """How many message ids were acknowledged."""

    def add(self, station_id: str, message_id: str) -> None:
        """Acknowledge ``message_id`` with the next flush (at once if the batch is full or
        the oldest waiting acknowledgement has waited ``_MAX_WAIT_S``)."""
        if not any(self._waiting.values()):
            self._since = time.monotonic()
        waiting = self._waiting[station_id]
        waiting.append(message_id)
        if len(waiting) >= _MAX_BATCH:
            self._send(station_id)
        elif time.monotonic() - self._since > _MAX_WAIT_S:
            self.flush()

    def flush(self) -> None:
        """Publish every waiting acknowledgement (QoS 1, without waiting for the broker)."""
        for station_id in list(self._waiting):
            self._send(station_id)

    def campaign_ended(self, station_id: str) -> None:
        """Tell ``station_id``'s worker the campaign completed (after acknowledging all
        that waits): what it still keeps of it is not needed. Waits for the broker; if
        that fails, the worker sets those aside once the campaign has been silent long
        enough."""
        self._send(station_id, campaign_ended=True)

    def ask_again(self, station_id: str) -> None:
        """Ask ``station_id``'s worker to send at once every message of this campaign it
        still keeps (with the acknowledgements waiting, so it does not send those)."""
        self._send(station_id, send_again=True)

    def _send(
        self, station_id: str, *, send_again: bool = False, campaign_ended: bool = False
    ) -> None:
        ids = self._waiting.pop(station_id, [])
        if not (ids or send_again or campaign_ended):
            return
        ack = DeliveryAck(
            campaign_id=self._campaign_id,
            station_id=station_id,
            message_ids=ids,
            send_again=send_again,
            campaign_ended=campaign_ended,
        )
        topic, payload = station_acks_topic(station_id), encode_message(ack)
        try:
            if campaign_ended:  # the last word: the client closes next
                self._client.publish_and_wait(topic, payload)
            else:
                self._client.publish(topic, payload)
        except Exception as exc:  # the worker resends; its copy is acknowledged then
            log.warning("could not acknowledge %d message(s) to %s: %s", len(ids), station_id, exc)
            return
        self.sent += len(ids)
