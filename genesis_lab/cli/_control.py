"""``genesis-lab estop`` and ``pause``: operators' controls for every worker.

Each sends a :class:`~genesis_lab.messages.StationControl` on the shared control topic
(every station) or on one station's (``--station``), then waits up to ``--wait`` seconds
for the online workers to announce the new mode on their retained status topics, and
lists who did. Without ``--broker`` they send to the broker of every campaign running on
this machine (:mod:`._running`), else to mqtt://127.0.0.1:1883. Exit 0 when every online
station it is for confirmed it, 3 when one did not or none is online (it was sent: the
output says what is in force), 1 if a broker cannot be reached (the others are still
sent to), 2 for a bad option.

An e-stop latches: it is published retained, so a worker that connects later (restarted,
down when it was sent, or on a new machine) finds it and comes up stopped; each worker
also keeps it in its journal. A release lifts the stop, then clears the retained e-stop
(a lab-wide release every station's too) once the online stations confirmed it.
``estop --status`` lists the e-stops in force and every station's mode
(:mod:`._lab_status`).
"""

from __future__ import annotations

import getpass
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._broker_options import (
    NO_BROKER_OPTIONS,
    BrokerOptions,
    with_broker_options,
)
from genesis_lab.cli._exits import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NOT_CONFIRMED, err
from genesis_lab.cli._lab_status import show_estop_status
from genesis_lab.cli._running import DEFAULT_BROKER, running_campaigns
from genesis_lab.cli._signing_options import SigningKeyOption, load_key, warn_unsigned
from genesis_lab.errors import GenesisLabError, MessageError
from genesis_lab.messages import (
    TOPIC_PREFIX,
    StationControl,
    StationStatus,
    decode_message,
    encode_message,
    station_control_topic,
)
from genesis_lab.messaging import MqttClient, TransportSecurity
from genesis_lab.security import MessageSigner
from genesis_lab.spec import parse_broker_url

__all__ = ["ControlOutcome", "estop", "pause", "send_control"]

out = Console(soft_wrap=True)  # lines are read by scripts too: never wrapped

Command = Literal["estop", "release", "pause", "resume"]

_EXPECTED = {"estop": "estopped", "release": "serving", "pause": "paused", "resume": "serving"}

Broker = Annotated[
    str | None,
    typer.Option(
        help="Broker the workers serve on, mqtt://HOST:PORT or mqtts://HOST:PORT (TLS). "
        "Default: the broker of every campaign running on this machine ('run' and 'resume' "
        "note where they run, the embedded broker's port included), else "
        "mqtt://127.0.0.1:1883.",
        show_default=False,
    ),
]
StationOption = Annotated[
    str | None,
    typer.Option("--station", help="Only this station id. Default: every station."),
]
Wait = Annotated[float, typer.Option(help="Seconds to wait for the workers to confirm.", min=0.0)]
By = Annotated[str | None, typer.Option(help="Who asks (logged). Default: your login.")]


@dataclass
class ControlOutcome:
    """What became of a control: per online station, the mode it reported (stations that
    did not answer keep their old mode); for a release, the control topics whose retained
    e-stop it cleared, or why it left them (``kept``)."""

    modes: dict[str, str] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)
    kept: str = ""


