"""A worker in this process: how ``run`` (without ``--no-local-worker``), ``worker`` and a
replay against a simulator serve a station."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from genesis_lab.messaging import TransportSecurity
from genesis_lab.security import MessageSigning
from genesis_lab.spec import StationRef
from genesis_lab.station import build_station
from genesis_lab.worker._worker import Worker

__all__ = ["local_worker"]


@contextmanager
def local_worker(
    station: StationRef,
    broker_url: str,
    *,
    outbox: Path | None = None,
    ack_timeout_s: float = 5.0,
    outbox_expiry_s: float = 7 * 86400.0,
    security: TransportSecurity | None = None,
    signing: MessageSigning | None = None,
) -> Iterator[Worker]:
    """Build the station's devices and serve them from a worker in this process, keeping
    its outbox and journal in the file ``outbox`` (in memory if None), connecting with
    ``security`` (TLS and credentials), signing and checking as ``signing`` says. On
    leaving, the worker stops (announcing the station offline) and the devices close."""
    with ExitStack() as stack:
        devices = build_station(station)
        stack.callback(devices.close)
        worker = Worker(
            devices,
            station.station_id,
            broker_url,
            plugin=station.plugin,
            outbox=outbox,
            ack_timeout_s=ack_timeout_s,
            outbox_expiry_s=outbox_expiry_s,
            security=security,
            signing=signing,
        )
        worker.start()
        stack.callback(worker.stop)
        yield worker
