"""``genesis-lab security``: credentials and broker access rules for a lab."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._exits import EXIT_BAD_INPUT, EXIT_FAILED, fail
from genesis_lab.errors import LabSetupError
from genesis_lab.security import (
    DEFAULT_BROKER_PORT,
    IdentityFiles,
    LabDeployment,
    LabRoles,
    add_identity,
    init_lab,
    revoke_identity,
)

__all__ = ["security_app"]


security_app = typer.Typer(
    name="security",
    help="Secure a lab's broker: make its CA, certificates, signing keys, revocation list, "
    "file, access rules (ACL) and configuration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_ROLE_TEXT = {
    "orchestrator": "orchestrator: dispatch and control",
    "worker": "worker of station {station}",
    "operator": "operator: pause, resume, e-stop, release",
    "observer": "observer: read only",
}


def _role(files: IdentityFiles) -> str:
    return _ROLE_TEXT[files.identity.role].format(station=files.identity.station_id)


def _tls_options(files: IdentityFiles) -> str:
    """The broker options of a genesis-lab command run as this identity: its certificate
    is its identity (no username or password)."""
    parts = [
        ("--tls-ca", files.ca_certificate),
        ("--tls-cert", files.certificate),
        ("--tls-key", files.key),
    ]
    return " ".join(f"{flag} {shlex.quote(str(value))}" for flag, value in parts)


def _signing_options(files: IdentityFiles) -> str:
    """The options that sign what ``files``' identity sends and check what it receives."""
    if files.signing_key is None:
        return ""
    own = "--station-key" if files.identity.role == "worker" else "--signing-key"
    trust = "--station-trust" if files.identity.role == "orchestrator" else "--trust"
    # The trust/ directory, not its files: a key added later (security add-operator,
    # add-station) is taken at the next start.
    parts = [(own, files.signing_key)]
    if files.trusted:
        parts.append((trust, files.trusted[0].parent))
    return " ".join(f"{flag} {shlex.quote(str(value))}" for flag, value in parts)


def _report(done: LabDeployment) -> None:
    root = done.directory

    def rel(path: Path) -> str:
        return escape(str(path.relative_to(root)))

    out.print(f"Wrote the credentials and broker files of the lab {done.lab!r} to {root}:")
    rows = [
        (
            "mosquitto.conf",
            f"the broker's configuration: TLS on port {done.port}, no anonymous "
            "access, a lab client certificate required (its name is the identity), the "
            "revocation list, the ACL",
        ),
        (rel(done.ca_certificate), "the lab CA's certificate (public)"),
        (
            rel(done.ca_key),
            "the lab CA's private key (0600): keep it offline; it issues "
            "credentials and is not needed to run the lab",
        ),
        (
            rel(done.broker_key.parent) + "/",
            "what the broker reads (0700"
            + (f", owned by {done.broker_user}" if done.broker_user else "")
            + "): broker.crt, broker.key, crl.pem (revoked certificates), acl, ca.crt",
        ),
    ]
    rows += [
        (
            rel(files.directory) + "/",
            f"{_role(files)} (0700): client.crt, client.key, ca.crt"
            + (", signing.key, signing.pub" if files.signing_key is not None else "")
            + (", trust/" if files.trusted else ""),
        )
        for files in done.identities
    ]
    width = max(len(name) for name, _ in rows)
    for name, what in rows:
        out.print(f"  {name.ljust(width)}  {what}")
    out.print(f"The broker's certificate is valid for: {', '.join(done.hostnames)}")
    for warning in done.warnings:
        err.print(f"[bold yellow]warning:[/] {escape(warning)}")

    url = done.broker_url
    out.print("\nNext:")
    out.print(f"  1. start the broker:   mosquitto -c {shlex.quote(str(done.config))}")
    out.print(
        "  2. copy each identities/<name>/ directory to the machine that uses it (keep it "
        "0700, readable by that machine's user only): its client.key is the identity"
    )
    out.print("  3. run each component with its identity, e.g.")
    orchestrator = next(f for f in done.identities if f.identity.role == "orchestrator")
    out.print(
        f"     genesis-lab run CAMPAIGN.yaml --broker {url} --no-local-worker "
        f"{escape(_tls_options(orchestrator))} {escape(_signing_options(orchestrator))}",
        soft_wrap=True,
    )
    for files in done.identities:
        if files.identity.role == "worker":
            station = shlex.quote(str(files.identity.station_id))
            out.print(
                f"     genesis-lab worker --station PLUGIN --id {station} --broker {url} "
                f"{escape(_tls_options(files))} {escape(_signing_options(files))}",
                soft_wrap=True,
            )
    for files in done.identities:
        if files.identity.role == "operator":
            out.print(
                f"     genesis-lab estop --broker {url} {escape(_tls_options(files))} "
                f"{escape(_signing_options(files))}   (also: pause, estop --release)",
                soft_wrap=True,
            )
    out.print(
        "  Clients must reach the broker by one of the names above; add others with "
        "--hostname (and --force to make new files)."
    )


