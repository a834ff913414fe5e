"""A simulated sample-handling robot arm speaking SCPI over TCP.

The arm moves between named stations (``STATIONS``: rack, balance, spectrometer,
hotplate), one move at a time, each taking ``move_time_s`` (simulated). It can hold one
sample. Refusals (pushed on the error queue; nothing moves):

- ``MOVE`` while a move is in progress: ``-221,"Settings conflict; arm busy ..."``;
- a station it does not know: ``-224,"Illegal parameter value ..."``;
- ``MOVE`` with a sample to a station that already has one (a collision):
  ``-221,"Settings conflict; collision: STATION holds SAMPLE"``;
- ``PICK`` with a sample in hand or from an empty station, ``PLACE`` with nothing in hand.

Fault: ``stuck_rate`` / ``stuck_at`` (move numbers from 1): an axis sticks, the arm stays
where it was and ``STAT?`` says ``STUCK`` until the next move. With ``refuse_rate`` /
``refuse_at`` a move is refused with ``-240,"Hardware error; axis servo fault"``.

Commands: ``MOVE <station>``, ``POS?`` (station, or ``MOVING``), ``STAT?``
(``IDLE``/``MOVING``/``STUCK``), ``PICK``, ``PLACE``, ``HOLD?`` (sample or ``NONE``),
``OCC? <station>`` (sample or ``NONE``), ``STAT:LIST?`` (the stations), ``ABOR``.
Driver: ``genesis_lab_devices.robot_arm``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from pydantic import Field

from genesis_lab_simulators._options import RunningSimulator, SimulatorOptions
from genesis_lab_simulators._scpi import SETTINGS_CONFLICT, CommandError, ScpiInstrument

__all__ = ["STATIONS", "ArmInstrument", "ArmSimulatorOptions", "start_arm"]

STATIONS = ("rack", "balance", "spectrometer", "hotplate")
ILLEGAL_PARAMETER_VALUE = -224


class ArmInstrument(ScpiInstrument):
    """The robot arm (see the module docstring)."""

    idn = "genesis-lab,RA-4 sample robot (simulated),SN0003,1.0"
    refusals = MappingProxyType({"MOVE": "axis servo fault"})

    def __init__(
        self,
        *,
        stations: Sequence[str] = STATIONS,
        samples: Mapping[str, str] | None = None,
        move_time_s: float = 2.0,
        stuck_rate: float = 0.0,
        stuck_at: Sequence[int] = (),
        time_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(time_scale=time_scale)
        self.stations = tuple(stations)
        self.occupant: dict[str, str | None] = dict.fromkeys(self.stations)
        self.occupant.update(samples if samples is not None else {"rack": "S1"})
        self.holding: str | None = None
        self.move_time_s = move_time_s
        self.stuck_rate = stuck_rate
        self.stuck_at = tuple(stuck_at)
        self._rng = np.random.default_rng(seed)
        self.moves = 0
        self._at = self.stations[0]
        self._to = self._at
        self._t0 = 0.0
        self._stuck = False
        self.register("MOVE", self._move)
        self.register("POS?", lambda a: self.position())
        self.register("STAT?", lambda a: self.state())
        self.register("PICK", lambda a: self._pick())
        self.register("PLACE", lambda a: self._place())
        self.register("HOLD?", lambda a: self.holding or "NONE")
        self.register("OCC?", self._occupant)
        self.register("STAT:LIST?", lambda a: ",".join(self.stations))
        self.register("ABOR", lambda a: self._abort())

    def _settle(self) -> None:
        if not self._stuck and self._to != self._at and self.now() - self._t0 >= self.move_time_s:
            self._at = self._to

    def position(self) -> str:
        with self.lock:
            self._settle()
            return self._at if self._at == self._to or self._stuck else "MOVING"

    def state(self) -> str:
        with self.lock:
            self._settle()
            if self._stuck:
                return "STUCK"
            return "IDLE" if self._at == self._to else "MOVING"

    def _station(self, args: Sequence[str]) -> str:
        name = args[0].lower() if args else ""
        if name not in self.stations:
            raise CommandError(
                ILLEGAL_PARAMETER_VALUE,
                f"Illegal parameter value; no station {name!r} "
                f"(stations: {', '.join(self.stations)})",
            )
        return name

    def _move(self, args: Sequence[str]) -> None:
        station = self._station(args)
        if self.state() == "MOVING":
            raise CommandError(
                SETTINGS_CONFLICT, f"Settings conflict; arm busy moving to {self._to}"
            )
        occupant = self.occupant[station]
        if self.holding is not None and occupant is not None and station != self._at:
            raise CommandError(
                SETTINGS_CONFLICT, f"Settings conflict; collision: {station} holds {occupant}"
            )
        self.moves += 1
        self._stuck = self.moves in self.stuck_at or (
            self.stuck_rate > 0 and bool(self._rng.random() < self.stuck_rate)
        )
        self._to = self._at if self._stuck else station
        self._t0 = self.now()

    def _pick(self) -> None:
        if self.state() != "IDLE":
            raise CommandError(SETTINGS_CONFLICT, "Settings conflict; arm not at a station")
        if self.holding is not None:
            raise CommandError(
                SETTINGS_CONFLICT, f"Settings conflict; already holding {self.holding}"
            )
        sample = self.occupant[self._at]
        if sample is None:
            raise CommandError(SETTINGS_CONFLICT, f"Settings conflict; no sample at {self._at}")
        self.holding, self.occupant[self._at] = sample, None

    def _place(self) -> None:
        if self.state() != "IDLE":
            raise CommandError(SETTINGS_CONFLICT, "Settings conflict; arm not at a station")
        if self.holding is None:
            raise CommandError(SETTINGS_CONFLICT, "Settings conflict; no sample in hand")
        if self.occupant[self._at] is not None:
            raise CommandError(
                SETTINGS_CONFLICT,
                f"Settings conflict; collision: {self._at} holds {self.occupant[self._at]}",
            )
        self.occupant[self._at], self.holding = self.holding, None

    def _occupant(self, args: Sequence[str]) -> str:
        return self.occupant[self._station(args)] or "NONE"

    def _abort(self) -> None:
        self._settle()
        self._to = self._at
        self._stuck = False


class ArmSimulatorOptions(SimulatorOptions):
    """Options of the simulated robot arm."""

    move_time_s: float = Field(default=2.0, gt=0.0, description="Time of one move (s).")
    samples: dict[str, str] = Field(
        default_factory=lambda: {"rack": "S1"}, description="Sample id at each station."
    )
    stuck_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability per move that an axis sticks."
    )
    stuck_at: list[int] = Field(
        default_factory=list, description="Moves (from 1) at which an axis sticks."
    )


def start_arm(options: ArmSimulatorOptions | None = None) -> RunningSimulator[ArmInstrument]:
    """Serve a simulated robot arm on a free port of 127.0.0.1."""
    o = options or ArmSimulatorOptions()
    instrument = ArmInstrument(
        samples=o.samples,
        move_time_s=o.move_time_s,
        stuck_rate=o.stuck_rate,
        stuck_at=o.stuck_at,
        time_scale=o.time_scale,
        seed=o.seed,
    )
    return RunningSimulator(instrument, o, name="robot-arm")
