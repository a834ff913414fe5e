"""A campaign read back from its record: the trial table, the best result, the Pareto front."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genesis_lab.errors import RecordError
from genesis_lab.planning import non_dominated
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, CampaignRow, TrialRow, TrialState

__all__ = ["CampaignSummary", "TrialDetail", "summarize", "trial_detail"]


@dataclass(frozen=True)
class CampaignSummary:
    """Everything ``genesis-lab show`` prints.

    ``objective``/``direction`` are the first objective's; ``measured`` lists every
    objective and outcome constraint as ``(name, what)``, ``what`` being the direction or
    the limits. ``best`` is the best completed trial that satisfies the outcome constraints
    (the first objective, or the weighted sum); ``pareto_front`` the completed trials that
    satisfy them and that no other dominates in every objective (empty with one objective).
    """

    campaign: CampaignRow
    trials: list[TrialRow]
    objective: str
    direction: str
    best: TrialRow | None
    documents: int
    measured: list[tuple[str, str]]
    pareto_front: list[TrialRow]

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
            "measured": [{"name": name, "goal": goal} for name, goal in self.measured],
            "documents": self.documents,
            "trials": [_trial_json(t) for t in self.trials],
            "best": _trial_json(self.best) if self.best else None,
            "pareto_front": [t.trial_id for t in self.pareto_front],
            "versions": self.campaign.versions,
        }


def _trial_json(trial: TrialRow) -> dict[str, Any]:
    return {
        "trial_id": trial.trial_id,
        "state": trial.state.value,
        "parameters": trial.parameters,
        "outcome": trial.outcome,
        "outcomes": trial.outcomes,
        "origin": trial.origin,
        "explanation": trial.explanation,
        "reason": trial.reason,
        "run_uid": trial.run_uid,
        "station_id": trial.station_id,
        "worker": trial.worker,
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
        objective=CampaignSpec.model_validate(campaign.spec).primary_objective.name,
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
    spec = CampaignSpec.model_validate(campaign.spec)
    primary = spec.primary_objective
    trials = record.trials(campaign.campaign_id)
    results = [(t, _outcomes(t, primary.name)) for t in trials if t.state is TrialState.COMPLETED]
    usable = [(t, o) for t, o in results if all(name in o for name in spec.readings)]
    feasible = [
        (t, o) for t, o in usable if all(c.holds(o[c.name]) for c in spec.outcome_constraints)
    ]
    best = None
    if feasible:
        weights = {o.name: o.sign * o.weight for o in spec.all_objectives}
        if spec.multi_objective.method != "weighted" or len(weights) == 1:
            weights = {primary.name: primary.sign}
        best = max(feasible, key=lambda pair: sum(w * pair[1][n] for n, w in weights.items()))[0]
    front: list[TrialRow] = []
    if len(spec.all_objectives) > 1:
        points = [[o.sign * out[o.name] for o in spec.all_objectives] for _, out in feasible]
        front = [t for (t, _), keep in zip(feasible, non_dominated(points), strict=True) if keep]
    measured: list[tuple[str, str]] = [(o.name, str(o.direction)) for o in spec.all_objectives]
    measured += [(c.name, c.describe()) for c in spec.outcome_constraints]
    return CampaignSummary(
        campaign=campaign,
        trials=trials,
        objective=primary.name,
        direction=primary.direction,
        best=best,
        documents=record.document_count(campaign.campaign_id),
        measured=measured,
        pareto_front=front,
    )


def _outcomes(trial: TrialRow, primary: str) -> dict[str, float]:
    """A completed trial's measured values by name (a record written before several
    outcomes were kept has only the first objective's)."""
    if trial.outcomes is not None:
        return dict(trial.outcomes)
    return {} if trial.outcome is None else {primary: trial.outcome}
