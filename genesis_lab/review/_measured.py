"""A trial's result as its own stored documents give it, and a check of every trial's.

A completed trial's outcomes are the mean of each reading over the events of its run: the
run whose start document is the trial's ``run_uid`` and names its campaign and trial, the
descriptors of that run, and the events of those descriptors; nothing else counts. Someone
who edits a trial's outcome in the record (and re-hashes the chain after it) leaves the
documents, which the station signed, saying otherwise: :func:`check_trial_outcomes` finds
it, for ``genesis-lab verify`` and ``replay``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from genesis_lab.orchestration._documents import apply_document
from genesis_lab.orchestration._trials import InFlight
from genesis_lab.planning import Proposal
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, DocumentRow, RecordProblem, TrialRow, TrialState

__all__ = ["check_trial_outcomes", "run_outcomes"]

_REL_TOLERANCE = 1e-12  # the mean is recomputed in the same order: the same float


def run_outcomes(
    row: TrialRow, documents: Iterable[DocumentRow], readings: Mapping[str, str]
) -> dict[str, float]:
    """The outcomes (objective name -> mean over the run's events) of trial ``row`` as the
    documents of its own run give them; {} if none of them carries a reading."""
    trial = InFlight(Proposal(row.trial_id, dict(row.parameters), row.origin), 0.0)
    descriptors: set[str] = set()
    for doc in documents:
        body = doc.doc
        if doc.name == "start":
            own = body.get("uid") == row.run_uid and body.get("trial_id") == row.trial_id
            if not own or body.get("campaign_id") != row.campaign_id:
                continue
        elif doc.name == "descriptor":
            if body.get("run_start") != row.run_uid:
                continue
            descriptors.add(str(body.get("uid")))
        elif doc.name == "event":
            if body.get("descriptor") not in descriptors:
                continue
        elif doc.name == "stop" and body.get("run_start") != row.run_uid:
            continue
        apply_document(trial, doc.name, body, readings)
    return trial.outcomes


def _differs(stored: float, measured: float) -> bool:
    return not math.isclose(stored, measured, rel_tol=_REL_TOLERANCE, abs_tol=0.0)


def check_trial_outcomes(
    record: CampaignRecord, campaign_id: str | None = None
) -> list[RecordProblem]:
    """Every completed trial (of ``campaign_id``, default every campaign) whose stored
    outcomes are not what its own run's documents measured (prior results, which have no
    documents, are not checked)."""
    problems: list[RecordProblem] = []
    for campaign in record.campaigns():
        cid = campaign.campaign_id
        if campaign_id is not None and cid != campaign_id:
            continue
        spec = CampaignSpec.model_validate(campaign.spec)
        for row in record.trials(cid):
            if row.state is not TrialState.COMPLETED or row.origin == "prior":
                continue
            where = f"campaign {cid}: trial {row.trial_id}"
            measured = run_outcomes(row, record.documents(cid, row.trial_id), spec.readings)
            stored = row.outcomes or {}
            for name in sorted(stored.keys() | measured.keys()):
                if name not in measured:
                    what = f"outcome {name} = {stored[name]!r}, but no event of its run has it"
                elif name not in stored:
                    what = f"has no outcome {name}, but its run measured {measured[name]!r}"
                elif _differs(stored[name], measured[name]):
                    what = (
                        f"outcome {name} = {stored[name]!r}, but its own run's documents "
                        f"measured {measured[name]!r}: the result was altered"
                    )
                else:
                    continue
                problems.append(RecordProblem(where, what))
            primary = spec.primary_objective.name
            if row.outcome is not None and primary in stored and row.outcome != stored[primary]:
                problems.append(
                    RecordProblem(
                        where,
                        f"outcome {row.outcome!r} is not its {primary} {stored[primary]!r}",
                    )
                )
    return problems
