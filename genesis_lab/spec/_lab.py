"""Lab files: which stations a lab has, which devices each hosts, and their safety envelope.

A lab file (YAML) declares stations; a worker serves one of them (the ``lab`` station
plugin, options ``{file, station}``). Every device is built by a driver registered in the
``genesis_lab.devices`` entry-point group; actuators carry an envelope (limits tighter than
the device's own, the largest change per experiment, the readback tolerance), and a
station carries interlocks (readings that must hold before anything moves) and a cap on
experiments per hour::

    version: 1
    name: demo-lab
    stations:
      - id: furnace-bench
        devices:
          - name: furnace
            driver: scpi-furnace
            role: actuator
            settings: {address: "TCPIP::127.0.0.1::5025::SOCKET"}
            envelope: {limits: [20, 1200], max_step: 150, units: degC}
          - {name: door, driver: door-switch, role: detector}
        interlocks:
          - {reading: door_closed, equals: true, reason: enclosure door must be closed}
        max_experiments_per_hour: 120
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from genesis_lab.ids import ID_PATTERN
from genesis_lab.spec._base import StrictModel

__all__ = ["DeviceEnvelope", "Interlock", "LabDevice", "LabSpec", "LabStation"]

_SLUG = ID_PATTERN
_DEVICE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Interlock(StrictModel):
    """A reading that must hold before anything moves: ``equals`` a value, or within
    ``[min, max]`` (either bound may be left out)."""

    reading: str = Field(min_length=1, description="Data key of a device of the station.")
    equals: bool | int | float | str | None = Field(
        default=None, description="The value the reading must have (e.g. true)."
    )
    min: float | None = Field(default=None, description="Lowest value allowed, reading's units.")
    max: float | None = Field(default=None, description="Highest value allowed, reading's units.")
    reason: str = Field(default="", max_length=500, description="Why, for the operator.")

    @model_validator(mode="after")
    def _one_condition(self) -> Interlock:
        if self.equals is None and self.min is None and self.max is None:
            raise ValueError("an interlock needs 'equals', or 'min' and/or 'max'")
        if self.equals is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either 'equals' or 'min'/'max', not both")
        if self.min is not None and self.max is not None and not self.min <= self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def violation(self, value: object) -> str | None:
        """Why ``value`` (the reading now) does not hold, or None if it does."""
        why = f" ({self.reason})" if self.reason else ""
        if self.equals is not None:
            if isinstance(value, str) != isinstance(self.equals, str) or value != self.equals:
                return f"interlock {self.reading}: reads {value!r}, must be {self.equals!r}{why}"
            return None
        number = _finite(value)
        if number is None:
            return f"interlock {self.reading}: reads {value!r}, not a finite number{why}"
        if self.min is not None and number < self.min:
            return f"interlock {self.reading}: reads {number:g}, below {self.min:g}{why}"
        if self.max is not None and number > self.max:
            return f"interlock {self.reading}: reads {number:g}, above {self.max:g}{why}"
        return None


def _finite(value: object) -> float | None:
    if isinstance(value, bool | str) or not hasattr(value, "__float__"):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _refuse_repeats(what: str, names: list[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{what} {', '.join(map(repr, repeated))} is used twice")


class DeviceEnvelope(StrictModel):
    """An actuator's envelope, in its units. Every field is optional."""

    limits: tuple[float, float] | None = Field(
        default=None,
        description="[low, high] the worker allows; tightens the device's own limits.",
    )
    max_step: float | None = Field(
        default=None,
        gt=0,
        description="Largest change one experiment may ask, from the position read before it.",
    )
    tolerance: float | None = Field(
        default=None,
        ge=0,
        description="How far the readback may end from the setpoint (further: the trial fails).",
    )
    units: str = Field(default="", max_length=40, description="Units of the numbers above.")

    @field_validator("limits")
    @classmethod
    def _ordered(cls, limits: tuple[float, float] | None) -> tuple[float, float] | None:
        if limits is None:
            return None
        low, high = limits
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("limits must be finite numbers")
        if not low < high:
            raise ValueError(f"limits [{low}, {high}]: lower must be below upper")
        return limits


class LabDevice(StrictModel):
    """One device of a station, built by a driver from its settings."""

    name: str = Field(
        pattern=_DEVICE_NAME, description="Ophyd name; the actuator or detector name in campaigns."
    )
    driver: str = Field(min_length=1, description="Entry point in 'genesis_lab.devices'.")
    role: Literal["actuator", "detector"] | None = Field(
        default=None, description="actuator or detector; default: actuator if it is Movable."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Connection settings, validated by the driver."
    )
    envelope: DeviceEnvelope | None = Field(
        default=None, description="The actuator's safety envelope (actuators only)."
    )

    @model_validator(mode="after")
    def _envelope_on_actuators(self) -> LabDevice:
        if self.envelope is not None and self.role == "detector":
            raise ValueError("a detector has no envelope; give it to the actuator it guards")
        return self


class LabStation(StrictModel):
    """A station: the devices one worker hosts and the envelope it enforces."""

    id: str = Field(pattern=_SLUG, description="Station id on the wire (topic names).")
    description: str = ""
    devices: list[LabDevice] = Field(min_length=1)
    interlocks: list[Interlock] = Field(default_factory=list)
    max_experiments_per_hour: int | None = Field(
        default=None, ge=1, description="Cap on experiments started in any sliding hour."
    )
    move_timeout_s: float | None = Field(
        default=None, gt=0, description="Seconds a move may take before the trial fails."
    )

    @field_validator("devices")
    @classmethod
    def _unique_names(cls, devices: list[LabDevice]) -> list[LabDevice]:
        _refuse_repeats("device name", [device.name for device in devices])
        return devices


class LabSpec(StrictModel):
    """A lab file: its stations."""

    version: Literal[1] = Field(default=1, description="Lab file format version.")
    name: str = Field(pattern=_SLUG)
    description: str = ""
    stations: list[LabStation] = Field(min_length=1)

    @field_validator("stations")
    @classmethod
    def _unique_ids(cls, stations: list[LabStation]) -> list[LabStation]:
        _refuse_repeats("station id", [station.id for station in stations])
        return stations

    def station(self, station_id: str) -> LabStation:
        """The station with this id; KeyError naming the ids there are."""
        for station in self.stations:
            if station.id == station_id:
                return station
        ids = ", ".join(s.id for s in self.stations)
        raise KeyError(f"lab {self.name!r} has no station {station_id!r} (stations: {ids})")
