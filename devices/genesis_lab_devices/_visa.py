"""A pyvisa session to one SCPI instrument: timeouts, one reconnect, errors naming the address.

:class:`VisaSession` opens ``address`` (``TCPIP::HOST::PORT::SOCKET`` and any other VISA
resource) through the pure-Python backend (``pyvisa.ResourceManager("@py")``, pyvisa-py)
with ``"\\n"`` read and write termination. Every call has a timeout (``timeout_s``); a
call that fails on the transport (timeout, refused, dropped link) closes the connection,
reconnects and tries again up to ``retries`` times, then raises
:class:`~devices._errors.InstrumentTimeoutError` or
:class:`~devices._errors.InstrumentConnectionError` naming the address and the command.
After a timeout the connection is always renewed, so a late reply can never be read as the
answer to the next query. A failed SCPI query sends no reply:
:meth:`VisaSession.query_checked` then asks the error queue why, and raises
:class:`~devices._errors.InstrumentRefusedError` with the instrument's reason instead of
the timeout. Calls are serialised by a lock (a poll thread and the RunEngine may share a
session).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from genesis_lab_devices._errors import (
    InstrumentConnectionError,
    InstrumentError,
    InstrumentRefusedError,
    InstrumentTimeoutError,
)

__all__ = ["VisaSession"]

_TRANSPORT_ERRORS = (VisaIOError, OSError)


class VisaSession:
    """One instrument's connection; ``device`` names who uses it in error messages."""

    def __init__(
        self, address: str, *, timeout_s: float = 1.0, retries: int = 1, device: str = ""
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 s, got {timeout_s}")
        self.address = address
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.device = device or address
        self._lock = threading.RLock()
        self._rm: Any = None
        self._resource: Any = None
        self.reconnects = 0
        self._opened_once = False

    # ---------------------------------------------------------------- life cycle
    def open(self) -> str:
        """Connect and return the instrument's ``*IDN?``; raise naming the address if it fails."""
        return self.query("*IDN?")

    def close(self) -> None:
        """Close the connection and the resource manager (safe to call twice)."""
        with self._lock:
            self._drop()
            if self._rm is not None:
                with contextlib.suppress(Exception):
                    self._rm.close()
                self._rm = None

    def _ensure(self) -> Any:
        if self._resource is None:
            if self._rm is None:
                self._rm = pyvisa.ResourceManager("@py")
            try:
                self._resource = self._rm.open_resource(
                    self.address,
                    read_termination="\n",
                    write_termination="\n",
                    timeout=int(self.timeout_s * 1000),
                    open_timeout=int(self.timeout_s * 1000),
                )
            except _TRANSPORT_ERRORS:
                raise
            except Exception as exc:  # a malformed resource name, an unknown interface
                raise InstrumentConnectionError(
                    f"{self.device}: cannot open VISA resource {self.address!r}: {exc}",
                    device=self.device,
                    address=self.address,
                ) from exc
            if self._opened_once:
                self.reconnects += 1
            self._opened_once = True
        return self._resource

    def _drop(self) -> None:
        if self._resource is not None:
            with contextlib.suppress(Exception):
                self._resource.close()
            self._resource = None

    # ------------------------------------------------------------------ calls
    def query(self, command: str) -> str:
        """Send a query and return its reply line (stripped)."""
        return str(self._call(command, lambda r: r.query(command))).strip()

    def query_checked(self, command: str) -> str:
        """A query; if it gets no answer, ``SYST:ERR?`` says whether the instrument refused
        it (:class:`InstrumentRefusedError`) or just did not answer (the timeout)."""
        try:
            return self.query(command)
        except InstrumentTimeoutError as timeout:
            try:
                reply = self.query("SYST:ERR?")
            except InstrumentError:
                raise timeout from None
            self._raise_for_error(command, reply.strip(), cause=timeout)
            raise

    def write(self, command: str) -> None:
        """Send a command that has no reply."""
        self._call(command, lambda r: r.write(command))

    def write_checked(self, command: str) -> None:
        """Send a command, then ``SYST:ERR?``; raise :class:`InstrumentRefusedError` if the
        instrument refused it. Write and check are retried together on a transport error."""

        def both(resource: Any) -> str:
            resource.write(command)
            return str(resource.query("SYST:ERR?"))

        self._raise_for_error(command, str(self._call(command, both)).strip())

    def _raise_for_error(
        self, command: str, reply: str, cause: BaseException | None = None
    ) -> None:
        """Raise :class:`InstrumentRefusedError` if the error-queue ``reply`` (to
        ``SYST:ERR?`` after ``command``) holds an error; return if it says ``0``."""
        code_text, _, message = reply.partition(",")
        try:
            code = int(code_text)
        except ValueError:
            raise InstrumentConnectionError(
                f"{self.device}: garbled error-queue reply {reply!r} after {command!r} "
                f"from {self.address}",
                device=self.device,
                address=self.address,
            ) from None
        if code != 0:
            text = message.strip().strip('"')
            raise InstrumentRefusedError(
                f"{self.device}: the instrument at {self.address} refused {command!r}: "
                f"{code} {text}",
                device=self.device,
                address=self.address,
                code=code,
                text=text,
            ) from cause

    def _call(self, command: str, action: Any) -> Any:
        last: BaseException | None = None
        with self._lock:
            for _attempt in range(self.retries + 1):
                try:
                    return action(self._ensure())
                except _TRANSPORT_ERRORS as exc:
                    last = exc
                    self._drop()  # a fresh connection: no late reply can be misread
        if isinstance(last, VisaIOError) and last.error_code == constants.StatusCode.error_timeout:
            raise InstrumentTimeoutError(
                f"{self.device}: no answer to {command!r} from {self.address} within "
                f"{self.timeout_s:g} s ({self.retries + 1} tries); check the instrument "
                "is on and the address right",
                device=self.device,
                address=self.address,
            ) from last
        raise InstrumentConnectionError(
            f"{self.device}: cannot reach the instrument at {self.address} ({command!r}, "
            f"{self.retries + 1} tries): {last}",
            device=self.device,
            address=self.address,
        ) from last
