"""Certificates and password files for tests that talk TLS to a private Mosquitto.

The certificates come from the lab PKI of :mod:`genesis_lab.security` (the one
``genesis-lab security init`` uses), written as PEM files; the password file is made by
Mosquitto's own ``mosquitto_passwd``. Import from a test module as ``from tls_certs import
...`` (``tests/`` is on ``sys.path`` through its ``conftest.py``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from genesis_lab.security import (
    CertifiedKey,
    create_lab_ca,
    issue_client_certificate,
    issue_server_certificate,
)

__all__ = ["CertFiles", "LabPki", "write_password_file", "write_pki"]


@dataclass(frozen=True)
class CertFiles:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class LabPki:
    """A lab CA, the broker's certificate, and client certificates (common name = username)."""

    ca: Path
    server: CertFiles
    clients: Mapping[str, CertFiles]


def _write(directory: Path, stem: str, certified: CertifiedKey) -> CertFiles:
    cert, key = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert.write_bytes(certified.certificate_pem())
    key.write_bytes(certified.key_pem())
    key.chmod(0o600)
    return CertFiles(cert, key)


def write_pki(
    directory: Path,
    *,
    lab: str = "test-lab",
    clients: Sequence[str] = ("alice",),
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
) -> LabPki:
    """A fresh CA in ``directory`` (made if missing) with a server certificate for ``hosts``
    and one client certificate per name in ``clients``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = create_lab_ca(lab)
    ca_path = directory / "ca.crt"
    ca_path.write_bytes(ca.certificate_pem())
    server = _write(directory, "server", issue_server_certificate(ca, list(hosts)))
    issued = {name: _write(directory, name, issue_client_certificate(ca, name)) for name in clients}
    return LabPki(ca_path, server, issued)


def write_password_file(path: Path, users: Mapping[str, str]) -> Path:
    """A Mosquitto password file for ``users`` (username -> password), made with
    ``mosquitto_passwd -b`` (so hashed exactly as Mosquitto expects)."""
    binary = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    path.write_text("")
    for username, password in users.items():
        subprocess.run(
            [binary, "-b", str(path), username, password],
            check=True,
            capture_output=True,
            timeout=10,
        )
    return path
