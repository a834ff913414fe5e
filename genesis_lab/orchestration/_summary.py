"""A campaign read back from its record: the trial table and the best result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genesis_lab.errors import RecordError
from genesis_lab.store import CampaignRecord, CampaignRow, TrialRow, TrialState

__all__ = ["CampaignSummary", "summarize"]


@dataclass(frozen=True)
class CampaignSummary:
    """Everything ``genesis-lab show`` prints."""

    campaign: CampaignRow
    trials: list[TrialRow]
    objective: str
    direction: str
    best: TrialRow | None
    documents: int

    def to_json(self) -> dict[str, Any]:
        """The summary as plain JSON types (what ``show --json`` prints)."""
        return {
            "campaign_id": self.campaign.campaign_id,
            "name": self.campaign.name,
            "status": self.campaign.status,
            "stop_reason": self.campaign.stop_reason,
            "started_at": self.campaign.started_at,
            "finished_at": self.campaign.finished_at,
            "objective": {"name": self.objective, "direction": self.direction},
            "documents": self.documents,
            "trials": [_trial_json(t) for t in self.trials],
            "best": _trial_json(self.best) if self.best else None,
            "versions": self.campaign.versions,
        }


def _trial_json(trial: TrialRow) -> dict[str, Any]:
    return {
        "trial_id": trial.trial_id,
        "state": trial.state.value,
        "parameters": trial.parameters,
        "outcome": trial.outcome,
        "origin": trial.origin,
        "reason": trial.reason,
        "run_uid": trial.run_uid,
    }


def summarize(record: CampaignRecord, campaign_id: str | None = None) -> CampaignSummary:
    """Summarise ``campaign_id`` (default: the latest campaign) from ``record``."""
    campaigns = record.campaigns()
    if not campaigns:
        raise RecordError(f"record {record.path} holds no campaign", path=str(record.path))
    if campaign_id is None:
        campaign = campaigns[-1]
    else:
        matches = [c for c in campaigns if c.campaign_id == campaign_id]
        if not matches:
            known = ", ".join(c.campaign_id for c in campaigns)
            raise RecordError(
                f"no campaign {campaign_id!r} in {record.path} (it holds: {known})",
                path=str(record.path),
            )
        campaign = matches[0]
    objective = campaign.spec["objective"]
    trials = record.trials(campaign.campaign_id)
    completed = [t for t in trials if t.state is TrialState.COMPLETED and t.outcome is not None]
    best = None
    if completed:
        sign = 1.0 if objective["direction"] == "maximize" else -1.0
        best = max(completed, key=lambda t: sign * (t.outcome or 0.0))
    return CampaignSummary(
        campaign=campaign,
        trials=trials,
        objective=objective["name"],
        direction=objective["direction"],
        best=best,
        documents=len(record.documents(campaign.campaign_id)),
    )
