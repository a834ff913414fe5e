"""A simulated syringe pump speaking SCPI over TCP: volume and rate; it runs out and stalls.

The pump's position is the volume dispensed (mL, 0 up to the syringe's ``capacity_mL``;
moving back withdraws into the syringe). The syringe holds ``loaded_mL``: a target beyond
that is refused (``-221,"Settings conflict; syringe empty: ..."``) before the plunger moves.
The plunger moves at the rate (mL/min, simulated time). Fault: ``stall_rate`` /
``stall_at`` (move numbers from 1) stall the plunger halfway; ``STAT?`` then says
``STALLED`` until the next move. With ``refuse_rate`` / ``refuse_at`` a dispense is refused
with ``-240,"Hardware error; plunger motor driver fault"``.

Commands: ``SOUR:VOL <mL>``, ``SOUR:VOL? [MIN|MAX]``, ``SOUR:RATE <mL/min>``,
``SOUR:RATE? [MIN|MAX]``, ``MEAS:VOL?``, ``MEAS:REM?`` (mL left), ``STAT?``
(``IDLE``/``MOVING``/``STALLED``), ``ABOR``. Driver: ``genesis_lab_devices.syringe_pump``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
from pydantic import Field

from genesis_lab_simulators._options import RunningSimulator, SimulatorOptions
from genesis_lab_simulators._scpi import (
    DATA_OUT_OF_RANGE,
    SETTINGS_CONFLICT,
    CommandError,
    ScpiInstrument,
    number_arg,
)
from genesis_lab_simulators._scpi_limits import limit_query

__all__ = ["RATE_LIMITS_ML_PER_MIN", "PumpInstrument", "PumpSimulatorOptions", "start_pump"]

RATE_LIMITS_ML_PER_MIN = (0.01, 60.0)


class PumpInstrument(ScpiInstrument):
    """The syringe pump (see the module docstring)."""

    idn = "genesis-lab,SP-10 syringe pump (simulated),SN0002,1.0"
    refusals = MappingProxyType({"SOUR:VOL": "plunger motor driver fault"})

    def __init__(
        self,
        *,
        capacity_mL: float = 10.0,
        loaded_mL: float = 10.0,
        rate_mL_per_min: float = 6.0,
        stall_rate: float = 0.0,
        stall_at: Sequence[int] = (),
        time_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(time_scale=time_scale)
        self.capacity_mL = capacity_mL
        self.loaded_mL = min(loaded_mL, capacity_mL)
        self.rate = rate_mL_per_min
        self.stall_rate = stall_rate
        self.stall_at = tuple(stall_at)
        self._rng = np.random.default_rng(seed)
        self.moves = 0
        self._from = 0.0
        self._to = 0.0
        self._t0 = 0.0
        self._stall_at_mL: float | None = None
        self.register("SOUR:VOL", self._set_volume)
        self.register("SOUR:VOL?", lambda a: limit_query(a, self._to, (0.0, self.capacity_mL)))
        self.register("SOUR:RATE", self._set_rate)
        self.register("SOUR:RATE?", lambda a: limit_query(a, self.rate, RATE_LIMITS_ML_PER_MIN))
        self.register("MEAS:VOL?", lambda a: f"{self.dispensed():.6f}")
        self.register("MEAS:REM?", lambda a: f"{self.loaded_mL - self.dispensed():.6f}")
        self.register("STAT?", lambda a: self.state())
        self.register("ABOR", lambda a: self._abort())

    def dispensed(self) -> float:
        """Volume dispensed now (mL)."""
        with self.lock:
            step = self.rate / 60.0 * (self.now() - self._t0)
            end = self._to if self._stall_at_mL is None else self._stall_at_mL
            if end >= self._from:
                return min(end, self._from + step)
            return max(end, self._from - step)

    def state(self) -> str:
        with self.lock:
            position = self.dispensed()
            if self._stall_at_mL is not None and position == self._stall_at_mL:
                return "STALLED"
            return "IDLE" if position == self._to else "MOVING"

    def _anchor(self) -> None:
        self._from = self.dispensed()
        self._t0 = self.now()
        self._stall_at_mL = None

    def _set_volume(self, args: Sequence[str]) -> None:
        target = number_arg(args, name="volume")
        if not 0.0 <= target <= self.capacity_mL:
            raise CommandError(
                DATA_OUT_OF_RANGE, f"Data out of range; {target} not in [0, {self.capacity_mL}] mL"
            )
        if target > self.loaded_mL:
            left = self.loaded_mL - self.dispensed()
            raise CommandError(
                SETTINGS_CONFLICT,
                f"Settings conflict; syringe empty: {left:.3f} mL left, "
                f"{target - self.dispensed():.3f} mL more asked",
            )
        self.moves += 1
        self._anchor()
        self._to = target
        if self.moves in self.stall_at or (
            self.stall_rate > 0 and self._rng.random() < self.stall_rate
        ):
            self._stall_at_mL = (self._from + target) / 2.0

    def _set_rate(self, args: Sequence[str]) -> None:
        value = number_arg(args, name="rate")
        low, high = RATE_LIMITS_ML_PER_MIN
        if not low <= value <= high:
            raise CommandError(DATA_OUT_OF_RANGE, f"Data out of range; {value} mL/min")
        stall = self._stall_at_mL
        self._anchor()
        self._stall_at_mL = stall
        self.rate = value

    def _abort(self) -> None:
        self._anchor()
        self._to = self._from


class PumpSimulatorOptions(SimulatorOptions):
    """Options of the simulated syringe pump."""

    capacity_mL: float = Field(default=10.0, gt=0.0, description="Syringe capacity (mL).")
    loaded_mL: float = Field(default=10.0, ge=0.0, description="Liquid in the syringe (mL).")
    rate_mL_per_min: float = Field(default=6.0, gt=0.0, description="Initial rate (mL/min).")
    stall_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability per move that the plunger stalls."
    )
    stall_at: list[int] = Field(
        default_factory=list, description="Moves (from 1) at which the plunger stalls."
    )


def start_pump(options: PumpSimulatorOptions | None = None) -> RunningSimulator[PumpInstrument]:
    """Serve a simulated syringe pump on a free port of 127.0.0.1."""
    o = options or PumpSimulatorOptions()
    instrument = PumpInstrument(
        capacity_mL=o.capacity_mL,
        loaded_mL=o.loaded_mL,
        rate_mL_per_min=o.rate_mL_per_min,
        stall_rate=o.stall_rate,
        stall_at=o.stall_at,
        time_scale=o.time_scale,
        seed=o.seed,
    )
    return RunningSimulator(instrument, o, name="syringe-pump")
