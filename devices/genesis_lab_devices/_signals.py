"""Ophyd signals of SCPI instruments, with units and limits in ``describe()``.

- :class:`UnitSignal`: a soft signal (set by the driver) that states its units.
- :class:`ScpiReading`: reads its value with a SCPI query each time it is read.
- :class:`ScpiSetting`: a :class:`ScpiReading` that is also ``Movable``: ``set(v)`` checks
  ``v`` against the limits the instrument reports (``QUERY MIN`` / ``QUERY MAX``), writes
  ``COMMAND v``, checks ``SYST:ERR?`` and returns a finished Status (or a failed one).

The session is the root device's ``session`` attribute (a :class:`~devices._visa.VisaSession`).
``describe()`` never talks to the instrument except to learn the limits once.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from typing import Any

from ophyd import Signal
from ophyd.status import Status
from ophyd.utils.errors import LimitError

from genesis_lab_devices._poller import fail_status, finish_status
from genesis_lab_devices._visa import VisaSession

__all__ = ["ScpiReading", "ScpiSetting", "UnitSignal", "check_number", "limits_key"]


def limits_key(limits: tuple[float, float] | None) -> dict[str, Any]:
    """The event-model ``limits`` entry of a data key for control limits ``(low, high)``."""
    if limits is None:
        return {}
    return {"limits": {"control": {"low": limits[0], "high": limits[1]}}}


def check_number(name: str, value: Any, limits: tuple[float, float] | None, units: str) -> float:
    """``value`` as a float; TypeError for a non-number, ValueError (``LimitError``) for a
    non-finite value or one outside ``limits``. Raised before anything is sent."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: setpoint must be a number of {units}, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise LimitError(f"{name}: setpoint must be finite, got {value!r}; nothing was sent")
    if limits is not None and not limits[0] <= number <= limits[1]:
        raise LimitError(
            f"{name}: {number:g} {units} is outside the limits [{limits[0]:g}, "
            f"{limits[1]:g}] {units}; nothing was sent"
        )
    return number


def _session_of(signal: Signal) -> VisaSession:
    session = getattr(signal.root, "session", None)
    if not isinstance(session, VisaSession):
        raise RuntimeError(f"{signal.name}: its device has no VISA session")
    return session


class UnitSignal(Signal):
    """A soft signal whose ``describe()`` states its units (and dtype/shape if given)."""

    def __init__(
        self,
        *args: Any,
        units: str = "",
        dtype: str | None = None,
        shape: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.units = units
        self._dtype = dtype
        self._shape = shape

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        entry = description[self.name]
        if self.units:
            entry["units"] = self.units
        if self._dtype is not None:
            entry["dtype"] = self._dtype
        if self._shape is not None:
            entry["shape"] = list(self._shape)
        return description


class ScpiReading(Signal):
    """A value read from the instrument with ``query`` whenever the signal is read."""

    def __init__(
        self,
        *args: Any,
        query: str,
        units: str = "",
        parse: Callable[[str], Any] = float,
        dtype: str = "number",
        limits_query: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.query = query
        self.units = units
        self._parse = parse
        self._dtype = dtype
        self._limits_query = limits_query
        self._limits: tuple[float, float] | None = None

    @property
    def session(self) -> VisaSession:
        return _session_of(self)

    def get(self, **kwargs: Any) -> Any:
        value = self._parse(self.session.query(self.query))
        self._readback = value
        self._metadata["timestamp"] = time.time()
        return value

    @property
    def limits(self) -> tuple[float, float]:
        """The limits the instrument reports (``LIMITS_QUERY MIN``/``MAX``); (0, 0) if none."""
        if self._limits_query is None:
            return (0.0, 0.0)
        if self._limits is None:
            low = float(self.session.query(f"{self._limits_query} MIN"))
            high = float(self.session.query(f"{self._limits_query} MAX"))
            self._limits = (low, high)
        return self._limits

    def describe(self) -> dict[str, dict[str, Any]]:
        entry: dict[str, Any] = {
            "source": f"SCPI:{self.session.address}:{self.query}",
            "dtype": self._dtype,
            "shape": [],
        }
        if self.units:
            entry["units"] = self.units
        if self._limits_query is not None:
            entry.update(limits_key(self.limits))
        return {self.name: entry}


class ScpiSetting(ScpiReading):
    """A setting of the instrument: read with ``query``, written with ``command VALUE``."""

    def __init__(self, *args: Any, command: str, **kwargs: Any) -> None:
        kwargs.setdefault("limits_query", kwargs.get("query"))
        super().__init__(*args, **kwargs)
        self.command = command

    def put(self, value: Any, **kwargs: Any) -> None:
        limits = self.limits if self._limits_query is not None else None
        number = check_number(self.name, value, limits, self.units)
        self.session.write_checked(f"{self.command} {number:.10g}")
        self._readback = number
        self._metadata["timestamp"] = time.time()

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Write ``value`` now; the Status is finished, or failed with the reason."""
        status = Status(self)
        try:
            self.put(value)
        except Exception as exc:
            fail_status(status, exc)
            return status
        finish_status(status)
        return status