@security_app.command("init")
def init(
    lab: Annotated[
        str, typer.Option(help="The lab's name (in the CA's name).", show_default=False)
    ],
    station: Annotated[
        list[str],
        typer.Option(
            help="Station id to make a worker identity for (its username is worker-ID); "
            "repeat for each station.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Directory to write into (made if missing). Holding a lab's files "
            "already, it is refused unless --force.",
            show_default=False,
        ),
    ],
    orchestrator: Annotated[
        str, typer.Option(help="Username of the orchestrator (dispatch and control).")
    ] = "orchestrator",
    observer: Annotated[
        list[str] | None,
        typer.Option(
            help="Username of an observer or reviewer (read only); repeat for several.",
            show_default=False,
        ),
    ] = None,
    operator: Annotated[
        list[str] | None,
        typer.Option(
            help="Username of a person on shift who may pause, resume, e-stop and release "
            "stations and nothing else (no dispatching, no results): a certificate and a "
            "signing key of their own; repeat for several.",
            show_default=False,
        ),
    ] = None,
    hostname: Annotated[
        list[str] | None,
        typer.Option(
            help="Host name or IP address clients reach the broker by (repeat). Default: "
            "localhost, 127.0.0.1 and this machine's host name.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="The broker's TLS port.")] = DEFAULT_BROKER_PORT,
    broker_user: Annotated[
        str | None,
        typer.Option(
            help="System user Mosquitto runs as: mosquitto.conf says 'user' it and the "
            "broker's files are given to it (needs root). Default: when run as root, "
            "'mosquitto' (whom Mosquitto becomes when started as root); else none: start "
            "Mosquitto as yourself.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the files of a lab already in --out (a new CA: every old "
            "certificate stops working).",
        ),
    ] = False,
) -> None:
    """Make what a first secured deployment needs: a lab CA, the broker's certificate, a
    certificate and key per identity (orchestrator, each station's worker, each operator,
    each observer; the certificate's name is the identity), the signing keys (orchestrator,
    workers, operators) and who trusts whom, an empty revocation list, the Mosquitto ACL,
    and a mosquitto.conf with one TLS listener that requires a lab client certificate.

    Prints what it wrote and the next commands; never a private key. Exits 2 for a
    bad name, host or port, or an --out that holds a lab already (without --force); 1
    if the files cannot be written.
    """
    try:
        roles = LabRoles(orchestrator, tuple(station), tuple(observer or ()), tuple(operator or ()))
        done = init_lab(
            lab,
            roles,
            out_dir,
            hostnames=hostname or None,
            port=port,
            broker_user=broker_user,
            force=force,
        )
    except LabSetupError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fail(f"cannot write{where}: {exc.strerror or exc}", EXIT_FAILED)
    _report(done)


def _add(out_dir: Path, *, operator: str | None = None, station: str | None = None) -> None:
    try:
        added = add_identity(out_dir, operator=operator, station=station)
    except LabSetupError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fail(f"cannot write{where}: {exc.strerror or exc}", EXIT_FAILED)
    home = escape(str(added.directory))
    out.print(
        f"Added {added.role} {added.username!r}: {home}/ (0700): client.crt, client.key, "
        "ca.crt, signing.key, signing.pub" + (", trust/" if station else "")
    )
    for path in added.trust_copies:
        out.print(f"  trusted key written: {escape(str(path))}")
    out.print("Next:")
    out.print("  1. make the broker read the new ACL: kill -HUP <the broker's pid> (or restart it)")
    out.print(f"  2. copy {home}/ to the machine that uses it, and keep it 0700")
    if operator is not None:
        out.print(
            "  3. restart each worker with the new trust/ key (--trust DIR takes every key "
            "in its trust/ directory); then, on the operator's machine:"
        )
        out.print(
            f"     genesis-lab estop --broker URL --tls-ca {home}/ca.crt --tls-cert "
            f"{home}/client.crt --tls-key {home}/client.key --signing-key {home}/signing.key"
        )
    else:
        out.print(
            "  3. restart the orchestrator with the station's key (--station-trust DIR takes "
            "every key in its trust/ directory); then, on the instrument's machine:"
        )
        out.print(
            f"     genesis-lab worker --station PLUGIN --id {escape(str(station))} --broker URL "
            f"--tls-ca {home}/ca.crt --tls-cert {home}/client.crt --tls-key "
            f"{home}/client.key --station-key {home}/signing.key --trust {home}/trust"
        )


_LabDir = Annotated[
    Path,
    typer.Option(
        "--out",
        help="The lab directory 'security init' wrote (with its ca/ca.key).",
        show_default=False,
    ),
]


@security_app.command("add-operator")
def add_operator(
    name: Annotated[str, typer.Argument(help="The person's username.", show_default=False)],
    out_dir: _LabDir,
) -> None:
    """Add a person on shift to a lab: a certificate and a signing key of their own
    under the lab's CA, who may pause, resume, e-stop and release stations and nothing
    else (the ACL and every worker's trust say so). Every other credential keeps working.

    Exits 2 for a name taken or unusable, or a directory without a lab or its CA key; 1 if
    the files cannot be written."""
    _add(out_dir, operator=name)


@security_app.command("add-station")
def add_station(
    station_id: Annotated[str, typer.Argument(help="The new station's id.", show_default=False)],
    out_dir: _LabDir,
) -> None:
    """Add a station to a lab: its worker's certificate and station-bound
    signing key under the lab's CA, its ACL block, the orchestrator's trust of its key and
    its own trust of the orchestrator's and operators' keys. Every other credential keeps
    working.

    Exits 2 for an id taken or unusable, or a directory without a lab or its CA key; 1 if
    the files cannot be written."""
    _add(out_dir, station=station_id)


@security_app.command("revoke")
def revoke(
    name: Annotated[
        str,
        typer.Argument(
            help="The identity's username (worker-ID for a station).", show_default=False
        ),
    ],
    out_dir: _LabDir,
) -> None:
    """Take an identity back: the lab CA adds its certificate to the revocation list the
    broker checks (broker/crl.pem). After 'kill -HUP' of the broker the certificate is
    refused at the TLS handshake; every other credential keeps working. A revoked signing
    key must also leave the trust/ directories of whoever trusted it.

    Exits 2 for an unknown identity or a directory without a lab or its CA key; 1 if the
    files cannot be written."""
    try:
        crl = revoke_identity(out_dir, name)
    except LabSetupError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fail(f"cannot write{where}: {exc.strerror or exc}", EXIT_FAILED)
    out.print(f"Revoked the certificate of {escape(name)!r} in {escape(str(crl))}.")
    out.print("Next: kill -HUP <the broker's pid> (it reads the revocation list again).")
