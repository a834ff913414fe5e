"""Waiting for a station that went offline, visibly and for a bounded time.

While the station's worker is offline (its retained status says so: it stopped, or the
broker saw its connection die), the campaign loop dispatches nothing. :class:`OfflineWatch`
says when the wait began and ended (for the record), reminds the operator how long it has
lasted, and says when it has lasted longer than the campaign allows
(``lease.offline_limit_s``): the campaign then stops, its trials in flight left for a resume.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

__all__ = ["OfflineChange", "OfflineWatch"]

log = logging.getLogger(__name__)

#: How often the wait is reported again while it lasts, in seconds.
REMIND_EVERY_S = 30.0


@dataclass(frozen=True)
class OfflineChange:
    """The station went offline (``event`` "station-offline") or came back
    ("station-online"), with a sentence for the record."""

    event: str
    detail: str


class OfflineWatch:
    """Tracks how long station ``station_id`` has been offline, against ``limit_s``."""

    def __init__(self, station_id: str, limit_s: float) -> None:
        self.station_id = station_id
        self.limit_s = limit_s
        self.since: float | None = None  # monotonic time the wait began; None when online
        self._reminded = 0.0

    def observe(self, online: bool, now: float | None = None) -> OfflineChange | None:
        """Note whether the station is online now; a change is returned once, to record."""
        now = time.monotonic() if now is None else now
        if online:
            if self.since is None:
                return None
            waited = now - self.since
            self.since = None
            log.warning(
                "station %s is back online after %.0f s; dispatching resumes",
                self.station_id,
                waited,
            )
            return OfflineChange("station-online", f"back after {waited:.0f} s offline")
        if self.since is None:
            self.since = self._reminded = now
            log.warning(
                "station %s is offline: nothing is dispatched until its worker is back; "
                "the campaign stops if it stays offline for %.0f s (lease.offline_limit_s)",
                self.station_id,
                self.limit_s,
            )
            return OfflineChange(
                "station-offline",
                f"nothing dispatched while offline; the campaign waits up to {self.limit_s:g} s",
            )
        if now - self._reminded >= REMIND_EVERY_S:
            self._reminded = now
            log.warning(
                "still waiting for station %s: offline for %.0f s of at most %.0f s",
                self.station_id,
                now - self.since,
                self.limit_s,
            )
        return None

    def over_limit(self, now: float | None = None) -> str | None:
        """Why the campaign cannot wait any longer, if it has waited past the limit."""
        if self.since is None:
            return None
        waited = (time.monotonic() if now is None else now) - self.since
        if waited <= self.limit_s:
            return None
        return (
            f"station {self.station_id!r} has been offline for {waited:.0f} s, longer than "
            f"lease.offline_limit_s={self.limit_s:g} s"
        )