def send_control(
    command: Command,
    broker: str,
    *,
    station: str | None = None,
    reason: str = "",
    by: str | None = None,
    wait_s: float = 2.0,
    security: TransportSecurity | None = None,
    signer: MessageSigner | None = None,
) -> ControlOutcome:
    """Send ``command`` and wait up to ``wait_s`` for the online stations to confirm it.
    ``security``: TLS and credentials for the broker; ``signer`` signs the command.

    An e-stop is published retained. A release clears the retained e-stops it lifts (every
    station's when lab-wide) once every online station confirmed it; with no station
    online, only a signed release clears them (an unsigned one may be refused by every
    worker that trusts a key, which would then find no e-stop when it connects)."""
    message = StationControl(
        command=command,
        station_id=station,
        requested_by=by or getpass.getuser(),
        reason=reason,
    )
    if signer is not None:
        message = signer.sign(message)
    outcome = ControlOutcome()
    modes = outcome.modes
    changed = threading.Condition()
    want = _EXPECTED[command]

    def on_status(topic: str, payload: bytes) -> None:
        try:
            status = decode_message(payload, StationStatus, topic=topic)
        except MessageError:
            return
        if station is not None and status.station_id != station:
            return
        with changed:
            if status.state == "online":
                modes[status.station_id] = status.mode
            else:
                modes.pop(status.station_id, None)
            changed.notify_all()

    latched: set[str] = set()  # control topics holding a retained e-stop

    def on_control(topic: str, payload: bytes) -> None:
        if payload:
            latched.add(topic)

    client_id = f"genesis-lab-{command}-{uuid.uuid4().hex[:8]}"
    topic = station_control_topic(station)
    with MqttClient(broker, client_id=client_id, security=security) as client:
        # Sent first, the moment the broker is reached. An e-stop latches on the broker:
        # every worker that connects later finds it.
        client.publish_and_wait(topic, encode_message(message), retain=command == "estop")
        deadline = time.monotonic() + wait_s
        statuses = f"{TOPIC_PREFIX}/stations/+/status"
        client.subscribe(statuses, on_status)
        if command == "release":
            client.subscribe(topic, on_control)
            if station is None:  # a lab-wide release lifts every station's e-stop
                client.subscribe(f"{TOPIC_PREFIX}/stations/+/control", on_control)
        client.barrier(statuses)  # every retained status (and e-stop) has been read
        with changed:
            while any(mode != want for mode in modes.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                changed.wait(left)
            confirmed = all(mode == want for mode in modes.values())
            anyone = bool(modes)
        if command == "release" and latched:
            # A worker that reconnects before the latch is cleared meets the e-stop it was
            # just released from, which its journal marks released: it serves.
            if not confirmed:
                outcome.kept = "not every online station confirmed the release"
            elif not anyone and signer is None:
                outcome.kept = (
                    "no station is online to confirm the release and it is not signed "
                    "(--signing-key)"
                )
            else:
                for held in sorted(latched):
                    client.publish_and_wait(held, b"", retain=True)
                outcome.cleared = sorted(latched)
    return outcome


def brokers_to_reach(broker: str | None) -> list[tuple[str, str]]:
    """``(url, why this one)`` for each broker a control command sends to: ``broker`` if
    given; else the broker of every campaign running on this machine; else the default."""
    if broker is not None:
        return [(broker, "")]
    by_url: dict[str, list[str]] = {}
    for running in running_campaigns():
        by_url.setdefault(running.broker, []).append(running.campaign_id)
    if not by_url:
        return [(DEFAULT_BROKER, " (no campaign runs on this machine: the default broker)")]
    return [(url, f" (where campaign {', '.join(ids)} runs)") for url, ids in by_url.items()]


def _run(
    command: Command,
    broker: str | None,
    station: str | None,
    reason: str,
    by: str | None,
    wait: float,
    options: BrokerOptions,
    signing_key: Path | None = None,
) -> None:
    key = load_key(signing_key)
    signer = None if key is None else MessageSigner(key, by or getpass.getuser())
    if signer is None:
        warn_unsigned(
            command,
            "workers that trust a key obey an unsigned e-stop but refuse any other command",
        )
    targets = brokers_to_reach(broker)
    try:
        for url, _why in targets:
            parse_broker_url(url)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] --broker: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    codes = [
        _send_to(command, url, why, station, reason, by, wait, options, signer)
        for url, why in targets  # every one, even after a failure: an e-stop must reach all
    ]
    code = max(codes)
    if code == EXIT_NOT_CONFIRMED:
        err.print(
            f"[bold red]{command} NOT CONFIRMED[/] by every station it is for (see above)",
            highlight=False,
        )
    raise typer.Exit(code)


