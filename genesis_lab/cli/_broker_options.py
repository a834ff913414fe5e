"""The options of every command that talks to a broker: TLS and credentials.

``run``, ``resume``, ``worker``, ``suggest``, ``pause`` and ``estop`` take the same six
options, declared once here (:func:`with_broker_options`); each missing one falls back
on its environment variable. A password is read from a file (``--password-file``) or the
environment, never from the command line, where ``ps`` would show it. With ``--broker
embedded`` the options are refused: that broker is plaintext on this machine.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from genesis_lab.cli._exits import err, fail
from genesis_lab.errors import TransportSecurityError
from genesis_lab.messaging import TransportSecurity

__all__ = [
    "NO_BROKER_OPTIONS",
    "BrokerOptions",
    "Insecure",
    "PasswordFile",
    "TlsCa",
    "TlsCert",
    "TlsKey",
    "Username",
    "with_broker_options",
]


TlsCa = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca",
        metavar="FILE",
        help="CA certificate (PEM) that signed the broker's certificate; the broker is "
        "verified against it alone (not the system's CAs), host name included. Needed for "
        "an mqtts:// broker. Default: $GENESIS_LAB_MQTT_CA.",
        show_default=False,
    ),
]
TlsCert = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        metavar="FILE",
        help="This client's certificate (PEM), for a broker that asks for one. "
        "Default: $GENESIS_LAB_MQTT_CERT.",
        show_default=False,
    ),
]
TlsKey = Annotated[
    Path | None,
    typer.Option(
        "--tls-key",
        metavar="FILE",
        help="The private key of --tls-cert (PEM, unencrypted; omit it if the certificate "
        "file holds the key). Default: $GENESIS_LAB_MQTT_KEY.",
        show_default=False,
    ),
]
Username = Annotated[
    str | None,
    typer.Option(
        "--username",
        help="MQTT username. Default: $GENESIS_LAB_MQTT_USERNAME.",
        show_default=False,
    ),
]
PasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        metavar="FILE",
        help="File whose first line is the MQTT password (there is no --password: the "
        "command line is visible to every user of the machine). Default: "
        "$GENESIS_LAB_MQTT_PASSWORD_FILE, else the password in $GENESIS_LAB_MQTT_PASSWORD.",
        show_default=False,
    ),
]
Insecure = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Speak TLS to an mqtts:// broker without verifying its certificate: encrypted, "
        "but anyone on the network path can pose as the broker, and is sent the password. "
        "For a first test only; a warning is printed on every start.",
    ),
]


@dataclass(frozen=True)
class BrokerOptions:
    """The six broker options as a command received them (None: not given)."""

    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    username: str | None = None
    password_file: Path | None = None
    insecure: bool = False

    def given(self) -> list[str]:
        """The options given on the command line, by their names."""
        return [
            name
            for name, value in (
                ("--tls-ca", self.tls_ca),
                ("--tls-cert", self.tls_cert),
                ("--tls-key", self.tls_key),
                ("--username", self.username),
                ("--password-file", self.password_file),
                ("--insecure", self.insecure or None),
            )
            if value is not None
        ]

    def resolve(self, broker: str) -> TransportSecurity | None:
        """The settings to connect to ``broker`` with: these options, each missing one from
        its environment variable. None for the embedded broker. Prints the problem and exits
        2 if the settings are unusable or do not fit the URL; warns on stderr, every time,
        when certificate verification is off."""
        if broker == "embedded":
            given = self.given()
            if given:
                fail(
                    f"{', '.join(given)}: the embedded broker is plaintext on this machine and "
                    "takes no TLS options or credentials; give --broker mqtts://HOST:PORT "
                    "(or mqtt://HOST:PORT) to use them"
                )
            return None
        return self.for_external(broker)

    def for_external(self, broker: str) -> TransportSecurity:
        """As :meth:`resolve`, for a broker URL (``mqtt://`` or ``mqtts://``) only."""
        try:
            security = TransportSecurity.load(
                ca_file=self.tls_ca,
                cert_file=self.tls_cert,
                key_file=self.tls_key,
                username=self.username,
                password_file=self.password_file,
                insecure=self.insecure,
            )
            security.check(broker)
        except TransportSecurityError as exc:
            fail(str(exc))
        except ValueError as exc:  # the URL itself
            fail(f"--broker: {exc}")
        if security.insecure:
            sent = (
                f" and would be sent the password of {escape(security.username or '')!r}"
                if security.password is not None
                else ""
            )
            err.print(
                f"[bold yellow]warning:[/] certificate verification is OFF (--insecure): the "
                f"connection to {escape(broker)} is encrypted, but anyone on the network path "
                f"can pose as the broker{sent}. Give the lab's CA with --tls-ca instead.",
                highlight=False,
                soft_wrap=True,
            )
        return security


_OPTION_TYPES: dict[str, Any] = {
    "tls_ca": TlsCa,
    "tls_cert": TlsCert,
    "tls_key": TlsKey,
    "username": Username,
    "password_file": PasswordFile,
    "insecure": Insecure,
}

NO_BROKER_OPTIONS = BrokerOptions()
"""The default of a command's ``broker_options`` (the decorator always passes them)."""

_Command = TypeVar("_Command", bound=Callable[..., Any])


def with_broker_options(command: _Command) -> _Command:
    """Give a command the six broker options (after its own), received as one
    ``broker_options: BrokerOptions`` keyword argument of the command. Typer reads the
    command's signature; this one replaces ``broker_options`` in it with the six."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "broker_options"]
    if len(own) == len(signature.parameters):
        raise TypeError(f"{command.__name__} takes no 'broker_options' parameter")
    six = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=getattr(BrokerOptions, name),
        )
        for name, annotation in _OPTION_TYPES.items()
    ]

    @functools.wraps(command)
    def with_options(*args: Any, **kwargs: Any) -> Any:
        options = BrokerOptions(**{name: kwargs.pop(name) for name in _OPTION_TYPES})
        return command(*args, broker_options=options, **kwargs)

    with_options.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, *six]
    )
    return with_options  # type: ignore[return-value]
