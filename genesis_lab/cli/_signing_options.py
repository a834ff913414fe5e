"""The options of signed commands and results: whose key signs, and whose are trusted.

``--signing-key`` (the operator's and orchestrator's private key) signs experiment requests
(``run``, ``resume``), controls (``estop``, ``pause``) and manual trials (``suggest``).
``--station-key`` (a station's private key) signs what a worker publishes. ``--trust``
(public keys, on ``worker``) are the keys whose signatures a worker requires on requests
and controls; ``--station-trust`` (on ``run``, ``resume``) the stations' keys whose
signatures the orchestrator requires on results and keeps in the record. Each falls back
on its environment variable; file lists in a variable are separated by ``:``. Keys come
from files only, never from a campaign file, and are never printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from genesis_lab.cli._exits import err, fail
from genesis_lab.errors import KeyFileError
from genesis_lab.messages import check_topic_segment
from genesis_lab.security import (
    DEFAULT_MAX_AGE_S,
    MessageSigning,
    PublicKey,
    SigningKey,
    load_public_key,
    load_signing_key,
)

__all__ = [
    "CampaignSigning",
    "MaxAge",
    "SigningKeyOption",
    "StationKeyOption",
    "StationTrust",
    "Trust",
    "campaign_signing",
    "load_key",
    "load_station_trust",
    "load_trusted",
    "signing",
    "warn_unsigned",
]


SigningKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--signing-key",
        metavar="FILE",
        envvar="GENESIS_LAB_SIGNING_KEY",
        help="Sign what this command sends with this Ed25519 private key (PEM, mode 0600; "
        "make one with 'genesis-lab security keygen'). Workers that trust its public half "
        "refuse unsigned requests and controls.",
        show_default=False,
    ),
]
StationKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--station-key",
        metavar="FILE",
        envvar="GENESIS_LAB_STATION_KEY",
        help="The station's Ed25519 private key (PEM, mode 0600): the worker signs every "
        "document and status with it, so the record proves which station measured what.",
        show_default=False,
    ),
]
Trust = Annotated[
    list[Path] | None,
    typer.Option(
        "--trust",
        metavar="FILE",
        envvar="GENESIS_LAB_TRUST",
        help="Public key (PEM) of an orchestrator or operator, or a directory of them (its "
        "*.pub); repeat for several. Given any, the worker refuses requests and controls not "
        "signed by one of them, or expired, or replayed (an e-stop is obeyed all the same); "
        "an operator's key (its file names the person) signs controls only, never a "
        "request.",
        show_default=False,
    ),
]
StationTrust = Annotated[
    list[str] | None,
    typer.Option(
        "--station-trust",
        metavar="FILE",
        envvar="GENESIS_LAB_STATION_TRUST",
        help="Public key (PEM) of a station, trusted for that station only: the file says "
        "which ('station: ID' before the key, as 'security init' and 'security keygen "
        "--station' write it), or give STATION=FILE; a directory: each of its *.pub. Repeat "
        "for several. Given any, "
        "results not signed by the key of the station the campaign runs on are refused, "
        "and each document's signature and the keys are kept in the record.",
        show_default=False,
    ),
]
MaxAge = Annotated[
    float,
    typer.Option(
        "--max-age",
        min=1.0,
        help="Seconds a signed request or control stays good after it was signed (a "
        "request's own expiry may be later); older ones are refused as expired.",
    ),
]


def load_key(path: Path | None) -> SigningKey | None:
    """The private key at ``path`` (None if not given); exit 2 naming the problem."""
    if path is None:
        return None
    try:
        return load_signing_key(path)
    except KeyFileError as exc:
        fail(str(exc))


def _key_files(path: Path) -> list[Path]:
    """``path``, or every ``*.pub`` file in it if it is a directory (a trust/ directory)."""
    if path.is_dir():
        found = sorted(path.glob("*.pub"))
        if not found:
            fail(f"{path} is a directory without a public key (*.pub) in it")
        return found
    return [path]


def load_trusted(paths: list[Path] | None) -> tuple[PublicKey, ...]:
    """The public keys at ``paths`` (a directory: each of its ``*.pub``); exit 2 naming the
    first bad one."""
    try:
        return tuple(load_public_key(f) for path in paths or [] for f in _key_files(path))
    except KeyFileError as exc:
        fail(str(exc))


def _is_station_id(text: str) -> bool:
    try:
        check_topic_segment(text, "station id")
    except ValueError:
        return False
    return True


def load_station_trust(items: list[str] | None) -> tuple[PublicKey, ...]:
    """The stations' public keys of ``--station-trust``, each bound to its station (by its
    file's ``station:`` line or a ``STATION=`` prefix); exit 2 naming a bad or unbound one."""
    keys = []
    for item in items or []:
        station, sep, rest = item.partition("=")
        bound = bool(sep) and _is_station_id(station) and not Path(item).exists()
        for path in _key_files(Path(rest if bound else item)):
            try:
                key = load_public_key(path, station_id=station if bound else None)
            except KeyFileError as exc:
                fail(str(exc))
            if key.station_id is None:
                fail(
                    f"--station-trust {path}: say which station this key speaks for: give "
                    f"STATION={path}, or use the .pub file that 'genesis-lab security init' "
                    "or 'genesis-lab security keygen --station ID' wrote (it names the "
                    "station). A station's key is trusted for its own station only"
                )
            keys.append(key)
    return tuple(keys)


