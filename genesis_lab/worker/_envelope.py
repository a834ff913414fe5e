"""The safety envelope: what a request must satisfy before anything moves.

Checked by the worker on every request, whatever the planner proposed: each setpoint names
an actuator of this station, and is either a finite number within the actuator's limits or
one of the choices the actuator declares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from genesis_lab.station import Station

__all__ = ["envelope_violations"]


def envelope_violations(station: Station, setpoints: Mapping[str, float | int | str]) -> list[str]:
    """Why ``setpoints`` may not be run on ``station`` (empty when they may).

    A text setpoint (a choice, such as a solvent) must be one of the ``choices`` the
    actuator declares (an actuator that declares none is left to refuse what it lacks);
    numbers must be finite and within the actuator's limits. Checked for every setpoint
    before any moves, so a bad choice never follows a pump that already dispensed.
    """
    problems: list[str] = []
    for name, value in setpoints.items():
        if name not in station.actuators:
            problems.append(f"{name}: no such actuator on this station")
            continue
        if isinstance(value, str):
            choices = station.choices(name)
            if choices is not None and value not in choices:
                problems.append(
                    f"{name}: {value!r} is not one of its choices ({', '.join(choices)})"
                )
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
