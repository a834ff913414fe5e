"""Ophyd devices of a SCPI tube furnace: the temperature controller and its film probe.

:class:`ScpiFurnace` is ``Movable`` (``set(T)`` returns a Status that finishes when the
measured temperature has stayed within ``tolerance_K`` of ``T`` for ``settle_reads``
reads in a row, and fails after ``move_timeout_s``), ``Readable`` (``furnace_temperature``
hinted, ``furnace_setpoint``; degC, with the instrument's limits) and ``Stoppable``
(``stop()`` holds the furnace where it is). Its ``ramp_rate`` component (K/min,
configuration) is itself ``Movable``, so a station may offer it as an actuator.

:class:`FilmProbe` is ``Triggerable`` and ``Readable``: ``trigger()`` measures the film's
sheet resistance (``probe_sheet_resistance``, ohm/sq) and the temperature it was measured
at, in a poll thread with a timeout.
"""

from __future__ import annotations

import math
from typing import Any

from ophyd import Component as Cpt
from ophyd import DeviceStatus, Kind

from genesis_lab_devices._device import ScpiDevice
from genesis_lab_devices._errors import InstrumentTimeoutError
from genesis_lab_devices._poller import fail_status
from genesis_lab_devices._signals import (
    ScpiReading,
    ScpiSetting,
    UnitSignal,
    check_number,
    limits_key,
)
from genesis_lab_devices._visa import VisaSession

__all__ = ["FilmProbe", "ScpiFurnace"]


class ScpiFurnace(ScpiDevice):
    """A tube furnace's SCPI temperature controller (see the module docstring)."""

    temperature = Cpt(ScpiReading, query="MEAS:TEMP?", units="degC", kind=Kind.hinted)
    setpoint = Cpt(
        ScpiReading, query="SOUR:TEMP?", units="degC", limits_query="SOUR:TEMP?", kind="normal"
    )
    ramp_rate = Cpt(
        ScpiSetting,
        query="SOUR:TEMP:RAMP?",
        command="SOUR:TEMP:RAMP",
        units="K/min",
        kind="config",
    )
    tolerance = Cpt(UnitSignal, value=1.0, units="K", kind="config")

    egu = "degC"

    def __init__(
        self,
        *,
        name: str,
        session: VisaSession,
        tolerance_K: float = 1.0,
        settle_reads: int = 3,
        poll_s: float = 0.02,
        move_timeout_s: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, session=session, **kwargs)
        self.tolerance.put(float(tolerance_K))
        self.settle_reads = int(settle_reads)
        self.poll_s = float(poll_s)
        self.move_timeout_s = float(move_timeout_s)

    def connect(self) -> None:
        """Reach the instrument (``*IDN?``) and learn its limits; raises naming the address."""
        super().connect()
        _ = self.setpoint.limits, self.ramp_rate.limits

    @property
    def limits(self) -> tuple[float, float]:
        """Setpoint limits (degC) the instrument reports."""
        return self.setpoint.limits

    @property
    def position(self) -> float:
        """The measured temperature now (degC)."""
        return float(self.temperature.get())

    def set(self, value: Any, **kwargs: Any) -> DeviceStatus:
        """Go to ``value`` degC; the Status finishes once settled (see the class docstring).

        A non-number, a non-finite value or one outside ``limits`` raises before anything
        is sent; a refusal or a transport error fails the Status naming the address.
        """
        target = check_number(self.name, value, self.limits, self.egu)
        status = DeviceStatus(self)
        self._poller.cancel(RuntimeError(f"{self.name}: superseded by a move to {target:g}"))
        try:
            self.session.write_checked(f"SOUR:TEMP {target:.10g}")
        except Exception as exc:
            fail_status(status, exc)
            return status
        tolerance = float(self.tolerance.get())
        in_band = 0
        last = [math.nan]

        def settled() -> bool:
            nonlocal in_band
            last[0] = float(self.session.query("MEAS:TEMP?"))
            in_band = in_band + 1 if abs(last[0] - target) <= tolerance else 0
            return in_band >= self.settle_reads

        def timed_out() -> InstrumentTimeoutError:
            return InstrumentTimeoutError(
                f"{self.name}: did not settle at {target:g} degC within "
                f"{self.move_timeout_s:g} s (last read {last[0]:.2f} degC) at "
                f"{self.session.address}; heater failure or ramp too slow?",
                device=self.name,
                address=self.session.address,
            )

        self._poller.watch(
            status, settled, timeout_s=self.move_timeout_s, poll_s=self.poll_s, on_timeout=timed_out
        )
        return status

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        description[self.temperature.name].update(limits_key(self.limits))
        return description


class FilmProbe(ScpiDevice):
    """The furnace's in-situ four-point probe (see the module docstring)."""

    abort_command = None  # ABOR would hold the furnace it shares the instrument with

    sheet_resistance = Cpt(UnitSignal, value=math.nan, units="ohm/sq", kind=Kind.hinted)
    temperature = Cpt(UnitSignal, value=math.nan, units="degC", kind="normal")

    def __init__(
        self, *, name: str, session: VisaSession, measure_timeout_s: float = 10.0, **kwargs: Any
    ) -> None:
        super().__init__(name=name, session=session, **kwargs)
        self.measure_timeout_s = float(measure_timeout_s)

    def trigger(self) -> DeviceStatus:
        """Measure the film now; the Status fails naming the address if the probe cannot."""
        status = DeviceStatus(self)

        def measure() -> bool:
            resistance = float(self.session.query_checked("MEAS:RES?"))
            temperature = float(self.session.query("MEAS:TEMP?"))
            self.sheet_resistance.put(resistance)
            self.temperature.put(temperature)
            return True

        def timed_out() -> InstrumentTimeoutError:
            return InstrumentTimeoutError(
                f"{self.name}: no measurement within {self.measure_timeout_s:g} s from "
                f"{self.session.address}",
                device=self.name,
                address=self.session.address,
            )

        self._poller.watch(
            status, measure, timeout_s=self.measure_timeout_s, poll_s=0.01, on_timeout=timed_out
        )
        return status

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        for entry in description.values():
            entry["source"] = f"SCPI:{self.session.address}:MEAS"
        return description
