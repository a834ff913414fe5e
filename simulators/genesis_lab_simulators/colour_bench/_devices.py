"""Ophyd devices of the colour bench, with the interface a real driver would have.

- :class:`DyePump` is an Ophyd ``SoftPositioner`` (Bluesky ``Movable`` and ``Readable``):
  position in mL, limits enforced before anything moves (``ophyd.utils.LimitError``, a
  ``ValueError``), optional per-move latency (the volume then changes gradually, in steps
  of ``MOTION_TICK_S``, and ``stop()`` halts it where it is), fault injection
  (:mod:`._faults`), and a log of every command it received (``command_log``) and of every
  change of its position (``motion_log``).
- :class:`Spectrophotometer` is an Ophyd ``Device`` (``Triggerable`` and ``Readable``):
  ``trigger()`` samples the pumps' volumes (and the solvent, if the bench has a selector),
  computes the absorbances (with noise) and publishes them when its status finishes, after
  ``latency_s``; in the failure region the dyes precipitate and the status fails.
- :class:`DosingMeter` is an Ophyd ``Device`` (``Triggerable`` and ``Readable``): the
  pumps' controller totting up the dye dispensed (mL) and its price (EUR).

Latency runs on ``threading.Timer`` threads that end when the move or measurement
finishes; ``stop()`` cancels them and ``close()`` also waits for them, so no thread
outlives the device.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, Kind, Signal
from ophyd.positioner import SoftPositioner
from ophyd.status import MoveStatus
from ophyd.utils.errors import LimitError

from genesis_lab_simulators.colour_bench._cuvette import SolventSource, VolumeSource
from genesis_lab_simulators.colour_bench._faults import FaultKind, FaultPicker, PumpFaults
from genesis_lab_simulators.colour_bench._model import (
    BANDS_NM,
    REFERENCE_SOLVENT,
    VOLUME_LIMITS_ML,
    dye_cost,
    error_from_absorbances,
    measure,
    min_transmittance,
    precipitates,
    total_dye,
)

__all__ = [
    "ABSORBANCE_UNITS",
    "COLOUR_ERROR_UNITS",
    "COST_UNITS",
    "MOTION_TICK_S",
    "TRANSMITTANCE_UNITS",
    "DeviceCommand",
    "DosingMeter",
    "DyePump",
    "InjectedFaultError",
    "PrecipitationError",
    "Spectrophotometer",
]

ABSORBANCE_UNITS = "AU"
COLOUR_ERROR_UNITS = "ΔA×100"
TRANSMITTANCE_UNITS = "%"
COST_UNITS = "EUR"
#: A slow pump's volume changes in steps this far apart (s).
MOTION_TICK_S = 0.05
#: Entries a pump keeps in each of its logs (the oldest go first).
LOG_LENGTH = 100_000


@dataclass(frozen=True)
class DeviceCommand:
    """One command a device received: ``set`` (with the value asked) or ``stop``.

    ``at`` is ``time.monotonic()``; ``position`` is where the device was when it came.
    """

    at: float
    command: str
    value: Any
    position: float


class InjectedFaultError(RuntimeError):
    """A fault the simulator injected on purpose (``fault_rate``); ``device`` names who failed."""

    def __init__(self, message: str, *, device: str) -> None:
        self.device = device
        super().__init__(message)


class PrecipitationError(InjectedFaultError):
    """The dyes precipitated: the experiment lies in the failure region (not a random fault).

    ``total_dye_mL`` is what the pumps had dispensed, ``limit_mL`` the bench's
    ``precipitate_above_ml``; the same experiment fails every time.
    """

    def __init__(self, message: str, *, device: str, total_dye_mL: float, limit_mL: float):
        self.total_dye_mL = total_dye_mL
        self.limit_mL = limit_mL
        super().__init__(message, device=device)


class _Timers:
    """The latency timers a device has running; cancelled by ``stop``, joined by ``close``.

    Each timer runs its action at most once: either it fires, or ``cancel`` claims it first
    and runs its ``on_cancel`` instead (to fail the status it would have finished).
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._live: dict[threading.Timer, Callable[[], None] | None] = {}
        self._started: list[threading.Timer] = []

    def start(
        self,
        delay_s: float,
        action: Callable[[], None],
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        timer: threading.Timer

        def run() -> None:
            with self._lock:
                if self._live.pop(timer, _GONE) is _GONE:
                    return  # cancel() claimed it first
            action()

        timer = threading.Timer(delay_s, run)
        timer.name = f"{self._owner}-latency"
        timer.daemon = True
        with self._lock:
            self._live[timer] = on_cancel
            self._started = [t for t in self._started if t.is_alive()]
            self._started.append(timer)
        timer.start()

    def cancel(self) -> list[threading.Timer]:
        with self._lock:
            claimed = dict(self._live)
            self._live.clear()
        for timer, on_cancel in claimed.items():
            timer.cancel()
            if on_cancel is not None:
                on_cancel()
        return list(claimed)

    def close(self, timeout_s: float = 5.0) -> None:
        self.cancel()
        with self._lock:
            started, self._started = self._started, []
        for timer in started:
            if timer is not threading.current_thread():
                timer.join(timeout_s)


_GONE: Any = object()


class _ReadingSignal(Signal):
    """A soft ``Signal`` whose ``describe()`` also states its engineering units."""

    def __init__(self, *args: Any, units: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = units

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        if self.units:
            description[self.name]["units"] = self.units
        return description


class DyePump(SoftPositioner):
    """A syringe pump dispensing one stock dye; its position is the volume dispensed (mL).

    ``set(v)`` refuses ``v`` outside ``limits`` with ``LimitError`` before anything moves.
    With ``latency_s > 0`` the move finishes that many seconds later; with ``fault_rate``
    (probability per move, drawn from ``rng``) the move fails with :class:`InjectedFaultError`
    and the position stays where it was.
    """

    def __init__(
        self,
        *,
        name: str,
        limits: tuple[float, float] = VOLUME_LIMITS_ML,
        init_pos: float = 0.0,
        latency_s: float = 0.0,
        fault_rate: float = 0.0,
        rng: np.random.Generator | None = None,
        faults: PumpFaults | None = None,
        fault_rng: np.random.Generator | None = None,
        **kwargs: Any,
    ) -> None:
        if latency_s < 0.0:
            raise ValueError(f"latency_s must be >= 0 s, got {latency_s}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within [0, 1], got {fault_rate}")
        if fault_rate > 0.0 and rng is None:
            raise ValueError("pass a numpy Generator as rng when fault_rate > 0")
        self.latency_s = float(latency_s)
        self.fault_rate = float(fault_rate)
        self._rng = rng
        self._faults: FaultPicker | None = None
        if faults is not None and faults.active:
            self._faults = FaultPicker(faults, fault_rng or np.random.default_rng())
        self._drift_ml = faults.drift_ml if faults is not None else 0.0
        self._pending_fault: FaultKind | None = None
        #: Every command received, refused ones included (``DeviceCommand``).
        self.command_log: deque[DeviceCommand] = deque(maxlen=LOG_LENGTH)
        #: ``(time.monotonic(), position)`` at every change of position.
        self.motion_log: deque[tuple[float, float]] = deque(maxlen=LOG_LENGTH)
        self._timers = _Timers(name)
        self._move_lock = threading.Lock()
        self._move_id = 0
        low, high = (float(v) for v in limits)
        kwargs.setdefault("kind", Kind.hinted)
        super().__init__(
            name=name,
            egu="mL",
            limits=(low, high),
            source="simulated",
            **kwargs,
        )
        # The starting volume is a state, not a move: no latency, no fault, no status.
        self.check_value(init_pos)
        self._set_position(float(init_pos))

    def _log(self, command: str, value: Any) -> None:
        position = getattr(self, "_position", None)
        self.command_log.append(
            DeviceCommand(
                time.monotonic(), command, value, math.nan if position is None else position
            )
        )

    def _set_position(self, value: Any, **kwargs: Any) -> None:
        self.motion_log.append((time.monotonic(), float(value)))
        super()._set_position(value, **kwargs)

    def move(self, position: Any, *args: Any, **kwargs: Any) -> MoveStatus:
        """Log the command, let an injected ``set_error`` refuse it, then move."""
        self._log("set", position)
        fault = self._faults.next_move() if self._faults is not None else None
        if fault == "set_error":
            raise InjectedFaultError(
                f"{self.name}: controller refused the command (injected fault); nothing moved",
                device=self.name,
            )
        self._pending_fault = fault
        status: MoveStatus = super().move(position, *args, **kwargs)
        return status

    def check_value(self, pos: Any) -> None:
        """Refuse a non-number or a volume outside ``limits`` (raises before anything moves)."""
        if isinstance(pos, bool) or not isinstance(pos, int | float | np.number):
            raise TypeError(f"{self.name}: volume must be a number of mL, got {pos!r}")
        if not math.isfinite(float(pos)):
            raise ValueError(f"{self.name}: volume must be finite, got {pos!r}")
        low, high = self.limits
        if not low <= float(pos) <= high:
            raise LimitError(
                f"{self.name}: {pos} mL is outside the pump's limits [{low}, {high}] mL; "
                "nothing was dispensed"
            )

    def _setup_move(self, position: float, status: MoveStatus) -> None:
        target = float(position)
        injected, self._pending_fault = self._pending_fault, None
        with self._move_lock:
            self._move_id += 1
            move_id = self._move_id
        self._timers.cancel()  # a new move supersedes one still in flight
        fault = self._rng is not None and bool(self._rng.random() < self.fault_rate)
        self._run_subs(sub_type=self.SUB_START, timestamp=time.time())
        self._started_moving = True
        self._moving = True
        if injected == "never_complete":
            return  # the status hangs until stop()
        start = float(self.position)
        final = start if injected == "stuck" else target
        if injected == "drift":
            final = target + self._drift_ml
        began = time.monotonic()

        def current() -> bool:
            with self._move_lock:
                return move_id == self._move_id

        def finish() -> None:
            if not current():
                return
            self._moving = False
            if fault:
                self._reset_sub(self._SUB_REQ_DONE)
                status.set_exception(
                    InjectedFaultError(
                        f"{self.name}: dye pump clogged (injected fault); "
                        f"position stays at {self.position} mL",
                        device=self.name,
                    )
                )
                return
            if final != start or not self.latency_s:
                self._set_position(final)
            self._done_moving()

        def step() -> None:
            if not current():
                return
            elapsed = time.monotonic() - began
            if elapsed >= self.latency_s:
                finish()
                return
            if not fault and final != start:
                self._set_position(start + (final - start) * elapsed / self.latency_s)
            self._timers.start(min(MOTION_TICK_S, self.latency_s - elapsed), step)

        if self.latency_s > 0.0:
            self._timers.start(min(MOTION_TICK_S, self.latency_s), step)
        else:
            finish()

    def stop(self, *, success: bool = False) -> None:
        """Stop a move in flight where it is; its status fails unless ``success``.

        Safe to call from several threads at once (an e-stop and the RunEngine's cleanup):
        only the first call ends the move's status."""
        self._log("stop", None)
        with self._move_lock:
            self._move_id += 1
            was_moving, self._moving = self._moving, False
        self._timers.cancel()
        if was_moving:
            super().stop(success=success)

    def close(self) -> None:
        """Cancel and join any latency timer (call once, when the station closes)."""
        with self._move_lock:
            self._move_id += 1
        self._timers.close()

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        entry = description[self.name]
        entry["dtype"] = "number"  # always a float, even before any move
        entry["shape"] = []  # as a Signal describes a scalar
        return description


class Spectrophotometer(Device):
    """A spectrophotometer reading the cuvette the dye pumps fill.

    Data keys (device named ``spectro``): ``spectro_absorbance_450``, ``..._500``,
    ``..._550``, ``..._650`` (AU), ``spectro_colour_error`` (ΔA×100, hinted) and
    ``spectro_min_transmittance`` (%, the darkest band's, from the measured absorbances).
    Configuration: ``spectro_noise_std`` (AU), ``spectro_latency_s`` (s),
    ``spectro_fault_rate`` (probability per trigger). Readings are NaN until the first
    trigger finishes.

    ``pumps`` are the bench's pumps (or a shared cuvette's dye levels, ``_cuvette``) in
    ``DYES`` order; ``solvent`` is the bench's selector (or the cuvette's; water when
    None). With ``precipitate_above_mL`` set, a trigger with more dye than that in the
    cuvette fails with :class:`PrecipitationError`; the noise and fault draws are taken all
    the same, so the stream of readings stays fixed by the seed.
    """

    absorbance_450 = Cpt(_ReadingSignal, value=math.nan, units=ABSORBANCE_UNITS, kind="normal")
    absorbance_500 = Cpt(_ReadingSignal, value=math.nan, units=ABSORBANCE_UNITS, kind="normal")
    absorbance_550 = Cpt(_ReadingSignal, value=math.nan, units=ABSORBANCE_UNITS, kind="normal")
    absorbance_650 = Cpt(_ReadingSignal, value=math.nan, units=ABSORBANCE_UNITS, kind="normal")
    colour_error = Cpt(_ReadingSignal, value=math.nan, units=COLOUR_ERROR_UNITS, kind="hinted")
    min_transmittance = Cpt(
        _ReadingSignal, value=math.nan, units=TRANSMITTANCE_UNITS, kind="normal"
    )
    noise_std = Cpt(_ReadingSignal, value=0.0, units=ABSORBANCE_UNITS, kind="config")
    latency_s = Cpt(_ReadingSignal, value=0.0, units="s", kind="config")
    fault_rate = Cpt(_ReadingSignal, value=0.0, kind="config")

    def __init__(
        self,
        *,
        name: str,
        pumps: Sequence[VolumeSource],
        rng: np.random.Generator,
        noise_std: float = 0.0,
        latency_s: float = 0.0,
        fault_rate: float = 0.0,
        solvent: SolventSource | None = None,
        precipitate_above_mL: float | None = None,
        **kwargs: Any,
    ) -> None:
        if noise_std < 0.0:
            raise ValueError(f"noise_std must be >= 0 AU, got {noise_std}")
        if latency_s < 0.0:
            raise ValueError(f"latency_s must be >= 0 s, got {latency_s}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within [0, 1], got {fault_rate}")
        if precipitate_above_mL is not None and not precipitate_above_mL > 0.0:
            raise ValueError(f"precipitate_above_mL must be > 0 mL, got {precipitate_above_mL}")
        super().__init__(name=name, **kwargs)
        self._pumps = tuple(pumps)
        self._solvent = solvent
        self._precipitate_above_mL = precipitate_above_mL
        self._rng = rng
        self._timers = _Timers(name)
        self.noise_std.put(float(noise_std))
        self.latency_s.put(float(latency_s))
        self.fault_rate.put(float(fault_rate))
        self._bands = tuple(getattr(self, f"absorbance_{band}") for band in BANDS_NM)

    def trigger(self) -> DeviceStatus:
        """Measure the cuvette as the pumps have filled it now; finish after ``latency_s``."""
        status = DeviceStatus(self)
        volumes = [float(pump.position) for pump in self._pumps]
        solvent = REFERENCE_SOLVENT if self._solvent is None else str(self._solvent.get())
        # One uniform draw per trigger, fault or not, keeps the stream fixed by the seed.
        fault = bool(self._rng.random() < float(self.fault_rate.get()))
        measured = measure(volumes, self._rng, float(self.noise_std.get()), solvent=solvent)
        precipitated = precipitates(volumes, self._precipitate_above_mL)

        def finish() -> None:
            if fault:
                status.set_exception(
                    InjectedFaultError(
                        f"{self.name}: spectrophotometer lamp fault (injected); "
                        "the measurement was lost, retry the experiment",
                        device=self.name,
                    )
                )
                return
            if precipitated:
                status.set_exception(self._precipitation(volumes))
                return
            for signal, value in zip(self._bands, measured, strict=True):
                signal.put(float(value))
            self.colour_error.put(error_from_absorbances(measured))
            self.min_transmittance.put(min_transmittance(measured))
            status.set_finished()

        def abandon() -> None:
            status.set_exception(
                RuntimeError(f"{self.name}: measurement stopped before it finished")
            )

        latency_s = float(self.latency_s.get())
        if latency_s > 0.0:
            self._timers.start(latency_s, finish, on_cancel=abandon)
        else:
            finish()
        return status

    def _precipitation(self, volumes: Sequence[float]) -> PrecipitationError:
        total = total_dye(volumes)
        limit = float(self._precipitate_above_mL or 0.0)
        return PrecipitationError(
            f"{self.name}: the dyes precipitated ({total:g} mL of dye in all, above the "
            f"bench's precipitate_above_ml of {limit:g} mL); the measurement failed, and "
            "it will fail again with this much dye",
            device=self.name,
            total_dye_mL=total,
            limit_mL=limit,
        )

    def stop(self, *, success: bool = False) -> None:
        """Abandon a measurement in flight (its status never finishes successfully)."""
        self._timers.cancel()
        super().stop(success=success)

    def close(self) -> None:
        """Cancel and join any latency timer (call once, when the station closes)."""
        self._timers.close()


class DosingMeter(Device):
    """The dye pumps' controller totting up what they dispensed into the cuvette.

    Data keys (device named ``dosing``): ``dosing_total_dye`` (mL, the sum of the pumps'
    volumes) and ``dosing_dye_cost`` (EUR, at ``DYE_PRICE_EUR_PER_ML``). Exact (metered, no
    noise); ``trigger()`` samples the pumps and finishes at once. NaN until triggered.
    """

    total_dye = Cpt(_ReadingSignal, value=math.nan, units="mL", kind="normal")
    dye_cost = Cpt(_ReadingSignal, value=math.nan, units=COST_UNITS, kind="normal")

    def __init__(self, *, name: str, pumps: Sequence[DyePump], **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._pumps = tuple(pumps)

    def trigger(self) -> DeviceStatus:
        """Read the pumps' volumes now and publish the totals."""
        volumes = [float(pump.position) for pump in self._pumps]
        self.total_dye.put(total_dye(volumes))
        self.dye_cost.put(dye_cost(volumes))
        status = DeviceStatus(self)
        status.set_finished()
        return status
