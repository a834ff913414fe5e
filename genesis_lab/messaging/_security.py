"""How a client proves who it is to the broker, and checks that the broker is the lab's.

:class:`TransportSecurity` holds a connection's settings: the CA that signed the broker's
certificate (pinned: the only CA trusted, never the system's store), an optional client
certificate and key, an optional username and password, or ``insecure`` (encrypt, but verify
no certificate: for a first test only, and warned about on every connect). TLS 1.2 is the
oldest version spoken.

:meth:`TransportSecurity.load` takes each setting from an explicit value or else from the
environment (``GENESIS_LAB_MQTT_*``, see :data:`SECURITY_ENVIRONMENT`). A password comes from a file
or from the environment, never from a command-line argument (``ps`` shows those) or a
campaign file, and is never printed or logged: the settings' ``repr`` hides it.
"""

from __future__ import annotations

import logging
import os
import ssl
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis_lab.errors import TransportSecurityError
from genesis_lab.spec import is_tls_broker_url

__all__ = ["SECURITY_ENVIRONMENT", "TransportSecurity"]

_log = logging.getLogger(__name__)

SECURITY_ENVIRONMENT = {
    "ca_file": "GENESIS_LAB_MQTT_CA",
    "cert_file": "GENESIS_LAB_MQTT_CERT",
    "key_file": "GENESIS_LAB_MQTT_KEY",
    "username": "GENESIS_LAB_MQTT_USERNAME",
    "password_file": "GENESIS_LAB_MQTT_PASSWORD_FILE",
    "password": "GENESIS_LAB_MQTT_PASSWORD",
}
"""The environment variable each setting is read from when not given explicitly.
``GENESIS_LAB_MQTT_PASSWORD`` is the last resort, after a password file."""


class _ClosingSSLSocket(ssl.SSLSocket):
    """An ``SSLSocket`` that closes itself when its handshake fails.

    paho drops a socket whose handshake raised without closing it, which leaks the file
    descriptor until the garbage collector finds it (a ``ResourceWarning``), on every failed
    attempt of a client that keeps reconnecting."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _no_passphrase() -> bytes:
    raise TransportSecurityError(
        "the client key is encrypted with a passphrase; give an unencrypted key file "
        "(readable by this user only), e.g. 'openssl pkey -in KEY -out KEY.plain'",
        setting="key_file",
    )


def _check_private(path: Path, what: str, setting: str) -> None:
    """Refuse a secret file that group or others may read or write (as signing keys are)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # missing or unreadable: said when the file is read
    if mode & 0o077:
        raise TransportSecurityError(
            f"the {what} {path} is open to others (mode {mode:04o}); it must be readable by "
            f"its owner only: run 'chmod 600 {path}'",
            setting=setting,
        )


def _read_password(path: Path) -> str:
    """The first line of ``path`` (without its line end): the password."""
    _check_private(path, "MQTT password file", "password_file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise TransportSecurityError(
            f"cannot read the MQTT password file {path}: {reason}", setting="password_file"
        ) from None
    password = text.split("\n", 1)[0].rstrip("\r")
    if not password:
        raise TransportSecurityError(
            f"the MQTT password file {path} has an empty first line; write the password on "
            "its first line",
            setting="password_file",
        )
    return password


