"""A SCPI instrument that moves on a command and reports ``STAT?`` until it is done.

:class:`ScpiMover` is the base of the syringe pump and the robot arm: ``_start_move``
writes the command (checked with ``SYST:ERR?``), then polls ``STAT?`` in a thread:
``IDLE`` finishes the Status; ``MOVING`` waits; anything else (``STALLED``, ``STUCK``)
fails it with :class:`~devices._errors.InstrumentFaultError`; no ``IDLE`` within
``move_timeout_s`` fails it with :class:`~devices._errors.InstrumentTimeoutError`. Every
error names the address. ``stop()`` sends ``ABOR`` and fails the move in flight.
"""

from __future__ import annotations

from typing import Any

from ophyd import DeviceStatus

from genesis_lab_devices._device import ScpiDevice
from genesis_lab_devices._errors import InstrumentFaultError, InstrumentTimeoutError
from genesis_lab_devices._poller import fail_status
from genesis_lab_devices._visa import VisaSession

__all__ = ["ScpiMover"]


class ScpiMover(ScpiDevice):
    """Base of a device whose moves the instrument reports through ``STAT?``."""

    def __init__(
        self,
        *,
        name: str,
        session: VisaSession,
        move_timeout_s: float = 30.0,
        poll_s: float = 0.02,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, session=session, **kwargs)
        self.move_timeout_s = float(move_timeout_s)
        self.poll_s = float(poll_s)

    @property
    def moving(self) -> bool:
        """Whether a move of this device is in flight (as far as the driver knows)."""
        return self._poller.busy

    def _start_move(self, command: str, what: str) -> DeviceStatus:
        status = DeviceStatus(self)
        try:
            self.session.write_checked(command)
        except Exception as exc:
            fail_status(status, exc)
            return status
        address = self.session.address

        def done() -> bool:
            state = self.session.query("STAT?").upper()
            if state == "IDLE":
                return True
            if state == "MOVING":
                return False
            raise InstrumentFaultError(
                f"{self.name}: {what} failed: the instrument at {address} reports {state}",
                device=self.name,
                address=address,
            )

        def timed_out() -> InstrumentTimeoutError:
            return InstrumentTimeoutError(
                f"{self.name}: {what} not finished within {self.move_timeout_s:g} s at {address}",
                device=self.name,
                address=address,
            )

        self._poller.watch(
            status, done, timeout_s=self.move_timeout_s, poll_s=self.poll_s, on_timeout=timed_out
        )
        return status
