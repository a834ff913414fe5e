"""What a Mosquitto broker needs for a lab: who may connect, who may do what, and how.

- :class:`LabRoles` names the identities of a lab: one orchestrator, one worker per
  station, any number of operators and observers (reviewers), each a broker username
  (the common name of its client certificate).
- :func:`acl_text` turns them into a Mosquitto ACL file of ``user`` blocks: each user
  may read and write exactly the topics of its role (the scheme of
  :mod:`genesis_lab.messages._topics`), nothing else (Mosquitto denies what is not listed).
- :func:`mosquitto_password_hash` writes a password as Mosquitto 2 stores it
  (``$7$``: PBKDF2-HMAC-SHA512, as ``mosquitto_passwd`` writes it), for a broker set up
  with password files (``security init`` no longer writes one: the certificate is the
  identity).
- :func:`mosquitto_config_text` writes the broker's configuration: one TLS listener
  that wants a client certificate signed by the lab CA and not revoked, whose common
  name is the identity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from genesis_lab.errors import LabSetupError
from genesis_lab.messages import (
    TOPIC_PREFIX,
    campaign_control_topic,
    campaign_results_topic,
    check_topic_segment,
    station_acks_topic,
    station_control_topic,
    station_requests_topic,
    station_status_topic,
)

__all__ = [
    "BrokerIdentity",
    "LabRoles",
    "acl_text",
    "check_mosquitto_password",
    "mosquitto_config_text",
    "mosquitto_password_hash",
    "password_file_text",
    "role_topics",
    "worker_username",
]

Role = Literal["orchestrator", "worker", "operator", "observer"]

MOSQUITTO_PBKDF2_ITERATIONS = 101
"""What ``mosquitto_passwd`` 2.0 uses: the file is exactly what ``mosquitto_passwd -b``
would have written."""
_SALT_BYTES = 12  # as mosquitto_passwd
_HASH_BYTES = 64  # SHA-512

_ANY_MARKER = "any-level-marker"


def _any(topic_of: Callable[[str], str]) -> str:
    """The filter of every topic ``topic_of`` makes: its variable level becomes ``+``.

    Built from the topic functions themselves, so the ACL follows the topic scheme.
    """
    levels = topic_of(_ANY_MARKER).split("/")
    return "/".join("+" if level == _ANY_MARKER else level for level in levels)


def worker_username(station_id: str) -> str:
    """The broker username of the worker that serves ``station_id``."""
    return f"worker-{check_topic_segment(station_id, 'station id')}"


def _check_name(name: str, what: str, setting: str) -> None:
    try:
        check_topic_segment(name, what)
    except ValueError as exc:
        raise LabSetupError(str(exc), setting=setting) from None


@dataclass(frozen=True)
class BrokerIdentity:
    """One broker user: its username (also its certificate's common name) and its role."""

    username: str
    role: Role
    station_id: str | None = None
    """The station a worker serves; None for the other roles."""


@dataclass(frozen=True)
class LabRoles:
    """The identities of one lab. Names must be usable in topics (letters, digits, ``_.-``,
    starting with a letter or digit) and every username distinct; else
    :class:`~genesis_lab.errors.LabSetupError`."""

    orchestrator: str
    stations: tuple[str, ...]
    observers: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    """People who may pause, resume, e-stop and release stations, and nothing else."""

    def __post_init__(self) -> None:
        _check_name(self.orchestrator, "orchestrator name", "orchestrator")
        if not self.stations:
            raise LabSetupError(
                "a lab needs at least one station (--station ID)", setting="station"
            )
        for station in self.stations:
            _check_name(station, "station id", "station")
        for observer in self.observers:
            _check_name(observer, "observer name", "observer")
        for operator in self.operators:
            _check_name(operator, "operator name", "operator")
        seen: dict[str, str] = {}
        for identity in self.identities():
            what = f"{identity.role} {identity.username!r}"
            if identity.username in seen:
                raise LabSetupError(
                    f"{what} has the same username as {seen[identity.username]}: give every "
                    "station, operator, observer and the orchestrator a name of its own",
                    setting=identity.role if identity.role != "worker" else "station",
                )
            seen[identity.username] = what

    def identities(self) -> list[BrokerIdentity]:
        """Every identity: the orchestrator, the workers, the operators, the observers."""
        return [
            BrokerIdentity(self.orchestrator, "orchestrator"),
            *(BrokerIdentity(worker_username(s), "worker", s) for s in self.stations),
            *(BrokerIdentity(o, "operator") for o in self.operators),
            *(BrokerIdentity(o, "observer") for o in self.observers),
        ]


# ------------------------------------------------------------------------------------- ACL
Access = Literal["read", "write", "readwrite"]


def role_topics(identity: BrokerIdentity) -> list[tuple[Access, str]]:
    """The (access, topic filter) grants of ``identity``'s role, most telling first."""
    if identity.role == "orchestrator":
        return [
            ("write", _any(station_requests_topic)),
            ("readwrite", _any(station_control_topic)),  # read: the e-stops retained
            ("readwrite", station_control_topic()),
            ("write", _any(station_acks_topic)),
            ("readwrite", _any(campaign_control_topic)),
            ("read", _any(station_status_topic)),
            ("read", _any(campaign_results_topic)),
        ]
    if identity.role == "worker":
        station = identity.station_id
        if station is None:
            raise ValueError(f"worker {identity.username!r} has no station")
        return [
            ("read", station_requests_topic(station)),
            ("read", station_control_topic(station)),
            ("read", station_control_topic()),
            ("read", station_acks_topic(station)),
            ("readwrite", station_status_topic(station)),  # read: one worker per station
            ("write", _any(campaign_results_topic)),
        ]
    if identity.role == "operator":
        return [
            ("readwrite", _any(station_control_topic)),  # read: the e-stops retained
            ("readwrite", station_control_topic()),
            ("read", _any(station_status_topic)),
        ]
    return [("read", f"{TOPIC_PREFIX}/#")]


_ROLE_NOTES = {
    "orchestrator": "dispatches experiments, acknowledges results, pauses, stops and "
    "e-stops stations, sends campaigns manual trials; reads presence and results",
    "worker": "reads only its own station's requests, acknowledgements and controls "
    "(and the all-stations control) and its own status (one worker per station); "
    "publishes only its own status, and results",
    "operator": "pauses, resumes, e-stops and releases stations and reads their status "
    "and the e-stops in force; "
    "never dispatches an experiment or publishes a result",
    "observer": "reads everything, publishes nothing",
}


def acl_text(roles: LabRoles, *, lab: str = "") -> str:
    """A Mosquitto ACL file granting each identity of ``roles`` its role's topics only.

    Every grant sits in a ``user`` block; there is no ``topic`` line before the first
    ``user`` line (those would apply to anonymous clients) and no ``pattern`` line (those
    apply to every user). A worker's results topic has the campaign as its one variable
    level, so any worker may write any campaign's results: the ACL cannot tell which
    station a campaign runs on. Signed results close that gap.
    """
    title = f' for the lab "{lab}"' if lab else ""
    lines = [
        f"# Mosquitto access rules{title}, written by `genesis-lab security init`.",
        "# A user may use only the topics listed in its block; everything else is denied.",
        "# A worker may write the results of any campaign (the topic names the campaign,",
        "# not the station): signed results prove which station produced a measurement.",
    ]
    for identity in roles.identities():
        where = f" of station {identity.station_id}" if identity.station_id else ""
        note = f"{identity.role}{where}: {_ROLE_NOTES[identity.role]}"
        lines += ["", *(f"# {line}" for line in textwrap.wrap(note, 86))]
        lines.append(f"user {identity.username}")
        lines += [f"topic {access} {topic}" for access, topic in role_topics(identity)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- password file
def mosquitto_password_hash(
    password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_PBKDF2_ITERATIONS
) -> str:
    """``password`` as Mosquitto 2 stores it: ``$7$<iterations>$<salt>$<PBKDF2-SHA512>``
    (salt and hash in standard base64), as ``mosquitto_passwd`` writes it."""
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    encode = base64.b64encode
    return f"$7${iterations}${encode(salt).decode()}${encode(digest).decode()}"


def check_mosquitto_password(password: str, hashed: str) -> bool:
    """True if ``password`` matches a ``$7$`` hash of a Mosquitto password file."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7":
        raise ValueError("not a Mosquitto $7$ (PBKDF2-SHA512) password hash")
    iterations, salt, expected = int(parts[2]), base64.b64decode(parts[3]), parts[4]
    computed = mosquitto_password_hash(password, salt=salt, iterations=iterations)
    return hmac.compare_digest(computed.rsplit("$", 1)[1], expected)


def password_file_text(passwords: Mapping[str, str]) -> str:
    """A Mosquitto password file: one ``username:$7$...`` line per username -> password."""
    lines = []
    for username, password in passwords.items():
        if not username or ":" in username or any(c.isspace() for c in username):
            raise ValueError(f"{username!r} cannot be a Mosquitto username")
        lines.append(f"{username}:{mosquitto_password_hash(password)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the config
def _config_path(path: Path) -> str:
    text = str(path.resolve())
    if any(c in text for c in "\n\r") or text != text.strip():
        raise ValueError(f"{text!r} cannot be written into mosquitto.conf: choose another --out")
    return text


def mosquitto_config_text(
    *,
    port: int,
    cafile: Path,
    certfile: Path,
    keyfile: Path,
    crl_file: Path,
    acl_file: Path,
    lab: str = "",
    bind_address: str | None = None,
    user: str | None = None,
    comments: Iterable[str] = (),
) -> str:
    """A ``mosquitto.conf`` with one TLS listener (TLS 1.2 or newer) and nothing else.

    A client must present a certificate signed by ``cafile`` and not revoked in
    ``crl_file``; its identity is the certificate's common name
    (``use_identity_as_username``: a username or password it sends is not used, so one
    identity's certificate cannot be combined with another's credentials); ``acl_file``
    decides what each identity may do.
    ``user``: the system user Mosquitto switches to when started as root (it then reads
    every file as that user).
    """
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    title = f' for the lab "{lab}"' if lab else ""
    listener = f"listener {port}" + (f" {bind_address}" if bind_address else "")
    lines = [
        f"# Mosquitto{title}, written by `genesis-lab security init`.",
        *(f"# {line}" if line else "#" for line in comments),
        "",
        *(
            [
                "# Started as root, Mosquitto becomes this user before it reads any file below.",
                f"user {user}",
                "",
            ]
            if user
            else []
        ),
        "# Who may connect, and what each may do: every listener below.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"acl_file {_config_path(acl_file)}",
        "connection_messages true",
        "",
        "# The one listener: TLS only (no plaintext listener, not even on localhost: a",
        "# client on this machine connects with its certificate like any other).",
        listener,
        f"cafile {_config_path(cafile)}",
        f"certfile {_config_path(certfile)}",
        f"keyfile {_config_path(keyfile)}",
        "tls_version tlsv1.2",
        "# A client needs a certificate signed by the lab CA and not revoked; the identity",
        "# (and so the ACL block) is the certificate's common name, whatever username or",
        "# password the client sends. 'kill -HUP' reloads the CRL after a revocation.",
        "require_certificate true",
        "use_identity_as_username true",
        f"crlfile {_config_path(crl_file)}",
    ]
    return "\n".join(lines) + "\n"
