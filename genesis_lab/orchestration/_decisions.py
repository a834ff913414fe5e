"""Every call the campaign makes on its planner, written to the record, so it can be replayed.

The planner is deterministic for a given seed and history (ARCHITECTURE.md); the history is
exactly the sequence of calls made on it. :class:`RecordedPlanner` forwards each call to the
real planner and, once it succeeded, appends it to the record (``planner_calls``, chained in
the ledger): ``{"op": "planner", ...}`` when a planner is built (at the start, and again at
each resume), then ``ask`` with what it proposed, ``tell``, ``forget``, ``suggest``,
``observe``, ``restore``. A ``tell`` or ``observe`` does not copy the outcomes: replay reads
them from the record's trials, so a result edited afterwards changes the replayed decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genesis_lab.planning import ParameterValue, Planner, Proposal
from genesis_lab.store import CampaignRecord

__all__ = ["PLANNER_SETTINGS", "RecordedPlanner", "planner_settings"]

PLANNER_SETTINGS = ("seed", "initial_design", "num_restarts", "raw_samples", "weighted")
"""Attributes of a planner recorded with its kind, when it has them."""


def planner_settings(planner: object) -> dict[str, Any]:
    """What built ``planner``: its class name as ``kind`` and its recorded settings."""
    settings: dict[str, Any] = {"kind": type(planner).__name__}
    for name in PLANNER_SETTINGS:
        value = getattr(planner, name, None)
        if isinstance(value, bool | int | float | str):
            settings[name] = value
    return settings


def _proposal_json(proposal: Proposal) -> dict[str, Any]:
    return {
        "trial_id": proposal.trial_id,
        "parameters": dict(proposal.parameters),
        "origin": proposal.origin,
    }


class RecordedPlanner:
    """``planner``, with each successful call on it appended to campaign ``campaign_id`` of
    ``record``. Anything else (``best``, ``observations``, ``recommended``) is the planner's."""

    def __init__(self, planner: Planner, record: CampaignRecord, campaign_id: str) -> None:
        self.planner = planner
        self.record = record
        self.campaign_id = campaign_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.planner, name)

    def _log(self, op: str, **call: Any) -> None:
        self.record.add_planner_call(self.campaign_id, {"op": op, **call})

    def started(self) -> None:
        """Record that this planner, fresh, takes over the campaign (its kind and settings)."""
        self._log("planner", **planner_settings(self.planner))

    def ask(self, n: int = 1) -> list[Proposal]:
        proposals = self.planner.ask(n)
        self._log("ask", n=n, proposals=[_proposal_json(p) for p in proposals])
        return proposals

    def tell(self, trial_id: str, outcomes: Mapping[str, float]) -> None:
        self.planner.tell(trial_id, outcomes)
        self._log("tell", trial_id=trial_id)

    def forget(self, trial_id: str, *, failed: bool = False) -> None:
        self.planner.forget(trial_id, failed=failed)
        self._log("forget", trial_id=trial_id, failed=failed)

    def suggest(
        self, parameters: Mapping[str, ParameterValue], *, origin: str = "manual"
    ) -> Proposal:
        proposal = self.planner.suggest(parameters, origin=origin)
        self._log("suggest", **_proposal_json(proposal))
        return proposal

    def suggest_trial(
        self,
        parameters: Mapping[str, ParameterValue],
        *,
        origin: str,
        note: Mapping[str, Any],
    ) -> Proposal:
        """``suggest``, with the trial it numbers written to the record as PROPOSED (``note``,
        why it is run, as its explanation) before the call is: every number a ``suggest``
        gave out names a trial of the record, so a resume takes that trial up instead of
        giving its number to another experiment."""
        proposal = self.planner.suggest(parameters, origin=origin)
        self.record.add_trial(
            self.campaign_id,
            proposal.trial_id,
            parameters=proposal.parameters,
            origin=proposal.origin,
            explanation=note,
        )
        self._log("suggest", **_proposal_json(proposal))
        return proposal

    def observe(
        self,
        parameters: Mapping[str, ParameterValue],
        outcomes: Mapping[str, float],
        *,
        origin: str = "prior",
    ) -> str:
        trial_id = self.planner.observe(parameters, outcomes, origin=origin)
        self._log("observe", trial_id=trial_id, parameters=dict(parameters), origin=origin)
        return trial_id

    def restore(
        self, trial_id: str, parameters: Mapping[str, ParameterValue], *, origin: str
    ) -> Proposal:
        proposal = self.planner.restore(trial_id, parameters, origin=origin)
        self._log("restore", **_proposal_json(proposal))
        return proposal

    @property
    def best(self) -> tuple[str, dict[str, ParameterValue], float] | None:
        return self.planner.best
