"""The safety envelope: what a request must satisfy before anything moves.

Checked by the worker on every request, whatever the planner proposed and whatever arrived
on the wire, right before the RunEngine is called:

- every setpoint names an actuator of this station;
- a text setpoint is one of the choices the actuator declares; anything else must be a
  real, finite number (not a bool, None, a list or a mapping) within the actuator's limits,
  tightened by the station's envelope;
- a number is at most ``max_step`` away from the position the actuator reports now;
- every interlock holds, read from the station's devices now;
- fewer than ``max_experiments_per_hour`` experiments started in the last hour.

Every setpoint is checked before any moves, so a bad one never follows a pump that
already dispensed. A refusal is a list of reasons, one per problem.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from genesis_lab.station import Station

__all__ = ["SafetyEnvelope", "StartLog", "envelope_violations", "read_position"]


class StartLog(Protocol):
    """Where the envelope keeps when experiments started (Unix seconds), so the rate cap
    survives a restart: the worker's journal (:class:`~genesis_lab.worker._outbox.Outbox`)."""

    def add_start(self, at: float) -> None: ...

    def starts_since(self, at: float) -> list[float]: ...


_HOUR_S = 3600.0


def envelope_violations(station: Station, setpoints: Mapping[str, object]) -> list[str]:
    """Why ``setpoints`` may not be run on ``station`` (empty when they may).

    Checks names, types, choices, limits and ``max_step`` against the positions the
    actuators report now; interlocks and the rate cap are :class:`SafetyEnvelope`'s.
    """
    problems: list[str] = []
    for name, value in setpoints.items():
        if name not in station.actuators:
            problems.append(f"{_short(name)}: no such actuator on this station")
            continue
        problems.extend(_value_problems(station, name, value))
    return problems


def _short(value: object, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(value: object) -> float | None:
    """``value`` as a finite float if it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _value_problems(station: Station, name: str, value: object) -> list[str]:
    if isinstance(value, str):
        choices = station.choices(name)
        if choices is None:
            if station.limits(name) is not None or name in station.envelope.max_step:
                return [f"{name}: {_short(value)!r} is text, it takes a number"]
            return []  # an actuator that declares nothing refuses what it lacks itself
        if value not in choices:
            return [f"{name}: {_short(value)!r} is not one of its choices ({', '.join(choices)})"]
        return []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{name}: setpoint {_short(value)} ({type(value).__name__}) is not a number"]
    number = _number(value)
    if number is None:
        return [f"{name}: setpoint {_short(value)} is not a finite number"]
    unit = station.units.get(name, "")
    limits = station.limits(name)
    if limits is not None and not limits[0] <= number <= limits[1]:
        return [
            f"{name}: setpoint {_short(value)} {unit} is outside the limits "
            f"[{limits[0]}, {limits[1]}] {unit}".replace("  ", " ").rstrip()
        ]
    max_step = station.envelope.max_step.get(name)
    if max_step is not None:
        now = read_position(station.actuators[name])
        if now is None:
            return [f"{name}: its position cannot be read, so max_step cannot be checked"]
        if abs(number - now) > max_step:
            return [
                f"{name}: a step from {now:g} to {number:g} {unit} exceeds max_step "
                f"{max_step:g} {unit}".replace("  ", " ").rstrip()
            ]
    return []


def read_position(device: object) -> float | None:
    """The position an actuator reports now: ``position``, else its own reading's value."""
    position = getattr(device, "position", None)
    if position is None:
        reading = _read(device).get(getattr(device, "name", ""), {})
        position = reading.get("value")
    return _number(position)


def _read(device: object) -> dict[str, Any]:
    read = getattr(device, "read", None)
    if read is None:
        return {}
    result = read()
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()
        raise TypeError(f"{getattr(device, 'name', device)!r} reads asynchronously")
    return dict(result)


class SafetyEnvelope:
    """The whole envelope of one station, with the memory the rate cap needs.

    ``admit(setpoints)`` returns the reasons to refuse (empty: go ahead) and, when it
    admits, counts the experiment against the hourly cap. ``clock`` is Unix seconds.
    With ``starts`` the cap counts from what it holds, not from this process's start: a
    worker restarted within the hour does not get a fresh hour.
    """

    def __init__(
        self,
        station: Station,
        *,
        clock: Callable[[], float] = time.time,
        starts: StartLog | None = None,
    ) -> None:
        self.station = station
        self._clock = clock
        self._starts = starts
        since = clock() - _HOUR_S
        self._started: deque[float] = deque(
            sorted(starts.starts_since(since)) if starts is not None else ()
        )
        self._lock = threading.Lock()

    def check(self, setpoints: Mapping[str, object]) -> list[str]:
        """Every reason ``setpoints`` may not run now (empty when they may)."""
        if not isinstance(setpoints, Mapping) or not setpoints:
            return ["a request needs at least one setpoint (actuator name -> value)"]
        problems = envelope_violations(self.station, setpoints)
        problems.extend(self.interlock_violations())
        rate = self._rate_violation(self._clock())
        if rate:
            problems.append(rate)
        return problems

    def admit(self, setpoints: Mapping[str, object]) -> list[str]:
        """Like :meth:`check`; when nothing is wrong, the experiment counts as started."""
        with self._lock:
            problems = self.check(setpoints)
            if not problems:
                now = self._clock()
                self._started.append(now)
                if self._starts is not None:
                    self._starts.add_start(now)
            return problems

    def interlock_violations(self) -> list[str]:
        """Interlocks that do not hold now, each with its reason."""
        interlocks = self.station.envelope.interlocks
        if not interlocks:
            return []
        readings: dict[str, Any] = {}
        problems: list[str] = []
        devices = [*self.station.detectors, *self.station.actuators.values()]
        for device in devices:
            try:
                readings.update(_read(device))
            except Exception as exc:  # a reading that cannot be taken does not hold
                problems.append(f"cannot read {getattr(device, 'name', device)!r}: {exc}")
        for interlock in interlocks:
            if interlock.reading not in readings:
                problems.append(f"interlock {interlock.reading}: no device reads it now")
                continue
            why = interlock.violation(_plain(readings[interlock.reading].get("value")))
            if why:
                problems.append(why)
        return problems

    def _rate_violation(self, now: float) -> str | None:
        cap = self.station.envelope.max_experiments_per_hour
        if cap is None:
            return None
        while self._started and now - self._started[0] >= _HOUR_S:
            self._started.popleft()
        if len(self._started) >= cap:
            wait_s = _HOUR_S - (now - self._started[0])
            return f"max_experiments_per_hour {cap} reached; the next may start in {wait_s:.0f} s"
        return None


def _plain(value: Any) -> Any:
    """A numpy scalar as its Python value (so ``equals: true`` matches ``numpy.bool_``)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "shape", None) == () else value
