"""Bring up what a command needs: a broker (embedded or external) and a local worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from genesis_lab.messaging import EmbeddedBroker
from genesis_lab.spec import StationRef, parse_broker_url
from genesis_lab.station import build_station
from genesis_lab.worker import Worker

__all__ = ["broker_session", "local_worker"]


@contextmanager
def broker_session(broker: str) -> Iterator[str]:
    """Yield the URL of the broker to use: a fresh embedded one, or ``broker`` itself."""
    if broker != "embedded":
        parse_broker_url(broker)
        yield broker
        return
    embedded = EmbeddedBroker()
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


@contextmanager
def local_worker(station: StationRef, broker_url: str) -> Iterator[Worker]:
    """Build the station's devices and serve them from a worker in this process."""
    with ExitStack() as stack:
        devices = build_station(station)
        stack.callback(devices.close)
        worker = Worker(devices, station.station_id, broker_url, plugin=station.plugin)
        worker.start()
        stack.callback(worker.stop)
        yield worker
