"""The heater as an Ophyd device: Movable (setpoint, degC) and Readable."""

from __future__ import annotations

import math
import time
from typing import Any

from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, Signal

from genesis_example_vendor._instrument import SimulatedHeaterInstrument, connect

__all__ = ["BrokenHeater", "Heater", "HeaterError"]


class HeaterError(RuntimeError):
    """The heater refused a command or cannot be reached; the message names the device."""


class _Query(Signal):
    """A reading fetched from the instrument on every get()."""

    def __init__(self, *args: Any, query: str, units: str, **kwargs: Any) -> None:
        super().__init__(*args, value=0.0, **kwargs)
        self.query = query
        self.units = units

    def get(self, **kwargs: Any) -> float:
        value = float(self.parent.ask(self.query))
        self._metadata["timestamp"] = time.time()
        self._readback = value
        return value

    def describe(self) -> dict[str, dict[str, Any]]:
        return {
            self.name: {
                "source": f"heater:{self.query}",
                "dtype": "number",
                "shape": [],
                "units": self.units,
            }
        }


class Heater(Device):
    """A bench heater. ``set(T)`` sends the setpoint (degC) and returns a Status that
    finishes when the heater reports it reached, or fails after ``timeout_s``."""

    temperature = Cpt(_Query, query="TEMP?", units="degC", kind="hinted")
    setpoint = Cpt(_Query, query="SETP?", units="degC", kind="normal")

    def __init__(self, *, name: str, address: str, timeout_s: float, **kwargs: Any) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._instrument: SimulatedHeaterInstrument | None = None
        super().__init__(name=name, **kwargs)
        try:
            self._instrument = connect(address)
        except ConnectionError as exc:
            raise HeaterError(f"{name}: cannot reach the heater at {address}: {exc}") from exc
        low, high = self.ask("LIM?").split(",")
        self._limits = (float(low), float(high))

    @property
    def limits(self) -> tuple[float, float]:
        return self._limits

    def ask(self, command: str) -> str:
        """Send a command; raise HeaterError naming the device for any failure."""
        if self._instrument is None:
            raise HeaterError(f"{self.name}: not connected to {self.address}")
        try:
            reply = self._instrument.handle(command)
        except ConnectionError as exc:
            raise HeaterError(f"{self.name}: lost the heater at {self.address}: {exc}") from exc
        if reply.startswith("ERR"):
            raise HeaterError(f"{self.name}: the heater refused {command!r}: {reply}")
        return reply

    def close(self) -> None:
        """Let go of the instrument (the real driver closes its serial port here)."""
        self._instrument = None

    def set(self, value: Any, **kwargs: Any) -> DeviceStatus:
        low, high = self.limits
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{self.name}: setpoint must be a number of degC, got {value!r}")
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{self.name}: {value} degC is outside [{low}, {high}] degC")
        status = DeviceStatus(self, timeout=self.timeout_s)
        try:
            reply = self.ask(f"SETP {float(value)}")
        except HeaterError as exc:
            status.set_exception(exc)
            return status
        if reply == "DONE":
            status.set_finished()
        return status  # "RAMPING" and never reached: the timeout fails it


class BrokenHeater(Heater):
    """A heater whose read() has a key its describe() does not declare (a driver bug)."""

    def read(self) -> dict[str, dict[str, Any]]:
        reading: dict[str, dict[str, Any]] = dict(super().read())
        reading[f"{self.name}_power"] = {"value": 42.0, "timestamp": time.time()}
        return reading
