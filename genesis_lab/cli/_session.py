"""Bring up what a command needs: a broker (embedded or external) and a local worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_lab.cli._running import state_dir
from genesis_lab.messaging import EmbeddedBroker, TransportSecurity
from genesis_lab.security import MessageSigning
from genesis_lab.spec import StationRef, parse_broker_url

if TYPE_CHECKING:  # bluesky and the devices load only for a command that serves them
    from genesis_lab.worker import Worker

__all__ = ["broker_session", "default_outbox", "local_worker"]


def default_outbox(station_id: str) -> Path:
    """Where a worker keeps its outbox unless told: in the state directory
    (:func:`~._running.state_dir`)."""
    return state_dir() / f"outbox-{station_id}.sqlite"


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
    ``security`` (TLS and credentials), signing and checking as ``signing`` says."""
    from genesis_lab.station import build_station
    from genesis_lab.worker import Worker

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
