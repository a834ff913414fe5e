"""The simulated tube furnace: a SCPI temperature controller with an in-situ film probe.

Commands (short forms; ``<v>`` a number):

=========================  ==========================================================
``SOUR:TEMP <v>``           setpoint (degC); ``-222`` outside ``TEMPERATURE_LIMITS_C``
``SOUR:TEMP? [MIN|MAX]``    the setpoint, or the limits the instrument accepts
``SOUR:TEMP:RAMP <v>``      ramp rate (K/min); ``-222`` outside ``RAMP_LIMITS_K_PER_MIN``
``SOUR:TEMP:RAMP? [MIN|MAX]`` the ramp rate, or its limits
``MEAS:TEMP?``              the thermocouple's temperature (degC, with noise and drift)
``MEAS:RES?``               the film's sheet resistance (ohm/sq, in-situ four-point probe)
``ABOR``                    hold the furnace where it is now (setpoint := temperature)
=========================  ==========================================================

The furnace ramps linearly towards the setpoint at the ramp rate (in simulated time), and
the controller regulates on its thermocouple. Faults (options of the simulator):

- ``stuck_rate`` / ``stuck_at``: at a setpoint change (with a probability, or at the given
  change numbers from 1), the heater fails: the furnace stays where it is and the
  setpoint is never reached (the driver's status times out);
- ``drift_K_per_h``: the thermocouple drifts, so the furnace settles (as the controller
  sees it) away from the true temperature, and the film tells the difference;
- ``refuse_rate`` / ``refuse_at`` (every simulator): a setpoint change is refused with
  ``-240,"Hardware error; heater interlock open"``, a film measurement with ``-240,
  "Hardware error; film probe contact open"`` (and, being a query, gets no reply).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from genesis_lab_simulators._scpi import (
    DATA_OUT_OF_RANGE,
    CommandError,
    ScpiInstrument,
    number_arg,
)
from genesis_lab_simulators._scpi_limits import limit_query
from genesis_lab_simulators.tube_furnace._model import sheet_resistance

__all__ = [
    "AMBIENT_C",
    "RAMP_LIMITS_K_PER_MIN",
    "TEMPERATURE_LIMITS_C",
    "FurnaceInstrument",
]

TEMPERATURE_LIMITS_C = (20.0, 1200.0)
RAMP_LIMITS_K_PER_MIN = (0.5, 100.0)
AMBIENT_C = 25.0
DEFAULT_RAMP_K_PER_MIN = 10.0


class FurnaceInstrument(ScpiInstrument):
    """A tube furnace's temperature controller and film probe (see the module docstring)."""

    idn = "genesis-lab,TF-1200 tube furnace (simulated),SN0001,1.0"
    refusals = MappingProxyType(
        {"SOUR:TEMP": "heater interlock open", "MEAS:RES?": "film probe contact open"}
    )

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        noise_K: float = 0.05,
        resistance_noise_rel: float = 0.01,
        drift_K_per_h: float = 0.0,
        stuck_rate: float = 0.0,
        stuck_at: Sequence[int] = (),
        seed: int = 0,
    ) -> None:
        super().__init__(time_scale=time_scale)
        self.noise_K = noise_K
        self.resistance_noise_rel = resistance_noise_rel
        self.drift_K_per_h = drift_K_per_h
        self.stuck_rate = stuck_rate
        self.stuck_at = tuple(stuck_at)
        self._rng = np.random.default_rng(seed)
        self.setpoint_changes = 0
        self._start_state()
        self.register("SOUR:TEMP", self._set_temperature)
        self.register("SOUR:TEMP?", self._query_setpoint)
        self.register("SOUR:TEMP:RAMP", self._set_ramp)
        self.register("SOUR:TEMP:RAMP?", self._query_ramp)
        self.register("MEAS:TEMP?", lambda args: f"{self.measured_temperature():.4f}")
        self.register("MEAS:RES?", lambda args: f"{self.measured_resistance():.6g}")
        self.register("ABOR", lambda args: self._hold())

    def _start_state(self) -> None:
        self.setpoint = AMBIENT_C
        self.ramp = DEFAULT_RAMP_K_PER_MIN
        self.heater_failed = False
        self._move_t0 = self.now()
        self._T0 = AMBIENT_C  # true temperature at _move_t0

    def reset(self) -> None:
        super().reset()
        self._start_state()

    # ---------------------------------------------------------------- physics
    def drift_K(self) -> float:
        """Thermocouple reading minus true temperature now (K)."""
        return self.drift_K_per_h * self.now() / 3600.0

    def true_temperature(self) -> float:
        """The furnace's true temperature now (degC)."""
        with self.lock:
            if self.heater_failed:
                return self._T0
            # The controller regulates on the (drifting) thermocouple.
            target = self.setpoint - self.drift_K()
            step = self.ramp / 60.0 * (self.now() - self._move_t0)
            if target >= self._T0:
                return min(target, self._T0 + step)
            return max(target, self._T0 - step)

    def measured_temperature(self) -> float:
        """What the thermocouple reads (degC)."""
        noise = float(self._rng.normal(0.0, self.noise_K)) if self.noise_K > 0 else 0.0
        return self.true_temperature() + self.drift_K() + noise

    def measured_resistance(self) -> float:
        """The film's sheet resistance as the probe reads it (ohm/sq)."""
        clean = sheet_resistance(self.true_temperature(), self.ramp)
        if self.resistance_noise_rel <= 0:
            return clean
        return clean * float(np.exp(self._rng.normal(0.0, self.resistance_noise_rel)))

    def _anchor(self) -> None:
        """Restart the ramp from where the furnace is now (before a setting changes)."""
        now_T = self.true_temperature()
        self._move_t0 = self.now()
        self._T0 = now_T

    # ---------------------------------------------------------------- commands
    def _set_temperature(self, args: Sequence[str]) -> None:
        value = number_arg(args, name="temperature")
        low, high = TEMPERATURE_LIMITS_C
        if not low <= value <= high:
            raise CommandError(
                DATA_OUT_OF_RANGE, f"Data out of range; {value} not in [{low}, {high}] degC"
            )
        self.setpoint_changes += 1
        self._anchor()
        self.setpoint = value
        self.heater_failed = False  # a failed heater stalls one move, not every one after
        if self.setpoint_changes in self.stuck_at or (
            self.stuck_rate > 0 and self._rng.random() < self.stuck_rate
        ):
            self.heater_failed = True

    def _set_ramp(self, args: Sequence[str]) -> None:
        value = number_arg(args, name="ramp rate")
        low, high = RAMP_LIMITS_K_PER_MIN
        if not low <= value <= high:
            raise CommandError(
                DATA_OUT_OF_RANGE, f"Data out of range; {value} not in [{low}, {high}] K/min"
            )
        self._anchor()
        self.ramp = value

    def _hold(self) -> None:
        self._anchor()
        self.setpoint = self._T0 + self.drift_K()

    def _query_setpoint(self, args: Sequence[str]) -> str:
        return limit_query(args, self.setpoint, TEMPERATURE_LIMITS_C)

    def _query_ramp(self, args: Sequence[str]) -> str:
        return limit_query(args, self.ramp, RAMP_LIMITS_K_PER_MIN)
