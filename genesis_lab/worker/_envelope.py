"""The safety envelope: what a request must satisfy before anything moves.

Checked by the worker on every request, whatever the planner proposed: each setpoint names
an actuator of this station, is a finite number, and lies within the actuator's limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from genesis_lab.station import Station

__all__ = ["envelope_violations"]


def envelope_violations(station: Station, setpoints: Mapping[str, float | int | str]) -> list[str]:
    """Why ``setpoints`` may not be run on ``station`` (empty when they may).

    Text setpoints (a choice, such as a solvent) are left to the actuator, which refuses a
    choice it does not have; numbers must be finite and within the actuator's limits.
    """
    problems: list[str] = []
    for name, value in setpoints.items():
        if name not in station.actuators:
            problems.append(f"{name}: no such actuator on this station")
            continue
        if isinstance(value, str):
            continue
        if not math.isfinite(value):
            problems.append(f"{name}: setpoint {value} is not a finite number")
            continue
        limits = station.limits(name)
        if limits is not None and not limits[0] <= value <= limits[1]:
            unit = station.units.get(name, "")
            problems.append(
                f"{name}: setpoint {value} {unit} is outside the limits "
                f"[{limits[0]}, {limits[1]}] {unit}".replace("  ", " ")
            )
    return problems
