"""What every reference driver shares: connection settings, connect-or-close, and the
simulated faults it offers the conformance kit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from genesis_lab_devices._visa import VisaSession

__all__ = ["FAULT_TIMEOUTS", "ConnectionSettings", "Simulator", "build_connected", "fault"]

DeviceT = TypeVar("DeviceT")

#: A driver's ``simulator``: starts a simulated instrument, yields settings that reach it.
Simulator = Callable[[], AbstractContextManager[dict[str, Any]]]
#: Settings every simulated fault yields, so the kit's timeout and fault checks are quick (s).
FAULT_TIMEOUTS: Mapping[str, float] = {"timeout_s": 0.5}


class ConnectionSettings(BaseModel):
    """How a driver reaches its instrument (every driver's settings start with these)."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(
        description="VISA resource of the instrument, e.g. TCPIP::192.168.1.20::5025::SOCKET."
    )
    timeout_s: float = Field(default=1.0, gt=0.0, description="Timeout of one SCPI call (s).")
    retries: int = Field(
        default=1, ge=0, le=5, description="Reconnect-and-retry attempts after a transport error."
    )

    def session(self, device: str) -> VisaSession:
        """A (not yet connected) session to ``address`` for the device named ``device``."""
        return VisaSession(
            self.address, timeout_s=self.timeout_s, retries=self.retries, device=device
        )


def build_connected(
    make: Callable[[VisaSession], DeviceT], settings: ConnectionSettings, name: str
) -> DeviceT:
    """Make a device on a new session and ``connect()`` it; close it again if that fails
    (the error names the address)."""
    device: Any = make(settings.session(name))
    try:
        device.connect()
    except BaseException:
        device.close()
        raise
    return device


def fault(
    simulator: Callable[..., AbstractContextManager[dict[str, Any]]],
    settings: Mapping[str, Any],
    **options: Any,
) -> Simulator:
    """One of a driver's ``simulator_faults``: ``simulator(settings, **options)`` (the
    simulated instrument started with the fault's ``options``), yielding
    :data:`FAULT_TIMEOUTS` updated with ``settings``."""
    return lambda: simulator({**FAULT_TIMEOUTS, **settings}, **options)