@dataclass(frozen=True)
class TransportSecurity:
    """TLS and credential settings of one broker connection.

    ``ca_file``: PEM file of the CA that signed the broker's certificate; the broker is
    verified against it alone, and the host in the broker URL must be among the
    certificate's names. ``cert_file``/``key_file``: the client's certificate and key
    (PEM; the key may sit in the certificate file). ``username``/``password``: MQTT
    credentials. ``insecure``: TLS without verifying the broker's certificate (the
    connection is encrypted, but anyone on the path can pose as the broker).

    The password never appears in ``repr``, ``str`` or a message.
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    insecure: bool = False

    def __post_init__(self) -> None:
        if self.key_file is not None and self.cert_file is None:
            raise TransportSecurityError(
                "a client key was given without its certificate: give the certificate too "
                "(--tls-cert or GENESIS_LAB_MQTT_CERT)",
                setting="key_file",
            )
        if self.password is not None and not self.username:
            raise TransportSecurityError(
                "a password was given without a username: give the username too "
                "(--username or GENESIS_LAB_MQTT_USERNAME)",
                setting="username",
            )
        if self.username is not None and not self.username:
            raise TransportSecurityError("the MQTT username is empty", setting="username")

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        *,
        ca_file: Path | str | None = None,
        cert_file: Path | str | None = None,
        key_file: Path | str | None = None,
        username: str | None = None,
        password_file: Path | str | None = None,
        insecure: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> TransportSecurity:
        """Settings from the values given, each missing one from its environment variable
        (:data:`SECURITY_ENVIRONMENT`); the password from ``password_file``, else
        ``GENESIS_LAB_MQTT_PASSWORD_FILE``, else ``GENESIS_LAB_MQTT_PASSWORD``.

        Raises :class:`TransportSecurityError` for an unreadable or empty password file, a
        password without a username, or a key without a certificate. Files other than the
        password's are checked by :meth:`check` and :meth:`ssl_context`.
        """
        env = os.environ if environ is None else environ

        def pick(value: Path | str | None, name: str) -> str | None:
            if value is not None and str(value) != "":
                return str(value)
            return env.get(SECURITY_ENVIRONMENT[name]) or None

        password: str | None = None
        password_path = pick(password_file, "password_file")
        if password_path is not None:
            password = _read_password(Path(password_path))
        elif env.get(SECURITY_ENVIRONMENT["password"]):
            password = env[SECURITY_ENVIRONMENT["password"]]
        ca, cert, key = (
            pick(ca_file, "ca_file"),
            pick(cert_file, "cert_file"),
            pick(key_file, "key_file"),
        )
        return cls(
            ca_file=Path(ca) if ca else None,
            cert_file=Path(cert) if cert else None,
            key_file=Path(key) if key else None,
            username=pick(username, "username"),
            password=password,
            insecure=insecure,
        )

    # ---------------------------------------------------------------- questions
    @property
    def uses_tls(self) -> bool:
        """True if these settings ask for TLS (a CA, a client certificate, or insecure)."""
        return self.ca_file is not None or self.cert_file is not None or self.insecure

    @property
    def is_empty(self) -> bool:
        """True if nothing is set: a plaintext connection without credentials."""
        return not self.uses_tls and self.username is None

    def check(self, url: str) -> None:
        """Raise :class:`TransportSecurityError` unless these settings fit the broker
        ``url`` and their files can be used: ``mqtts://`` needs a CA (or ``insecure``),
        ``mqtt://`` takes no TLS setting, and every file must be readable PEM."""
        if is_tls_broker_url(url):
            if self.ca_file is None and not self.insecure:
                raise TransportSecurityError(
                    f"{url} is a TLS broker URL but no CA certificate was given to verify "
                    "the broker with: give --tls-ca FILE (or GENESIS_LAB_MQTT_CA), or "
                    "--insecure to skip verification (never in production)",
                    setting="ca_file",
                )
            self.ssl_context()
        elif self.uses_tls:
            given = [
                name
                for name, value in (
                    ("a CA (--tls-ca, GENESIS_LAB_MQTT_CA)", self.ca_file),
                    ("a client certificate (--tls-cert, GENESIS_LAB_MQTT_CERT)", self.cert_file),
                    ("--insecure", self.insecure or None),
                )
                if value is not None
            ]
            raise TransportSecurityError(
                f"TLS settings were given ({', '.join(given)}) but the broker URL {url} is "
                "plaintext: use mqtts://HOST:PORT for a TLS listener",
                setting="url",
            )

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context: TLS 1.2 or newer, the broker verified against ``ca_file``
        alone (host name included) unless ``insecure``, the client certificate loaded.

        Raises :class:`TransportSecurityError` naming a missing, unreadable or invalid file.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.sslsocket_class = _ClosingSSLSocket
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.ca_file is not None and not self.insecure:
            # Only this CA: a PROTOCOL_TLS_CLIENT context loads no default (system) CAs.
            try:
                context.load_verify_locations(cafile=str(self.ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise TransportSecurityError(
                    f"cannot use the CA certificate file {self.ca_file}: {_file_problem(exc)}",
                    setting="ca_file",
                ) from None
        if self.cert_file is not None:
            key = str(self.key_file) if self.key_file is not None else None
            if self.key_file is not None:
                _check_private(self.key_file, "client key", "key_file")
            elif _holds_private_key(self.cert_file):
                _check_private(self.cert_file, "client certificate (with its key)", "cert_file")
            try:
                context.load_cert_chain(str(self.cert_file), key, password=_no_passphrase)
            except (OSError, ssl.SSLError) as exc:
                what = f"{self.cert_file}" + (f" and key {self.key_file}" if key else "")
                raise TransportSecurityError(
                    f"cannot use the client certificate {what}: {_file_problem(exc)}",
                    setting="cert_file",
                ) from None
        return context

    def describe(self) -> str:
        """What these settings do, for a log line (never the password)."""
        parts = []
        if self.insecure:
            parts.append("TLS without certificate verification")
        elif self.ca_file is not None:
            parts.append(f"TLS, broker verified against {self.ca_file}")
        if self.cert_file is not None:
            parts.append(f"client certificate {self.cert_file}")
        if self.username is not None:
            parts.append(f"user {self.username!r}" + (" with a password" if self.password else ""))
        return ", ".join(parts) or "plaintext, anonymous"

    def __repr__(self) -> str:
        fields: list[tuple[str, Any]] = [
            ("ca_file", self.ca_file),
            ("cert_file", self.cert_file),
            ("key_file", self.key_file),
            ("username", self.username),
        ]
        shown = [f"{name}={value!r}" for name, value in fields if value is not None]
        if self.password is not None:
            shown.append("password=<hidden>")
        if self.insecure:
            shown.append("insecure=True")
        return f"TransportSecurity({', '.join(shown)})"

    __str__ = __repr__


def _holds_private_key(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return b"PRIVATE KEY" in handle.read(1_048_576)
    except OSError:
        return False


def _file_problem(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if reason == "KEY_VALUES_MISMATCH":
            return "the key does not belong to the certificate"
        if reason in ("NO_CERTIFICATE_OR_CRL_FOUND", "PEM lib", "NO_START_LINE"):
            return "not a PEM certificate (or key) file"
        return str(reason)
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)
