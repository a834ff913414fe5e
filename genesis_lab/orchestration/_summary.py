"""A campaign read back from its record: the trial table and the best result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genesis_lab.errors import RecordError
from genesis_lab.store import CampaignRecord, CampaignRow, TrialRow, TrialState

__all__ = ["CampaignSummary", "TrialDetail", "summarize", "trial_detail"]


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
        "explanation": trial.explanation,
        "reason": trial.reason,
        "run_uid": trial.run_uid,
    }


@dataclass(frozen=True)
class TrialDetail:
    """One trial in full: what ``genesis-lab show --trial`` prints."""

    campaign_id: str
    objective: str
    trial: TrialRow
    history: list[tuple[str | None, str, str, float]]  # (from, to, reason, at)
    documents: list[str]  # document names, in the order received

    def to_json(self) -> dict[str, Any]:
        """The detail as plain JSON types."""
        return {
            "campaign_id": self.campaign_id,
            "objective": self.objective,
            **_trial_json(self.trial),
            "history": [
                {"from": old, "to": new, "reason": reason, "at": at}
                for old, new, reason, at in self.history
            ],
            "documents": self.documents,
        }


def trial_detail(
    record: CampaignRecord, trial_id: str, campaign_id: str | None = None
) -> TrialDetail:
    """Everything the record holds about one trial of ``campaign_id`` (default: latest)."""
    campaign = _campaign(record, campaign_id)
    trials = {t.trial_id: t for t in record.trials(campaign.campaign_id)}
    if trial_id not in trials:
        known = f"{min(trials)}..{max(trials)}" if trials else "none"
        raise RecordError(
            f"no trial {trial_id!r} in campaign {campaign.campaign_id} (its trials: {known})",
            path=str(record.path),
        )
    history = [
        (old, new, reason, at)
        for tid, old, new, reason, at in record.transitions(campaign.campaign_id)
        if tid == trial_id
    ]
    documents = [d.name for d in record.documents(campaign.campaign_id, trial_id)]
    return TrialDetail(
        campaign_id=campaign.campaign_id,
        objective=campaign.spec["objective"]["name"],
        trial=trials[trial_id],
        history=history,
        documents=documents,
    )


def _campaign(record: CampaignRecord, campaign_id: str | None) -> CampaignRow:
    campaigns = record.campaigns()
    if not campaigns:
        raise RecordError(f"record {record.path} holds no campaign", path=str(record.path))
    if campaign_id is None:
        return campaigns[-1]
    matches = [c for c in campaigns if c.campaign_id == campaign_id]
    if not matches:
        known = ", ".join(c.campaign_id for c in campaigns)
        raise RecordError(
            f"no campaign {campaign_id!r} in {record.path} (it holds: {known})",
            path=str(record.path),
        )
    return matches[0]


def summarize(record: CampaignRecord, campaign_id: str | None = None) -> CampaignSummary:
    """Summarise ``campaign_id`` (default: the latest campaign) from ``record``."""
    campaign = _campaign(record, campaign_id)
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
        documents=record.document_count(campaign.campaign_id),
    )
