"""One worker per station id: before a worker takes its station's MQTT session, it looks
at the station's retained presence. A status that says another worker process is online
means that worker is connected now (a dead one's last will says offline, at once for a
closed connection, within 1.5 keep-alives for a silent one), and taking its session would
knock it off the broker: two workers with one client id push each other off every few
seconds and both fail their trials. So the second refuses to start, naming the first.

The look is made by a client of its own (a random client id, no session, no will), so it
disturbs nothing. A lab whose broker does not let a worker read its own status (an ACL
from before this check) shows it nothing, and the check passes: the old behaviour."""

from __future__ import annotations

import queue
import uuid

from genesis_lab.errors import MessageError, StationTakenError
from genesis_lab.messages import StationStatus, decode_message, station_status_topic
from genesis_lab.messaging import MqttClient, TransportSecurity

__all__ = ["check_no_other_worker"]


def check_no_other_worker(
    broker_url: str,
    station_id: str,
    instance: str,
    *,
    security: TransportSecurity | None = None,
    timeout_s: float = 10.0,
) -> None:
    """Raise :class:`~genesis_lab.errors.StationTakenError` if the broker at ``broker_url``
    retains that another worker process than ``instance`` serves ``station_id`` now."""
    topic = station_status_topic(station_id)
    seen: queue.Queue[bytes] = queue.Queue()
    with MqttClient(
        broker_url, client_id=f"genesis-lab-look-{uuid.uuid4().hex[:12]}", security=security
    ) as look:
        look.subscribe(topic, lambda _t, payload: seen.put(payload))
        look.barrier(topic, timeout=timeout_s)  # the retained status, if any, came before
    while not seen.empty():
        payload = seen.get_nowait()
        if not payload:
            continue
        try:
            status = decode_message(payload, StationStatus, topic=topic)
        except MessageError:
            continue  # not ours to judge; the orchestrators refuse it
        if status.state == "online" and status.worker and status.worker != instance:
            raise StationTakenError(
                f"station {station_id!r} is already served by another worker "
                f"({status.worker}) on {broker_url}: two workers for one station id would "
                "knock each other off the broker. Stop that worker first, or start this one "
                "with another --station-id ('genesis-lab run' with --no-local-worker lets "
                "that worker serve the campaign). If that worker is gone (its machine lost power, "
                "its network cut), the broker declares it offline within 45 s (1.5 keep-alive "
                "periods): start this one again then",
                station=station_id,
                worker=status.worker,
            )
