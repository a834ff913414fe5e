"""Errors of the reference drivers; each names the instrument's address.

::

    GenesisLabError
    └── InstrumentError                       an instrument failed (``device``, ``address``)
        ├── InstrumentConnectionError (ConnectionError)   unreachable, or the link dropped
        ├── InstrumentTimeoutError (TimeoutError)         no answer, or no settling, in time
        ├── InstrumentRefusedError (ValueError)           the instrument refused a command
        └── InstrumentFaultError (RuntimeError)           the instrument reports a fault
"""

from __future__ import annotations

from genesis_lab.errors import GenesisLabError

__all__ = [
    "InstrumentConnectionError",
    "InstrumentError",
    "InstrumentFaultError",
    "InstrumentRefusedError",
    "InstrumentTimeoutError",
]


class InstrumentError(GenesisLabError):
    """An instrument failed; ``device`` is the Ophyd name, ``address`` the VISA resource."""

    def __init__(self, message: str, *, device: str, address: str) -> None:
        self.device = device
        self.address = address
        super().__init__(message)


class InstrumentConnectionError(InstrumentError, ConnectionError):
    """The instrument cannot be reached, or the link dropped and did not come back."""


class InstrumentTimeoutError(InstrumentError, TimeoutError):
    """The instrument did not answer, or did not reach its setpoint, in time."""


class InstrumentRefusedError(InstrumentError, ValueError):
    """The instrument refused a command (its SCPI error queue said why: ``code``, ``text``)."""

    def __init__(self, message: str, *, device: str, address: str, code: int, text: str):
        self.code = code
        self.text = text
        super().__init__(message, device=device, address=address)


class InstrumentFaultError(InstrumentError, RuntimeError):
    """The instrument reports a fault (a stalled plunger, a blocked arm, ...)."""
