"""Add one person or one station to a lab that ``security init`` made, or take one back.

:func:`add_identity` issues the newcomer's certificate, key and signing key with the lab's
CA (``DIR/ca/``; the certificate's name is the identity the broker knows), rewrites the
ACL for the lab's roles with the newcomer in them, hands out the public
keys (an operator's to every worker's ``trust/``; a station's to the orchestrator's, and
the orchestrator's and every operator's to the new worker's), and records the newcomer in
``lab.json``. Nothing else changes: every other credential keeps working. The broker reads
the new ACL when told to (``kill -HUP``); a worker takes a new operator's key when it is
restarted (``--trust`` a directory takes every key in it). :func:`revoke_identity` adds an
identity's certificate to the lab's revocation list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from genesis_lab.errors import LabSetupError
from genesis_lab.security._deployment import (
    _PUBLIC_DIR,
    _PUBLIC_FILE,
    _SECRET_DIR,
    _SECRET_FILE,
    MANIFEST,
    _broker_owner,
    _make_dir,
    _write,
    write_manifest,
)
from genesis_lab.security._keys import generate_signing_key, public_key_text
from genesis_lab.security._mosquitto import (
    LabRoles,
    acl_text,
    worker_username,
)
from genesis_lab.security._pki import (
    CertifiedKey,
    issue_client_certificate,
    load_certified_key,
)
from genesis_lab.security._revocation import empty_crl, with_revoked

__all__ = ["Addition", "add_identity", "revoke_identity"]


@dataclass(frozen=True)
class Addition:
    """What :func:`add_identity` wrote: the newcomer's directory and every file changed."""

    username: str
    role: str
    directory: Path
    written: tuple[Path, ...]
    trust_copies: tuple[Path, ...]


def _manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabSetupError(
            f"{out} has no {MANIFEST}: it is not a lab directory, or 'security init' of an "
            "older genesis-lab made it (run 'genesis-lab security init' again there, with "
            "--force, to start a lab this version can add to)",
            setting="out",
        ) from None
    except (OSError, ValueError) as exc:
        raise LabSetupError(f"cannot read {path}: {exc}", setting="out") from None
    if not isinstance(data, dict):
        raise LabSetupError(f"{path} is not a lab manifest", setting="out")
    return data


def _lab_ca(out: Path) -> CertifiedKey:
    try:
        return load_certified_key(
            (out / "ca" / "ca.crt").read_bytes(), (out / "ca" / "ca.key").read_bytes()
        )
    except (OSError, ValueError) as exc:
        raise LabSetupError(
            f"cannot use the lab CA in {out / 'ca'} ({exc}): issuing or revoking needs the "
            "CA's key, kept offline since init; bring it back for this",
            setting="out",
        ) from None


def revoke_identity(out: Path, username: str) -> Path:
    """Add ``username``'s certificate to the lab's revocation list (``broker/crl.pem``);
    return the list's path. The broker refuses it once it reloads (``kill -HUP``)."""
    out = Path(out).expanduser().resolve()
    manifest = _manifest(out)
    certificate_path = out / "identities" / username / "client.crt"
    try:
        certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    except (OSError, ValueError):
        raise LabSetupError(
            f"no certificate of {username!r} in this lab ({certificate_path})", setting="name"
        ) from None
    ca = _lab_ca(out)
    crl = out / "broker" / "crl.pem"
    current = crl.read_bytes() if crl.exists() else empty_crl(ca)
    owner = _broker_owner(manifest.get("broker_user"))
    _write(crl, with_revoked(current, ca, certificate), _PUBLIC_FILE, owner)
    return crl


def add_identity(out: Path, *, operator: str | None = None, station: str | None = None) -> Addition:
    """Add operator ``operator`` or station ``station`` (one of them) to the lab in ``out``.

    Raises :class:`LabSetupError` (nothing written) for a directory without a lab, a name
    already taken or not usable, or a CA that cannot be read."""
    if (operator is None) == (station is None):
        raise LabSetupError("add one operator or one station", setting="name")
    out = Path(out).expanduser().resolve()
    manifest = _manifest(out)
    try:
        roles = LabRoles(
            manifest["orchestrator"],
            tuple(manifest["stations"]) + ((station,) if station else ()),
            tuple(manifest["observers"]),
            tuple(manifest["operators"]) + ((operator,) if operator else ()),
        )
    except KeyError as exc:
        raise LabSetupError(f"{out / MANIFEST} lacks {exc}", setting="out") from None
    username = operator if operator is not None else worker_username(str(station))
    home = out / "identities" / username
    if home.exists():
        raise LabSetupError(f"{home} exists already: {username!r} is in this lab", setting="name")
    ca = _lab_ca(out)
    owner = _broker_owner(manifest.get("broker_user"))
    issued = issue_client_certificate(ca, username)

    _make_dir(home, _SECRET_DIR)
    written = [home / "ca.crt", home / "client.crt", home / "client.key"]
    _write(written[0], ca.certificate_pem(), _PUBLIC_FILE)
    _write(written[1], issued.certificate_pem(), _PUBLIC_FILE)
    _write(written[2], issued.key_pem(), _SECRET_FILE)
    key = generate_signing_key(home / "signing.key", station_id=station, operator=operator)
    written += [home / "signing.key", home / "signing.pub"]
    public = public_key_text(key.public).encode("ascii")

    identities = out / "identities"
    copies: list[Path] = []
    if operator is not None:  # every worker takes the operator's controls
        targets = [identities / worker_username(s) / "trust" for s in manifest["stations"]]
        for trust in targets:
            _make_dir(trust, _PUBLIC_DIR)
            copies.append(trust / f"{username}.pub")
            _write(copies[-1], public, _PUBLIC_FILE)
    else:  # the orchestrator trusts the station's key; the station its commanders'
        trust = identities / roles.orchestrator / "trust"
        _make_dir(trust, _PUBLIC_DIR)
        copies.append(trust / f"{username}.pub")
        _write(copies[-1], public, _PUBLIC_FILE)
        own = home / "trust"
        _make_dir(own, _PUBLIC_DIR)
        for name in (roles.orchestrator, *roles.operators):
            source = identities / name / "signing.pub"
            if source.exists():
                copies.append(own / f"{name}.pub")
                _write(copies[-1], source.read_bytes(), _PUBLIC_FILE)

    broker = out / "broker"
    _write(broker / "acl", acl_text(roles, lab=manifest["lab"]).encode(), _SECRET_FILE, owner)
    write_manifest(
        out / MANIFEST,
        manifest["lab"],
        roles,
        int(manifest["port"]),
        list(manifest["hostnames"]),
        manifest.get("broker_user"),
    )
    written += [broker / "acl", out / MANIFEST]
    role = "operator" if operator is not None else "worker"
    return Addition(username, role, home, tuple(written), tuple(copies))
