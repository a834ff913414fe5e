"""``genesis-lab security keygen``: an Ed25519 key pair for signed commands or results."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._exits import EXIT_BAD_INPUT, EXIT_FAILED
from genesis_lab.errors import KeyFileError
from genesis_lab.messages import check_topic_segment
from genesis_lab.security import generate_signing_key, public_key_path

__all__ = ["keygen"]


out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def keygen(
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Where to write the private key (mode 0600); the public key goes beside it, "
            "ending .pub (orchestrator.key -> orchestrator.pub).",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing key files (the old key is lost).")
    ] = False,
    station: Annotated[
        str | None,
        typer.Option(
            "--station",
            metavar="ID",
            help="Make a station's key: the public key file names the station, and an "
            "orchestrator trusts the key for that station alone.",
            show_default=False,
        ),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option(
            "--operator",
            metavar="NAME",
            help="Make a person's key for controls only: the public key file names them, "
            "and a worker that trusts it takes their pause, resume, e-stop and release, "
            "never an experiment request.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make an Ed25519 key pair to sign commands (operator) or results (station) with.

    An orchestrator's or operator's key signs requests, e-stops, pauses and manual trials;
    a station's key signs its documents and statuses. Prints the key id and where the
    public key is; never prints the private key. Give the private key to the one component
    that signs (--signing-key, --station-key) and the public key to those that check
    (worker --trust, run --station-trust). Exits 2 if a file exists (without --force) or
    the station id is not one, 1 if it cannot be written.
    """
    if station is not None and operator is not None:
        err.print("[bold red]error:[/] a key is a station's (--station) or a person's (--operator)")
        raise typer.Exit(EXIT_BAD_INPUT)
    for option, name, what in (
        ("--station", station, "station id"),
        ("--operator", operator, "operator name"),
    ):
        if name is None:
            continue
        try:
            check_topic_segment(name, what)
        except ValueError as exc:
            err.print(f"[bold red]error:[/] {option}: {escape(str(exc))}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    existed = out_path.exists() or public_key_path(out_path).exists()
    try:
        key = generate_signing_key(out_path, overwrite=force, station_id=station, operator=operator)
    except KeyFileError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_BAD_INPUT if existed and not force else EXIT_FAILED) from None
    public = public_key_path(out_path)
    out.print(f"key id {key.key_id}")
    out.print(f"  private key: {escape(str(out_path))} (0600; keep it on the machine that signs)")
    out.print(f"  public key:  {escape(str(public))} (give it to whoever checks the signatures)")
    quoted = escape(shlex.quote(str(public)))
    if operator is not None:
        out.print(f"  it signs {escape(operator)}'s pause, resume, e-stop and release only")
        out.print(f"e.g. genesis-lab worker ... --trust {quoted}")
    elif station is None:
        out.print(f"e.g. genesis-lab worker ... --trust {quoted}")
    else:
        out.print(f"  it speaks for station {escape(station)} only")
        out.print(f"e.g. genesis-lab run ... --station-trust {quoted}")
