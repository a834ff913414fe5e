"""What a station offers (its actuators and readings), and what a request asks of it.

The worker advertises :class:`StationCapabilities` in its retained status and refuses, before
journalling it (nothing moves, the trial is never accepted), a request that sets an actuator
the station lacks or asks for a reading its detectors do not produce: the worker serves
another plugin than the campaign was written for (a worker started under the wrong station
id, say). Such a request would otherwise be rejected by the envelope (an unknown actuator)
or run to a result without the reading, and fail every trial of the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

from genesis_lab.messages import ExperimentRequest
from genesis_lab.station import Station

__all__ = ["CAPABILITIES", "StationCapabilities"]

CAPABILITIES = "capabilities"
"""The reason a request is refused for asking what the station does not offer (counted in
the worker's ``stats.refusals``, named in its ``refused`` status)."""


def _quoted(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(repr(name) for name in names)


@dataclass(frozen=True)
class StationCapabilities:
    """The actuators (by name) and readings (data keys) of one station, sorted."""

    actuators: tuple[str, ...]
    readings: tuple[str, ...]

    @classmethod
    def of(cls, station: Station) -> StationCapabilities:
        """What ``station`` offers (its detectors are asked to describe themselves)."""
        return cls(tuple(sorted(station.actuators)), tuple(sorted(set(station.readings()))))

    def problem(self, request: ExperimentRequest) -> str | None:
        """Why this station cannot serve ``request`` (actuators it lacks, readings it does
        not produce, each with the station's own list), or None if it can."""
        actuators = sorted(set(request.setpoints) - set(self.actuators))
        readings = sorted(set(request.readings) - set(self.readings))
        parts = []
        if actuators:
            parts.append(
                f"has no actuator {_quoted(actuators)} (its actuators: "
                f"{_quoted(self.actuators) or 'none'})"
            )
        if readings:
            parts.append(
                f"offers no reading {_quoted(readings)} (its readings: "
                f"{_quoted(self.readings) or 'none'})"
            )
        if not parts:
            return None
        return f"station {request.station_id!r} " + " and ".join(parts)
