"""Presence survives a broker that forgets (issue 15, item 1): a worker says it is online
again on every reconnect, so a broker restarted without persistence (its retained
statuses gone) still shows the station online to whoever comes next."""

from __future__ import annotations

import queue
import uuid
from typing import Any

import pytest

from genesis_lab.messages import StationStatus, decode_message, station_status_topic
from genesis_lab.messaging import MqttClient
from genesis_lab.spec import StationRef
from genesis_lab.station import build_station
from genesis_lab.worker import Worker

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto]


def retained_status(url: str, station_id: str, timeout: float = 30.0) -> StationStatus:
    """The station's status as a client that connects now receives it (the retained
    one, or the next one published), within ``timeout`` seconds."""
    received: queue.Queue[StationStatus] = queue.Queue()

    def on_status(_topic: str, payload: bytes) -> None:
        if payload:
            received.put(decode_message(payload, StationStatus))

    with MqttClient(url, client_id=f"newcomer-{uuid.uuid4().hex[:8]}") as newcomer:
        newcomer.subscribe(station_status_topic(station_id), on_status)
        return received.get(timeout=timeout)


def test_a_worker_announces_itself_again_after_its_broker_restarts(
    private_mosquitto: Any,
) -> None:
    station_id = f"bench-{uuid.uuid4().hex[:8]}"
    station = build_station(StationRef(plugin="colour-bench"))
    try:
        with Worker(station, station_id, private_mosquitto.url):
            assert retained_status(private_mosquitto.url, station_id).state == "online"
            private_mosquitto.restart()  # SIGKILL, no persistence: the retained status is gone
            status = retained_status(private_mosquitto.url, station_id, timeout=60.0)
            assert status.state == "online" and status.mode == "serving"
    finally:
        station.close()
