"""The base of every reference driver's Ophyd device: a session, a poller, stop and close."""

from __future__ import annotations

import logging
from typing import Any

from ophyd import Device

from genesis_lab_devices._poller import StatusPoller
from genesis_lab_devices._visa import VisaSession

__all__ = ["ScpiDevice"]

log = logging.getLogger(__name__)


class ScpiDevice(Device):
    """An Ophyd device talking to one SCPI instrument through ``session``.

    ``stop(success=False)`` (an e-stop, the end of a failed run) fails the move or
    acquisition in flight; ``stop(success=True)`` (the RunEngine pausing) finishes it
    instead, so the run goes on from its last checkpoint on resume (docs/driver-contract.md).
    Either way it sends ``abort_command`` if set (checked with ``SYST:ERR?``), best effort:
    it never raises (Ophyd calls it when a Status fails); if the instrument cannot be
    reached it logs a warning naming the address. ``close()`` stops polling and closes the
    session.
    """

    abort_command: str | None = "ABOR"

    def __init__(self, *, name: str, session: VisaSession, **kwargs: Any) -> None:
        self.session = session
        super().__init__(name=name, **kwargs)
        self._poller = StatusPoller(name)
        self.idn = ""

    def connect(self) -> None:
        """Reach the instrument (``*IDN?``); raises naming the address."""
        self.idn = self.session.open()

    def stop(self, *, success: bool = False) -> None:
        """Halt the instrument (``abort_command``) and end what is in flight: failed, or
        finished with ``success`` (a pause); never raises.

        A stop that cannot reach the instrument (gone, refusing) can do no more than say
        so: a warning naming the address, and the move in flight is ended all the same.
        """
        self._poller.cancel(RuntimeError(f"{self.name}: stopped"), finish=success)
        if self.abort_command is not None:
            try:
                self.session.write_checked(self.abort_command)
            except Exception as exc:
                log.warning(
                    "%s: could not halt the instrument at %s (%s): %s",
                    self.name,
                    self.session.address,
                    self.abort_command,
                    exc,
                )
        super().stop(success=success)

    def close(self) -> None:
        """Stop polling and close the connection (call once, when the station closes)."""
        self._poller.close(RuntimeError(f"{self.name}: closed"))
        self.session.close()
