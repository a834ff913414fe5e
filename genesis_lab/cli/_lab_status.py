"""``genesis-lab estop --status``: the e-stops in force and every station's mode.

Reads what the broker retains and sends nothing: the e-stops latched on the control
topics (lab-wide and per station) and each station's presence (online or offline, serving,
paused or e-stopped, and who made the last change). Exit 0 when read, 1 if the broker
cannot be reached, 2 for a bad option.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import typer
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._broker_options import BrokerOptions
from genesis_lab.cli._exits import err
from genesis_lab.errors import GenesisLabError, MessageError
from genesis_lab.messages import (
    TOPIC_PREFIX,
    StationControl,
    StationStatus,
    check_topic_segment,
    decode_message,
    station_control_topic,
)
from genesis_lab.messaging import MqttClient, TransportSecurity
from genesis_lab.spec import parse_broker_url

__all__ = ["EstopStatus", "read_estop_status", "show_estop_status"]

out = Console(highlight=False, soft_wrap=True)


@dataclass
class EstopStatus:
    """What the broker retains: the lab-wide e-stop (None: none), each station's retained
    e-stop, and each station's last presence status."""

    lab: StationControl | None = None
    stations: dict[str, StationControl] = field(default_factory=dict)
    presence: dict[str, StationStatus] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


def read_estop_status(
    broker: str, station: str | None = None, *, security: TransportSecurity | None = None
) -> EstopStatus:
    """Collect the retained e-stops and presence statuses (of ``station`` only if given)."""
    found = EstopStatus()
    lock = threading.Lock()
    shared = station_control_topic()

    def on_control(topic: str, payload: bytes) -> None:
        if not payload:
            return
        try:
            message = decode_message(payload, StationControl, topic=topic)
        except MessageError as exc:
            with lock:
                found.unreadable.append(f"{topic}: {exc}")
            return
        if message.command != "estop":
            return
        with lock:
            if topic == shared:
                found.lab = message
            else:
                found.stations[topic.split("/")[-2]] = message

    def on_status(topic: str, payload: bytes) -> None:
        try:
            status = decode_message(payload, StationStatus, topic=topic)
        except MessageError as exc:
            with lock:
                found.unreadable.append(f"{topic}: {exc}")
            return
        with lock:
            found.presence[status.station_id] = status

    client_id = f"genesis-lab-status-{uuid.uuid4().hex[:8]}"
    with MqttClient(broker, client_id=client_id, security=security) as client:
        client.subscribe(shared, on_control)
        which = "+" if station is None else check_topic_segment(station, "station id")
        client.subscribe(f"{TOPIC_PREFIX}/stations/{which}/control", on_control)
        statuses = f"{TOPIC_PREFIX}/stations/{which}/status"
        client.subscribe(statuses, on_status)
        client.barrier(statuses)  # every retained message has been read
    with lock:
        return found


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _estop_line(message: StationControl) -> str:
    who = message.requested_by or "someone"
    signed = "signed" if message.auth is not None else "unsigned"
    because = f": {message.reason}" if message.reason else ""
    return f"sent {_when(message.sent_at)} by {who} ({signed}){because}"


def show_estop_status(
    broker: str, station: str | None, wait: float, options: BrokerOptions
) -> None:
    """Print :func:`read_estop_status` for an operator."""
    del wait  # retained messages arrive at once
    try:
        parse_broker_url(broker)
        if station is not None:
            check_topic_segment(station, "--station")
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    try:
        found = read_estop_status(broker, station, security=options.for_external(broker))
    except (ValueError, GenesisLabError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if found.lab is not None:
        out.print(f"LAB-WIDE E-STOP in force: {_estop_line(found.lab)}")
        out.print("  every station that connects comes up stopped until released")
    else:
        out.print("no lab-wide e-stop in force")
    for name, message in sorted(found.stations.items()):
        out.print(f"E-STOP in force for station {name}: {_estop_line(message)}")
    names = sorted(set(found.presence) | set(found.stations))
    if not names:
        out.print("no station has announced itself on this broker")
    for name in names:
        status = found.presence.get(name)
        if status is None:
            out.print(f"  {name}: never announced")
            continue
        change = f" ({status.change_reason}, by {status.changed_by or '?'})"
        change = change if status.change_reason else ""
        if status.state == "online":
            out.print(f"  {name}: online, {status.mode}{change}")
        else:
            last = f", last {status.mode}{change}" if status.mode != "serving" else ""
            out.print(f"  {name}: offline{last}")
    for problem in found.unreadable:
        out.print(f"unreadable retained message: {problem}")
