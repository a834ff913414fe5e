"""What a record must say about the software that made it."""

from __future__ import annotations

import getpass
import platform
import socket
from importlib.metadata import PackageNotFoundError, distributions, version

from cryptography import x509

from genesis_lab.messaging import TransportSecurity

__all__ = [
    "RECORDED_PACKAGES",
    "broker_identity",
    "campaign_actor",
    "current_actor",
    "package_versions",
]

RECORDED_PACKAGES = (
    "genesis-lab",
    "torch",
    "botorch",
    "gpytorch",
    "bluesky",
    "ophyd",
    "event-model",
    "pydantic",
    "paho-mqtt",
    "amqtt",
    "numpy",
)


def package_versions() -> dict[str, str]:
    """The software that made a record: Python, the platform, the packages that decide a
    campaign's results (``RECORDED_PACKAGES``) first, then every other installed
    distribution by name, each at its installed version."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    others = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in versions:
            others[name.lower()] = dist.version
    versions.update(sorted(others.items()))
    return versions


def current_actor() -> str:
    """Who is running this process, for the record: ``user@host``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def broker_identity(security: TransportSecurity | None) -> str | None:
    """Who the lab's broker knows this process as: its MQTT username, else the common name
    of its client certificate; None when it connects anonymously."""
    if security is None:
        return None
    if security.username:
        return security.username
    if security.cert_file is None:
        return None
    try:
        certificate = x509.load_pem_x509_certificate(security.cert_file.read_bytes())
    except (OSError, ValueError):
        return None  # the connection itself reports an unreadable certificate
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def campaign_actor(security: TransportSecurity | None) -> str:
    """Who runs the campaign, for its record: the broker identity with ``user@host``
    beside it (``orchestrator (ada@lab-pc)``), or ``user@host`` alone."""
    identity = broker_identity(security)
    here = current_actor()
    return here if identity is None else f"{identity} ({here})"
