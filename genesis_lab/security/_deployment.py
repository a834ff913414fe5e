"""Every file a lab's first secured deployment needs, written into one directory.

:func:`init_lab` makes a lab CA, the broker's certificate, one certificate and key per
identity (:class:`~genesis_lab.security.LabRoles`; the certificate's common name is the
identity: the broker takes the username from it), an empty certificate revocation list,
the Mosquitto ACL, and a ready ``mosquitto.conf``, laid out as::

    DIR/mosquitto.conf                 mosquitto -c DIR/mosquitto.conf
    DIR/ca/ca.crt, ca.key              the lab CA (keep ca.key offline; it issues credentials)
    DIR/broker/                        what the broker reads: ca.crt, broker.crt,
                                       broker.key, crl.pem (revoked certificates), acl
    DIR/lab.json                       the lab's identities by role (no secret)
    DIR/identities/<username>/         what one identity needs, to copy to its machine:
                                       ca.crt, client.crt, client.key; for the
                                       orchestrator, each worker and each operator also
                                       signing.key and
                                       signing.pub (Ed25519) and trust/<username>.pub, the
                                       keys whose signatures it accepts (the workers trust
                                       the orchestrator's, and the operators' for controls
                                       only; it trusts every worker's, each for its own
                                       station: a station's .pub names it, an operator's
                                       names the person)

Private keys and the ACL are 0600 and their directories
0700 from the moment they exist (each file is written under a temporary name with its
mode, then renamed). Nothing is written unless every input is valid, and nothing is
overwritten unless ``force``: an existing CA or key is refused with the files named.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import pwd
import re
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genesis_lab.errors import LabSetupError
from genesis_lab.messages import check_topic_segment
from genesis_lab.security._keys import generate_signing_key, public_key_path, public_key_text
from genesis_lab.security._mosquitto import (
    BrokerIdentity,
    LabRoles,
    acl_text,
    mosquitto_config_text,
)
from genesis_lab.security._pki import (
    create_lab_ca,
    issue_client_certificate,
    issue_server_certificate,
)
from genesis_lab.security._revocation import empty_crl

__all__ = [
    "DEFAULT_BROKER_PORT",
    "MANIFEST",
    "IdentityFiles",
    "LabDeployment",
    "default_broker_hostnames",
    "init_lab",
    "write_manifest",
]

MANIFEST = "lab.json"
"""The file in a lab directory that says what ``security init`` made (and what was added)."""
DEFAULT_BROKER_PORT = 8883
"""The IANA port of MQTT over TLS."""
_PASSWORD_BYTES = 32  # 256 random bits, URL-safe base64: no ':' or whitespace
_SECRET_FILE = 0o600
_PUBLIC_FILE = 0o644
_SECRET_DIR = 0o700
_PUBLIC_DIR = 0o755
_DNS_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*\.?$")
_MOSQUITTO_USER = "mosquitto"  # whom Mosquitto becomes when started as root


@dataclass(frozen=True)
class IdentityFiles:
    """The files of one identity, all in ``directory``: copy it to the identity's machine."""

    identity: BrokerIdentity
    directory: Path
    ca_certificate: Path
    certificate: Path
    key: Path
    signing_key: Path | None = None
    """Its Ed25519 key for signed messages (orchestrator, workers and operators; observers
    sign nothing); the public half is beside it (``signing.pub``)."""
    trusted: tuple[Path, ...] = ()
    """Copies of the public keys whose signatures it accepts."""


