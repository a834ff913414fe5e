"""Whether the station's worker offers what the campaign needs, from its retained status.

A campaign sets actuators (its parameters' devices) and reads readings (its objectives' and
outcome constraints'). The worker advertises its own in its retained status; one that lacks
any of them serves another plugin than the campaign was written for (say, a worker started
under the wrong station id), and every trial sent to it would fail. The campaign loop asks
:class:`CapabilityCheck` before its first dispatch and again whenever the station's status
changes (another worker may have come online); on a mismatch it dispatches nothing more and
stops (``stopped``, its trials in flight left for a resume), with a reason that names what
is missing, what the station offers and which plugin its worker serves.

A status that advertises no actuators (or no readings) says nothing about them: a worker of
an older release may not send them, and it is not taken to lack everything. That list is
then not checked here; the worker still refuses a request it cannot serve
(:mod:`genesis_lab.worker._capabilities`).
"""

from __future__ import annotations

from genesis_lab.messages import StationStatus
from genesis_lab.spec import CampaignSpec

__all__ = ["CapabilityCheck"]


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


class CapabilityCheck:
    """Checks station statuses against what campaign ``spec`` needs."""

    def __init__(self, spec: CampaignSpec) -> None:
        self.station_id = spec.station.station_id
        self.plugin = spec.station.plugin
        self.actuators = sorted({p.actuator for p in spec.parameters})
        self.readings = sorted(set(spec.readings.values()))
        self._checked: StationStatus | None = None
        self._problem: str | None = None

    def problem(self, status: StationStatus | None) -> str | None:
        """Why the station whose (online) ``status`` this is cannot serve the campaign, or
        None if it can, or if ``status`` does not say (None, or lists it leaves empty). A
        status already checked is not checked again."""
        if status is None:
            return None
        if status is not self._checked:
            self._checked, self._problem = status, self._compare(status)
        return self._problem

    def _compare(self, status: StationStatus) -> str | None:
        gaps = []
        for what, verb, offered, needed in (
            ("readings", "reads", status.readings, self.readings),
            ("actuators", "sets", status.actuators, self.actuators),
        ):
            missing = [name for name in needed if name not in offered]
            if offered and missing:  # an empty list: not advertised (an older worker)
                gaps.append(
                    f"offers {what} [{_quoted(sorted(offered))}] but the campaign {verb} "
                    f"{_quoted(missing)}"
                )
        if not gaps:
            return None
        serves = f" (its worker serves plugin {status.plugin!r})" if status.plugin else ""
        return (
            f"station {self.station_id!r}{serves} " + "; it ".join(gaps) + ": is the right "
            "plugin running under this station id? Nothing more is dispatched to it; stop "
            f"that worker and start one of plugin {self.plugin!r} ('genesis-lab worker "
            f"--station {self.plugin} --id {self.station_id}')"
        )