def warn_unsigned(what: str, consequence: str) -> None:
    """Say on stderr that ``what`` goes unsigned, and what then happens to it."""
    err.print(
        f"note: {what} is not signed (no --signing-key or $GENESIS_LAB_SIGNING_KEY); {consequence}",
        highlight=False,
        soft_wrap=True,
    )


def signing(
    key: SigningKey | None,
    identity: str,
    trusted: tuple[PublicKey, ...] = (),
    max_age_s: float = DEFAULT_MAX_AGE_S,
) -> MessageSigning | None:
    """The settings for a component, or None when it neither signs nor checks."""
    if key is None and not trusted:
        return None
    return MessageSigning(key=key, identity=identity, trusted=trusted, max_age_s=max_age_s)


@dataclass(frozen=True)
class CampaignSigning:
    """The signing settings of a campaign's orchestrator and of its local worker."""

    orchestrator: MessageSigning | None = None
    local_worker: MessageSigning | None = None


def campaign_signing(
    signing_key: Path | None,
    station_key: Path | None,
    station_trust: list[str] | None,
    *,
    with_worker: bool,
    station_id: str,
) -> CampaignSigning:
    """Load the keys of ``run`` or ``resume``: the orchestrator signs with ``signing_key``
    and trusts ``station_trust``, each key for its own station; a local worker of station
    ``station_id`` signs with ``station_key`` (then trusted for that station) and trusts
    the orchestrator's key. Exit 2 naming a bad key file."""
    if station_key is not None and not with_worker:
        fail(
            "--station-key signs the results of this process's worker, and there is none "
            "(--no-local-worker): give the station's key to 'genesis-lab worker --station-key' "
            "and its public key here with --station-trust"
        )
    key = load_key(signing_key)
    station = load_key(station_key) if with_worker else None
    trusted = load_station_trust(station_trust)
    if station is not None:
        own = [k for k in trusted if k.key_id == station.key_id]
        if any(k.station_id != station_id for k in own):
            fail(
                f"--station-key {station_key} is the key of the local worker's station "
                f"{station_id!r}, but --station-trust binds it to station "
                f"{own[0].station_id!r}: a key speaks for one station"
            )
        if not own:
            trusted += (station.public.for_station(station_id),)
    worker_trusts = () if key is None else (key.public,)
    return CampaignSigning(
        orchestrator=signing(key, "", trusted),
        local_worker=signing(station, "", worker_trusts),
    )
