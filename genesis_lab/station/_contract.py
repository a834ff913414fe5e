"""What a station plugin hands to a worker: named actuators and detectors (Ophyd devices)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bluesky.protocols import Movable, Readable
from pydantic import BaseModel

__all__ = ["Station", "StationPlugin", "actuator_limits", "require_movable", "require_readable"]


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


@dataclass
class Station:
    """One instrument station: actuators by name, detectors to trigger and read.

    ``close`` releases connections or threads the plugin opened; it is called once by
    whoever built the station.
    """

    actuators: Mapping[str, Movable]
    detectors: Sequence[Readable]
    units: Mapping[str, str] = field(default_factory=dict)
    close: Callable[[], None] = field(default=lambda: None)

    def __post_init__(self) -> None:
        for name, actuator in self.actuators.items():
            require_movable(actuator, name)
        for detector in self.detectors:
            require_readable(detector, getattr(detector, "name", type(detector).__name__))

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
        """Limits of the named actuator, if it declares any."""
        return actuator_limits(self.actuators[actuator])

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
