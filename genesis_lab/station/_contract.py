"""What a station plugin hands to a worker: named actuators and detectors (Ophyd devices)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bluesky.protocols import Movable, Readable
from pydantic import BaseModel

from genesis_lab.spec import Interlock

__all__ = [
    "Envelope",
    "Station",
    "StationPlugin",
    "actuator_limits",
    "require_movable",
    "require_readable",
]


def require_movable(device: object, name: str) -> Movable:
    """Return ``device`` if it satisfies Bluesky's ``Movable``; raise a clear TypeError if not."""
    if not isinstance(device, Movable):
        raise TypeError(
            f"actuator {name!r} ({type(device).__name__}) is not Movable: it needs a "
            "set(value) method returning a Status"
        )
    return device


def require_readable(device: object, name: str) -> Readable:
    """Return ``device`` if it satisfies Bluesky's ``Readable``; raise a clear TypeError if not."""
    if not isinstance(device, Readable):
        raise TypeError(
            f"detector {name!r} ({type(device).__name__}) is not Readable: it needs "
            "name, read() and describe()"
        )
    return device


def actuator_limits(device: object) -> tuple[float, float] | None:
    """The ``(low, high)`` limits an actuator declares, or ``None`` if it declares none.

    Ophyd positioners expose ``limits``; ``(0, 0)`` means "no limits" in Ophyd.
    """
    limits = getattr(device, "limits", None)
    if limits is None:
        return None
    low, high = (float(v) for v in limits)
    if low == high == 0.0:
        return None
    return (low, high)


@dataclass(frozen=True)
class Envelope:
    """The safety envelope a worker enforces on a station, beyond each device's own limits.

    Every field is optional (empty: nothing beyond the devices' own limits). Units are the
    actuator's.

    Attributes:
        limits: actuator name -> ``(low, high)``; tightens (never widens) the device's own.
        max_step: actuator name -> the largest change one experiment may ask of it,
            measured from the position the device reports just before the move.
        tolerance: actuator name -> how far its readback may end from the setpoint after a
            move that reported success (further: the trial fails, stuck or drifting).
        interlocks: readings that must hold, read from the station's devices right before
            anything moves.
        max_experiments_per_hour: cap on experiments started in any sliding hour.
        move_timeout_s: seconds a move may take before the trial fails and the station is
            brought to its safe state (None: the worker's default).
    """

    limits: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    max_step: Mapping[str, float] = field(default_factory=dict)
    tolerance: Mapping[str, float] = field(default_factory=dict)
    interlocks: Sequence[Interlock] = ()
    max_experiments_per_hour: int | None = None
    move_timeout_s: float | None = None


@dataclass
class Station:
    """One instrument station: actuators by name, detectors to trigger and read.

    ``close`` releases connections or threads the plugin opened; it is called once by
    whoever built the station. ``envelope`` is what the worker enforces before any move
    (empty by default: the devices' own limits only).
    """

    actuators: Mapping[str, Movable]
    detectors: Sequence[Readable]
    units: Mapping[str, str] = field(default_factory=dict)
    close: Callable[[], None] = field(default=lambda: None)
    envelope: Envelope = field(default_factory=Envelope)

    def __post_init__(self) -> None:
        for name, actuator in self.actuators.items():
            require_movable(actuator, name)
        for detector in self.detectors:
            require_readable(detector, getattr(detector, "name", type(detector).__name__))
        for name in (*self.envelope.limits, *self.envelope.max_step, *self.envelope.tolerance):
            if name not in self.actuators:
                raise ValueError(
                    f"the envelope names {name!r}, which is not an actuator of this station "
                    f"(actuators: {', '.join(sorted(self.actuators))})"
                )

    def readings(self) -> list[str]:
        """Every data key the detectors produce (the keys of their ``describe()``)."""
        keys: list[str] = []
        for detector in self.detectors:
            description = detector.describe()
            if inspect.isawaitable(description):
                raise TypeError(
                    f"detector {detector.name!r} describes itself asynchronously "
                    "(ophyd-async); stations take synchronous Ophyd devices for now"
                )
            keys.extend(description)
        return keys

    def limits(self, actuator: str) -> tuple[float, float] | None:
        """Limits of the named actuator: its own, tightened by the envelope's, if any."""
        own = actuator_limits(self.actuators[actuator])
        extra = self.envelope.limits.get(actuator)
        if extra is None:
            return own
        if own is None:
            return (float(extra[0]), float(extra[1]))
        return (max(own[0], float(extra[0])), min(own[1], float(extra[1])))

    def choices(self, actuator: str) -> tuple[str, ...] | None:
        """The values a choice-taking actuator accepts (the ``choices`` its ``describe()``
        declares for its own data key, event-model's enum key), or None if it declares none."""
        device = self.actuators[actuator]
        if not isinstance(device, Readable):
            return None
        description = device.describe()
        if inspect.isawaitable(description):
            return None
        entry: Mapping[str, Any] = description.get(getattr(device, "name", actuator)) or {}
        found = entry.get("choices")
        return None if found is None else tuple(str(choice) for choice in found)


@runtime_checkable
class StationPlugin(Protocol):
    """What an entry point in the ``genesis_lab.stations`` group must point to."""

    description: str
    options_model: type[BaseModel]

    def build(self, options: Any) -> Station:
        """Create the station's devices from validated ``options`` (an ``options_model``)."""
        ...
