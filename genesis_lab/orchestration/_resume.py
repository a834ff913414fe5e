"""Take a campaign back from its record after the orchestrator stopped (or was killed).

The record is the one source of truth: the planner is rebuilt by restoring every trial in
the order it was numbered and telling or forgetting it as the record says; trials still in
flight are tracked again, with what their stored documents already showed (the run's
start, the readings, the stop), so the documents and statuses the workers send again fit
in where they left off; manual trials, retries and re-runs that were queued (recorded
PROPOSED when numbered) but not yet dispatched are queued again, under their numbers.
Nothing the record holds as ended is told to the planner twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from genesis_lab.errors import PlannerError, RecordError
from genesis_lab.orchestration._documents import apply_document
from genesis_lab.orchestration._trials import UNREACHED, InFlight
from genesis_lab.planning import Planner, Proposal
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, TrialState

__all__ = ["RestoredCampaign", "reopen_campaign", "restore_campaign"]

log = logging.getLogger(__name__)

NEVER_SENT = (
    f"never dispatched: the orchestrator stopped between proposing and sending it; {UNREACHED}"
)

#: Origins of the trials the loop numbers and records when it queues them, possibly long
#: before their dispatch (``CampaignRunner._queue``): left PROPOSED, they are queued again.
QUEUED_ORIGINS = frozenset({"manual", "retry", "rerun"})


@dataclass
class RestoredCampaign:
    """What the campaign loop needs to carry on where the record ends."""

    in_flight: dict[str, InFlight] = field(default_factory=dict)
    dispatched: set[str] = field(default_factory=set)
    #: Dispatched, then abandoned before they ran: not counted against the budget.
    unspent: set[str] = field(default_factory=set)
    finished: int = 0
    attempts: dict[str, int] = field(default_factory=dict)
    ended: dict[str, TrialState] = field(default_factory=dict)
    completed_outcomes: list[dict[str, float]] = field(default_factory=list)
    #: Manual trials, retries and re-runs queued but not dispatched, in order: run first.
    queued: list[Proposal] = field(default_factory=list)


def reopen_campaign(record: CampaignRecord, campaign_id: str, *, actor: str = "") -> None:
    """Mark campaign ``campaign_id`` of ``record`` running again; refuse one that completed."""
    rows = [c for c in record.campaigns() if c.campaign_id == campaign_id]
    if not rows:
        raise RecordError(f"no campaign {campaign_id!r} in {record.path}", path=str(record.path))
    if rows[0].status == "completed":
        raise RecordError(
            f"campaign {campaign_id} in {record.path} has completed ({rows[0].stop_reason}); "
            "there is nothing to resume",
            path=str(record.path),
        )
    record.reopen_campaign(campaign_id, detail=f"resumed (it was {rows[0].status})", actor=actor)


def restore_campaign(
    record: CampaignRecord, campaign_id: str, spec: CampaignSpec, planner: Planner
) -> RestoredCampaign:
    """Rebuild ``planner`` (fresh, of the campaign's spec) and the loop's state from ``record``.

    A manual trial, retry or re-run the loop had queued but not dispatched is queued again,
    under its own number. Any other trial proposed but never dispatched is abandoned (it
    never reached the wire). Neither a trial that was never dispatched nor one abandoned
    before any worker took it (:data:`UNREACHED`) counts against the budget."""
    restored = RestoredCampaign()
    primary = spec.primary_objective.name
    sent = {
        trial_id
        for trial_id, _old, new, _reason, _at in record.transitions(campaign_id)
        if new == TrialState.DISPATCHED
    }
    for row in record.trials(campaign_id):
        if row.origin == "prior":
            outcomes = row.outcomes or {primary: float(row.outcome or 0.0)}
            planner.observe(row.parameters, outcomes, origin="prior")
            restored.completed_outcomes.append(dict(outcomes))
            continue
        try:
            proposal = planner.restore(row.trial_id, row.parameters, origin=row.origin)
        except PlannerError as exc:
            raise RecordError(
                f"cannot resume campaign {campaign_id} from {record.path}: {exc}",
                path=str(record.path),
            ) from exc
        if row.origin == "retry" and row.explanation is not None:
            restored.attempts[row.trial_id] = int(row.explanation.get("attempt", 1))
        if row.state is TrialState.PROPOSED and row.origin in QUEUED_ORIGINS:
            restored.queued.append(proposal)  # pending in the planner, as it was when queued
            continue
        if row.state is TrialState.PROPOSED:
            planner.forget(row.trial_id)
            record.transition(campaign_id, row.trial_id, TrialState.ABANDONED, reason=NEVER_SENT)
            continue
        if row.trial_id not in sent:
            # Abandoned before its dispatch (by an earlier resume, or the campaign ended
            # first): it reached no instrument and cost nothing.
            planner.forget(row.trial_id)
            continue
        restored.dispatched.add(row.trial_id)
        if row.state not in (TrialState.DISPATCHED, TrialState.RUNNING):
            restored.ended[row.trial_id] = row.state
        if row.state is TrialState.COMPLETED:
            outcomes = row.outcomes or {primary: float(row.outcome or 0.0)}
            planner.tell(row.trial_id, outcomes)
            restored.completed_outcomes.append(dict(outcomes))
            restored.finished += 1
        elif row.state in (TrialState.FAILED, TrialState.REJECTED, TrialState.ABANDONED):
            planner.forget(row.trial_id, failed=row.state is not TrialState.ABANDONED)
            if row.state is TrialState.ABANDONED and row.reason.endswith(UNREACHED):
                restored.unspent.add(row.trial_id)
            else:
                restored.finished += 1
        else:  # DISPATCHED or RUNNING: still in flight
            trial = InFlight(proposal, time.monotonic(), state=row.state, run_uid=row.run_uid)
            for doc in record.documents(campaign_id, row.trial_id):
                apply_document(trial, doc.name, doc.doc, spec.readings)
            restored.in_flight[row.trial_id] = trial
    log.info(
        "restored campaign %s: %d trials ended, %d in flight, %d queued",
        campaign_id,
        restored.finished,
        len(restored.in_flight),
        len(restored.queued),
    )
    return restored