@dataclass(frozen=True)
class LabDeployment:
    """What :func:`init_lab` wrote, and where."""

    lab: str
    directory: Path
    port: int
    hostnames: tuple[str, ...]
    broker_user: str | None
    """The system user ``mosquitto.conf`` tells Mosquitto to run as (``user``), if any."""
    config: Path
    ca_certificate: Path
    ca_key: Path
    broker_ca_certificate: Path
    broker_certificate: Path
    broker_key: Path
    crl_file: Path
    """The certificate revocation list the broker checks client certificates against."""
    acl_file: Path
    identities: tuple[IdentityFiles, ...]
    warnings: tuple[str, ...] = ()

    def identity(self, username: str) -> IdentityFiles:
        """The files of ``username``; KeyError if there is no such identity."""
        for files in self.identities:
            if files.identity.username == username:
                return files
        raise KeyError(username)

    @property
    def broker_host(self) -> str:
        """The name clients should connect to: the first non-loopback host name, if any."""
        loopback = {"localhost", "127.0.0.1", "::1"}
        return next((h for h in self.hostnames if h not in loopback), self.hostnames[0])

    @property
    def broker_url(self) -> str:
        host = self.broker_host
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        return f"mqtts://{host}:{self.port}"

    def files(self) -> list[Path]:
        """Every file written, in the order written."""
        paths = [self.ca_certificate, self.ca_key, self.broker_ca_certificate]
        paths += [self.broker_certificate, self.broker_key]
        for files in self.identities:
            paths += [files.ca_certificate, files.certificate, files.key]
            if files.signing_key is not None:
                paths += [files.signing_key, public_key_path(files.signing_key)]
            paths += files.trusted
        return [*paths, self.crl_file, self.acl_file, self.config, self.manifest]

    @property
    def manifest(self) -> Path:
        """``lab.json``: the lab's name, port, host names and identities by role (no
        secret), what ``security add-operator`` and ``add-station`` build on."""
        return self.directory / MANIFEST


def write_manifest(
    path: Path,
    lab: str,
    roles: LabRoles,
    port: int,
    hostnames: Sequence[str],
    broker_user: str | None,
) -> None:
    """Write a lab directory's ``lab.json``."""
    manifest = {
        "lab": lab,
        "port": port,
        "hostnames": list(hostnames),
        "broker_user": broker_user,
        "orchestrator": roles.orchestrator,
        "stations": list(roles.stations),
        "operators": list(roles.operators),
        "observers": list(roles.observers),
    }
    _write(path, (json.dumps(manifest, indent=2) + "\n").encode(), _PUBLIC_FILE)


def default_broker_hostnames() -> list[str]:
    """``localhost``, ``127.0.0.1`` and this machine's host name (and its FQDN if longer)."""
    names = ["localhost", "127.0.0.1", socket.gethostname()]
    fqdn = socket.getfqdn()
    if fqdn and fqdn != "localhost" and not fqdn.startswith("localhost."):
        names.append(fqdn)
    return [n for n in dict.fromkeys(names) if n]


