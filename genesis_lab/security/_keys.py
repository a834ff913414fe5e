"""Ed25519 keys for signed messages: make them, load them, name them.

A signing key is a PKCS#8 PEM file that only its owner may read (mode 0600); its public
half is a SubjectPublicKeyInfo PEM file, given to whoever must check the signatures. A key
is named by its id: the first 16 hex digits of the SHA-256 of its raw 32-byte public key,
which every signature carries. Nothing here prints or logs a private key.

A station's public key file also says which station the key speaks for, in a line before
the PEM block (``station: furnace-1``; :func:`public_key_text`): an orchestrator trusts a
station key for that station only, so one station's key cannot vouch for another's results.
An operator's says whose it is (``operator: alice``): a worker takes pauses, resumes,
e-stops and releases signed with it, never an experiment request.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from genesis_lab.errors import KeyFileError
from genesis_lab.messages import check_topic_segment

__all__ = [
    "PublicKey",
    "SigningKey",
    "generate_signing_key",
    "key_id_of",
    "load_public_key",
    "load_signing_key",
    "public_key_from_pem",
    "public_key_path",
    "public_key_text",
]

_MAX_KEY_FILE_BYTES = 64 * 1024
_STATION_LINE = re.compile(r"^station:[ \t]*(\S*)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_OPERATOR_LINE = re.compile(r"^operator:[ \t]*(\S*)[ \t]*$", re.IGNORECASE | re.MULTILINE)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The key's id: the first 16 hex digits of the SHA-256 of its raw public bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """A public key whose signatures are trusted; ``source`` says where it came from."""

    key: Ed25519PublicKey = field(repr=False)
    key_id: str
    source: str = ""
    station_id: str | None = None
    """The one station this key speaks for (a station's key); None for other keys."""
    operator: str | None = None
    """The person whose key this is (an operator's key: controls only); None otherwise."""

    @classmethod
    def of(
        cls, key: Ed25519PublicKey, source: str = "", station_id: str | None = None
    ) -> PublicKey:
        return cls(key, key_id_of(key), source, station_id)

    def for_station(self, station_id: str) -> PublicKey:
        """This key, bound to ``station_id``; ``ValueError`` if it is bound to another."""
        if self.station_id not in (None, station_id) or self.operator is not None:
            bound = self.station_id or f"operator {self.operator}"
            raise ValueError(f"key {self.key_id} speaks for {bound!r}, not station {station_id!r}")
        return PublicKey(self.key, self.key_id, self.source, _checked_station(station_id))

    def for_operator(self, name: str) -> PublicKey:
        """This key, as operator ``name``'s (controls only); ``ValueError`` if it is bound
        to a station or another operator."""
        if self.station_id is not None or self.operator not in (None, name):
            bound = self.station_id or f"operator {self.operator}"
            raise ValueError(f"key {self.key_id} speaks for {bound!r}, not operator {name!r}")
        checked = check_topic_segment(name, "operator name")
        return PublicKey(self.key, self.key_id, self.source, None, checked)

    @property
    def may_dispatch(self) -> bool:
        """Whether requests signed with it may move an instrument: not a station's or an
        operator's key."""
        return self.station_id is None and self.operator is None

    @property
    def pem(self) -> str:
        """The key as SubjectPublicKeyInfo PEM text (what a record keeps)."""
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """A private key to sign with (its ``repr`` never shows it) and its public half."""

    private: Ed25519PrivateKey = field(repr=False)
    public: PublicKey
    path: str = ""

    @property
    def key_id(self) -> str:
        return self.public.key_id


def _checked_station(station_id: str) -> str:
    return check_topic_segment(station_id, "station id")


def public_key_text(key: PublicKey) -> str:
    """The text of a public key file: the PEM block, after a ``station: ID`` line if the key
    is bound to a station, or an ``operator: NAME`` line if it is an operator's."""
    if key.station_id is not None:
        return (
            f"# genesis-lab: the signing key of station {key.station_id}, trusted for it alone\n"
            f"station: {key.station_id}\n{key.pem}"
        )
    if key.operator is not None:
        return (
            f"# genesis-lab: operator {key.operator}'s signing key: pause, resume, e-stop and "
            f"release only, never an experiment\noperator: {key.operator}\n{key.pem}"
        )
    return key.pem


def public_key_path(private_path: str | Path) -> Path:
    """Where ``generate_signing_key`` writes the public half of ``private_path``: the same
    name ending ``.pub`` (``lab/orchestrator.key`` -> ``lab/orchestrator.pub``)."""
    path = Path(private_path)
    public = path.with_suffix(".pub")
    return public if public != path else path.with_name(path.name + ".pub")


def generate_signing_key(
    path: str | Path,
    *,
    overwrite: bool = False,
    station_id: str | None = None,
    operator: str | None = None,
) -> SigningKey:
    """Make a new Ed25519 key: the private key at ``path`` (created 0600, never readable by
    others even for a moment) and the public key beside it (:func:`public_key_path`), bound
    to ``station_id`` when the key is a station's, or to ``operator`` when it is a person's
    who may only pause, resume, e-stop and release.

    Refuses to replace existing files unless ``overwrite``."""
    path = Path(path)
    public_path = public_key_path(path)
    if not overwrite:
        for existing in (path, public_path):
            if existing.exists():
                raise KeyFileError(
                    f"{existing} already exists; choose another --out or give --force to "
                    "replace it (whoever trusts the old key must then be given the new one)",
                    path=str(existing),
                )
    private = Ed25519PrivateKey.generate()
    public = PublicKey.of(private.public_key(), str(public_path))
    if station_id is not None:
        public = public.for_station(station_id)
    if operator is not None:
        public = public.for_operator(operator)
    key = SigningKey(private, public, str(path))
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if overwrite:
            path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        public_path.write_text(public_key_text(key.public), encoding="ascii")
    except OSError as exc:
        raise KeyFileError(f"cannot write the key {path}: {exc.strerror}", path=str(path)) from None
    return key


def _read(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > _MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"{what} {path} is too large to be a key file", path=str(path))
        return path.read_bytes()
    except FileNotFoundError:
        hint = (
            f"; make one with 'genesis-lab security keygen --out {path}'"
            if what == "signing key"
            else ""
        )
        raise KeyFileError(f"{what} {path} does not exist{hint}", path=str(path)) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read {what} {path}: {exc.strerror}", path=str(path)) from None


def load_signing_key(path: str | Path) -> SigningKey:
    """Load a private Ed25519 key (PKCS#8 PEM, unencrypted) that only its owner can read.

    Refused, with the fix in the message: a missing file, a file that group or others may
    read or write (it must be 0600), an encrypted key, anything but Ed25519."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        _read(path, "signing key")  # raises the "does not exist" error
        raise
    except OSError as exc:
        raise KeyFileError(
            f"cannot read signing key {path}: {exc.strerror}", path=str(path)
        ) from None
    if mode & 0o077:
        raise KeyFileError(
            f"signing key {path} is open to others (mode {mode:04o}); a private key must be "
            f"readable by its owner only: run 'chmod 600 {path}'",
            path=str(path),
        )
    data = _read(path, "signing key")
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            f"signing key {path} is encrypted; genesis-lab needs an unencrypted key protected "
            "by its file mode (0600)",
            path=str(path),
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if b"PUBLIC KEY" in data:
            problem = "holds a public key; give the private key it was made with"
        else:
            problem = "is not a private key in PEM"
        raise KeyFileError(
            f"signing key {path} {problem} (make one with 'genesis-lab security keygen')",
            path=str(path),
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(
            f"signing key {path} is a {type(private).__name__.lstrip('_')}, not an Ed25519 key "
            "(make one with 'genesis-lab security keygen')",
            path=str(path),
        )
    return SigningKey(private, PublicKey.of(private.public_key(), str(path)), str(path))


def public_key_from_pem(text: str | bytes, source: str = "") -> PublicKey:
    """A public Ed25519 key from SubjectPublicKeyInfo PEM, with the station it is bound to if
    a ``station: ID`` line comes before the PEM block; ``ValueError`` if it is not one."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    head = data.split(b"-----BEGIN", 1)[0].decode("ascii", "replace")
    stations, operators = _STATION_LINE.findall(head), _OPERATOR_LINE.findall(head)
    if len(stations) + len(operators) > 1:
        raise ValueError("bound more than once (several 'station:' or 'operator:' lines)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("not a public key in PEM") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"a {type(key).__name__.lstrip('_')}, not an Ed25519 key")
    public = PublicKey.of(key, source)
    if stations:
        return public.for_station(stations[0])
    return public.for_operator(operators[0]) if operators else public


def load_public_key(path: str | Path, *, station_id: str | None = None) -> PublicKey:
    """Load a trusted public Ed25519 key (PEM). A private key given by mistake is refused:
    only the public half should ever be copied to the machines that check signatures.

    ``station_id``: the station the key speaks for, if the file does not say (when it does,
    the two must agree)."""
    path = Path(path)
    data = _read(path, "trusted key")
    if b"PRIVATE KEY" in data:
        raise KeyFileError(
            f"trusted key {path} holds a private key; give its public half "
            f"({public_key_path(path).name}) and keep the private key where it signs",
            path=str(path),
        )
    try:
        key = public_key_from_pem(data, str(path))
    except ValueError as exc:
        raise KeyFileError(
            f"trusted key {path} is {exc} (the .pub file 'genesis-lab security keygen' wrote)",
            path=str(path),
        ) from None
    if station_id is None:
        return key
    try:
        return key.for_station(station_id)
    except ValueError as exc:
        raise KeyFileError(f"trusted key {path}: {exc}", path=str(path)) from None
