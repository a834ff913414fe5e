"""Who a process is, for the record: its broker identity and ``user@host``.

The orchestrator names itself so in a campaign's events; a worker names itself so in the
start document of every run it makes, which its station key signs: the record then says
which broker identity ran each trial.
"""

from __future__ import annotations

import getpass
import socket

from cryptography import x509

from genesis_lab.messaging._security import TransportSecurity

__all__ = ["broker_identity", "current_actor", "process_identity"]


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


def process_identity(security: TransportSecurity | None) -> str:
    """The broker identity with ``user@host`` beside it (``worker-a (ada@lab-pc)``), or
    ``user@host`` alone."""
    identity = broker_identity(security)
    here = current_actor()
    return here if identity is None else f"{identity} ({here})"