def _check_hostname(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if len(host) > 253 or not _HOSTNAME.match(host):
        raise LabSetupError(
            f"--hostname {host!r} is neither an IP address nor a DNS name (letters, digits, "
            "'-' and '.'; '*.' in front for a wildcard)",
            setting="hostname",
        )
    return host.rstrip(".").lower()


def _broker_owner(broker_user: str | None) -> tuple[int, int] | None:
    """The (uid, gid) the broker's files are given to; None to leave them to this user."""
    if broker_user is None:
        return None
    try:
        entry = pwd.getpwnam(broker_user)
    except KeyError:
        raise LabSetupError(
            f"--broker-user {broker_user!r} is not a user of this machine", setting="broker_user"
        ) from None
    if entry.pw_uid == os.geteuid():
        return None
    if os.geteuid() != 0:
        raise LabSetupError(
            f"only root can give the broker's files to {broker_user!r}: run as root, or leave "
            "out --broker-user and start Mosquitto as yourself",
            setting="broker_user",
        )
    return entry.pw_uid, entry.pw_gid


def _default_broker_user() -> str | None:
    """Mosquitto started as root becomes ``mosquitto``: when we are root, write for it."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_MOSQUITTO_USER)
    except KeyError:
        return None
    return _MOSQUITTO_USER


def _unreachable(directory: Path, owner: tuple[int, int] | None) -> Path | None:
    """The first directory from ``/`` down to ``directory`` that ``owner`` cannot enter."""
    if owner is None or owner[0] == 0:
        return None
    uid, gid = owner
    for path in [*reversed(directory.parents), directory]:
        try:
            mode = path.stat()
        except OSError:
            return path
        if mode.st_mode & stat.S_IXOTH:
            continue
        if mode.st_uid == uid and mode.st_mode & stat.S_IXUSR:
            continue
        if mode.st_gid == gid and mode.st_mode & stat.S_IXGRP:
            continue
        return path
    return None


def _make_dir(path: Path, mode: int, owner: tuple[int, int] | None = None) -> None:
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, *owner)


def _write(path: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Write ``data`` to ``path`` with ``mode`` (and ``owner``) from its first byte on: under a
    temporary name created with that mode, then renamed over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask
        if owner is not None:
            os.fchown(fd, *owner)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temporary, path)


def _plan(
    lab: str,
    roles: LabRoles,
    out: Path,
    port: int,
    hostnames: tuple[str, ...],
    broker_user: str | None,
) -> LabDeployment:
    """Where everything goes, before anything is written."""
    ca_dir, broker_dir, identities_dir = out / "ca", out / "broker", out / "identities"
    identities = []
    everyone = roles.identities()
    signers = [i.username for i in everyone if i.role in ("orchestrator", "worker", "operator")]
    workers = [i.username for i in everyone if i.role == "worker"]
    for identity in everyone:
        home = identities_dir / identity.username
        if identity.role == "orchestrator":
            trusts = workers  # each for its own station
        elif identity.role == "worker":
            trusts = [roles.orchestrator, *roles.operators]  # operators: controls only
        else:
            trusts = []
        identities.append(
            IdentityFiles(
                identity,
                home,
                ca_certificate=home / "ca.crt",
                certificate=home / "client.crt",
                key=home / "client.key",
                signing_key=home / "signing.key" if identity.username in signers else None,
                trusted=tuple(home / "trust" / f"{name}.pub" for name in trusts),
            )
        )
    return LabDeployment(
        lab=lab,
        directory=out,
        port=port,
        hostnames=hostnames,
        broker_user=broker_user,
        config=out / "mosquitto.conf",
        ca_certificate=ca_dir / "ca.crt",
        ca_key=ca_dir / "ca.key",
        broker_ca_certificate=broker_dir / "ca.crt",
        broker_certificate=broker_dir / "broker.crt",
        broker_key=broker_dir / "broker.key",
        crl_file=broker_dir / "crl.pem",
        acl_file=broker_dir / "acl",
        identities=tuple(identities),
    )


def init_lab(
    lab: str,
    roles: LabRoles,
    out: Path,
    *,
    hostnames: Sequence[str] | None = None,
    port: int = DEFAULT_BROKER_PORT,
    broker_user: str | None = None,
    force: bool = False,
) -> LabDeployment:
    """Write a first deployment's credentials and broker files for ``lab`` into ``out``.

    ``hostnames``: the names and addresses clients reach the broker by (the server
    certificate's subject alternative names); default :func:`default_broker_hostnames`.
    ``broker_user``: the system user Mosquitto runs as; ``mosquitto.conf`` says ``user``
    it and the broker's files are given to it (root only). When None and we are root,
    ``mosquitto`` if that user exists, since Mosquitto started as root switches to it
    before it reads any of its files.

    Raises :class:`LabSetupError` (nothing written) for a bad name, host, port or user, or
    for an ``out`` that already holds any of these files and ``force`` is false.
    ``OSError`` if a file cannot be written.
    """
    try:
        check_topic_segment(lab, "lab name")
    except ValueError as exc:
        raise LabSetupError(str(exc), setting="lab") from None
    if not 1 <= port <= 65535:
        raise LabSetupError(f"--port must be between 1 and 65535, got {port}", setting="port")
    hosts = tuple(
        dict.fromkeys(_check_hostname(h.strip()) for h in (hostnames or default_broker_hostnames()))
    )
    if broker_user is None:
        broker_user = _default_broker_user()
    owner = _broker_owner(broker_user)
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise LabSetupError(f"--out {out} exists and is not a directory", setting="out")
    plan = _plan(lab, roles, out, port, hosts, broker_user)
    existing = [p for p in plan.files() if p.exists() or p.is_symlink()]
    if existing and not force:
        shown = ", ".join(str(p.relative_to(out)) for p in existing[:4])
        more = f" and {len(existing) - 4} more" if len(existing) > 4 else ""
        raise LabSetupError(
            f"{out} already holds a lab's files ({shown}{more}); refusing to replace them. "
            "Choose another --out, or add --force to replace them: the old CA and every "
            "certificate it issued then stops working",
            setting="out",
        )
    try:
        config_text = mosquitto_config_text(
            port=port,
            cafile=plan.broker_ca_certificate,
            certfile=plan.broker_certificate,
            keyfile=plan.broker_key,
            crl_file=plan.crl_file,
            acl_file=plan.acl_file,
            lab=lab,
            user=broker_user,
        )
    except ValueError as exc:
        raise LabSetupError(str(exc), setting="out") from None

    ca = create_lab_ca(lab)
    server = issue_server_certificate(ca, hosts)
    ca_pem = ca.certificate_pem()

    _make_dir(out, _PUBLIC_DIR)
    _make_dir(out / "ca", _SECRET_DIR)
    _write(plan.ca_certificate, ca_pem, _PUBLIC_FILE)
    _write(plan.ca_key, ca.key_pem(), _SECRET_FILE)
    _make_dir(out / "broker", _SECRET_DIR, owner)
    _write(plan.broker_ca_certificate, ca_pem, _PUBLIC_FILE, owner)
    _write(plan.broker_certificate, server.certificate_pem(), _PUBLIC_FILE, owner)
    _write(plan.broker_key, server.key_pem(), _SECRET_FILE, owner)
    _make_dir(out / "identities", _PUBLIC_DIR)
    for files in plan.identities:
        issued = issue_client_certificate(ca, files.identity.username)
        _make_dir(files.directory, _SECRET_DIR)
        _write(files.ca_certificate, ca_pem, _PUBLIC_FILE)
        _write(files.certificate, issued.certificate_pem(), _PUBLIC_FILE)
        _write(files.key, issued.key_pem(), _SECRET_FILE)
    public_keys = {}
    for files in plan.identities:
        if files.signing_key is not None:
            operator = files.identity.username if files.identity.role == "operator" else None
            key = generate_signing_key(
                files.signing_key,
                overwrite=force,
                station_id=files.identity.station_id,
                operator=operator,
            )
            public_keys[files.identity.username] = public_key_text(key.public).encode("ascii")
    for files in plan.identities:
        if files.trusted:
            _make_dir(files.directory / "trust", _PUBLIC_DIR)
        for path in files.trusted:
            _write(path, public_keys[path.stem], _PUBLIC_FILE)
    _write(plan.crl_file, empty_crl(ca), _PUBLIC_FILE, owner)
    _write(plan.acl_file, acl_text(roles, lab=lab).encode(), _SECRET_FILE, owner)
    _write(plan.config, config_text.encode(), _PUBLIC_FILE)
    write_manifest(plan.manifest, lab, roles, port, hosts, broker_user)

    warnings = []
    blocked = _unreachable(out / "broker", owner)
    if blocked is not None:
        warnings.append(
            f"Mosquitto runs as {broker_user!r} but cannot enter {blocked}: move --out under "
            f"a directory {broker_user!r} can reach, or give --broker-user the user you "
            "start Mosquitto as"
        )
    return dataclasses.replace(plan, warnings=tuple(warnings))