def _send_to(
    command: Command,
    broker: str,
    why: str,
    station: str | None,
    reason: str,
    by: str | None,
    wait: float,
    options: BrokerOptions,
    signer: MessageSigner | None,
) -> int:
    """Send ``command`` via ``broker``, print what came of it; the exit code it earns."""
    try:
        outcome = send_control(
            command,
            broker,
            station=station,
            reason=reason,
            by=by,
            wait_s=wait,
            security=options.for_external(broker),
            signer=signer,
        )
    except (ValueError, ValidationError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except GenesisLabError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_FAILED
    target = f"station {station!r}" if station else "every station"
    out.print(f"{command} sent to {target} via {broker}{why}", highlight=False)
    want = _EXPECTED[command]
    if command == "estop":
        out.print("it latches: a station that connects later comes up stopped", highlight=False)
    unconfirmed = not outcome.modes
    if not outcome.modes:
        out.print(f"no worker is online to confirm it{_NOBODY[command]}", highlight=False)
    for name, mode in sorted(outcome.modes.items()):
        if mode == want:
            out.print(f"  {name}: {mode} (ok)", highlight=False)
            continue
        unconfirmed = True
        hint = ""
        if signer is None and command != "estop":
            hint = f"; a worker that trusts a key refuses an unsigned {command}: --signing-key"
        out.print(f"  {name}: {mode} (NOT CONFIRMED within {wait:g} s{hint})", highlight=False)
    for held in outcome.cleared:
        out.print(f"cleared the e-stop retained on {held}", highlight=False)
    if outcome.kept:
        out.print(
            f"KEPT the e-stop retained on the broker: {outcome.kept}; a station that "
            "connects comes up stopped. Release again once that is resolved.",
            highlight=False,
        )
    return EXIT_NOT_CONFIRMED if unconfirmed else 0


_NOBODY = {
    "estop": " (it is latched on the broker: a station that connects comes up stopped)",
    "release": "",
    "pause": " (a pause is not kept: a station that connects serves)",
    "resume": "",
}


@with_broker_options
def estop(
    broker: Broker = None,
    station: StationOption = None,
    release: Annotated[
        bool, typer.Option("--release", help="Lift the emergency stop: serve requests again.")
    ] = False,
    status: Annotated[
        bool,
        typer.Option(
            "--status",
            help="Send nothing: list the e-stops in force (retained on the broker) and every "
            "station's mode.",
        ),
    ] = False,
    reason: Annotated[str, typer.Option(help="Why (logged by every worker).")] = "",
    by: By = None,
    wait: Wait = 2.0,
    signing_key: SigningKeyOption = None,
    broker_options: BrokerOptions = NO_BROKER_OPTIONS,
) -> None:
    """Emergency stop: every worker stops its actuators and halts its run now.

    The trial in progress ends ABANDONED ("emergency stop"), and every worker refuses
    requests until 'genesis-lab estop --release'. The e-stop latches: a worker restarted,
    down when it was sent, or started on a new machine comes up stopped. A release for one
    station (--station) leaves a lab-wide e-stop in force for the others; a station that
    was down during a release stays stopped until released again.

    Without --broker it reaches every campaign running on this machine. Exit 0 when every
    online station confirmed, 3 when one did not (or none is online), 1 if a broker cannot
    be reached, 2 for a bad option.
    """
    options = broker_options
    if status:
        if release:
            err.print("[bold red]error:[/] --status sends nothing: drop --release")
            raise typer.Exit(2)
        for url, why in brokers_to_reach(broker):
            out.print(f"via {url}{why}:", highlight=False)
            show_estop_status(url, station, wait, options)
        return
    _run("release" if release else "estop", broker, station, reason, by, wait, options, signing_key)


@with_broker_options
def pause(
    release: Annotated[
        bool, typer.Option("--release", help="End the pause: serve requests again.")
    ] = False,
    broker: Broker = None,
    station: StationOption = None,
    by: By = None,
    wait: Wait = 2.0,
    signing_key: SigningKeyOption = None,
    broker_options: BrokerOptions = NO_BROKER_OPTIONS,
) -> None:
    """Pause: workers start no new experiment and pause the one running.

    'pause --release' continues. An emergency stop is lifted only by 'estop --release'.
    Without --broker it reaches every campaign running on this machine. Exit 0 when every
    online station confirmed, 3 when one did not (or none is online), 1 if a broker cannot
    be reached, 2 for a bad option.
    """
    options = broker_options
    _run("resume" if release else "pause", broker, station, "", by, wait, options, signing_key)
