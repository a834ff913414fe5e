"""What a campaign report shows, read from the record: every trial numbered in the order it
was proposed, its measured values and whether it counts, and the campaign's provenance.

The figures (:mod:`._figures`) and the HTML (:mod:`._report`) are drawn from this alone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from genesis_lab.errors import CampaignFileError, RecordError
from genesis_lab.review._integrity import check_record
from genesis_lab.review._summary import CampaignSummary, summarize
from genesis_lab.spec import (
    CampaignSpec,
    CategoricalParameter,
    FixedParameter,
    Parameter,
    parse_campaign,
)
from genesis_lab.store import CampaignRecord, CampaignRow, TrialRow, TrialState, Verification

__all__ = [
    "Override",
    "ReportData",
    "ReportEvent",
    "ReportTrial",
    "categories",
    "collect_report",
    "spec_overrides",
]


@dataclass(frozen=True)
class ReportTrial:
    """One trial as the report draws it.

    ``number`` is the experiment number, 1, 2, ... in the order the campaign proposed its
    trials, and 0 for a result imported from earlier work (origin ``prior``): the campaign
    started knowing it. ``values`` holds every measured objective and outcome-constraint
    value by name (empty unless COMPLETED). ``feasible``: completed, every value measured,
    and every outcome constraint holds (what may count as the best)."""

    trial: TrialRow
    number: int
    values: dict[str, float]
    feasible: bool

    @property
    def prior(self) -> bool:
        """Whether the result was imported rather than run by this campaign."""
        return self.trial.origin == "prior"

    @property
    def prediction(self) -> dict[str, dict[str, float | None]]:
        """What the model predicted when it chose this trial, by outcome name:
        ``{"mean": ..., "std": ...}`` in the outcome's units; empty if no model chose it."""
        why = self.trial.explanation or {}
        if "predicted_mean" not in why:  # a manual or retried trial's note, or nothing
            return {}
        predictions = why.get("predictions")
        out: dict[str, dict[str, float | None]] = {}
        if isinstance(predictions, dict):
            out = {str(k): dict(v) for k, v in predictions.items() if isinstance(v, dict)}
        return out


@dataclass(frozen=True)
class ReportEvent:
    """A moment of the campaign's life: ``started``, ``paused``, ``resumed``, ``stopped``...
    at ``at`` (Unix time), by ``actor`` (``user@host``; empty when the record does not say)."""

    event: str
    detail: str
    at: float
    actor: str


@dataclass(frozen=True)
class Override:
    """A value the campaign ran with that differs from its campaign file: ``key`` is a
    dotted path (``budget``, ``planner.kind``), ``in_file`` what the file says (None: the
    file leaves it to the default), ``as_run`` what the campaign ran with."""

    key: str
    in_file: Any
    as_run: Any


@dataclass(frozen=True)
class ReportData:
    """One campaign of a record, ready to draw."""

    record_path: Path
    summary: CampaignSummary
    spec: CampaignSpec
    trials: list[ReportTrial]
    events: list[ReportEvent]
    verification: Verification
    """What every check of ``genesis-lab verify`` found (:func:`check_record`): the hash
    chain's head and length, and every place the record is not what was written (none for
    an intact record)."""
    overrides: list[Override] = field(default_factory=list)
    """Where the campaign as run differs from its campaign file (``run --budget``,
    ``--seed``, ``--planner``); empty when it does not, or the record holds no file text."""

    @property
    def searched(self) -> list[Parameter]:
        """The parameters the planner searched (every one but the fixed)."""
        return [p for p in self.spec.parameters if not isinstance(p, FixedParameter)]

    @property
    def measured(self) -> list[str]:
        """Every objective's and outcome constraint's name, objectives first."""
        return [o.name for o in self.spec.all_objectives] + [
            c.name for c in self.spec.outcome_constraints
        ]

    @property
    def weighted(self) -> bool:
        """Whether the planner optimises one weighted sum of several objectives."""
        return len(self.spec.all_objectives) > 1 and self.spec.multi_objective.method == "weighted"

    def weighted_sum(self, trial: ReportTrial) -> float | None:
        """The number a weighted campaign's planner maximises, ``sum(weight * signed
        value)`` over the objectives (each signed so that larger is better); None for a
        trial without every objective's value."""
        objectives = self.spec.all_objectives
        if not all(o.name in trial.values for o in objectives):
            return None
        return sum(o.weight * o.sign * trial.values[o.name] for o in objectives)

    def weighted_formula(self) -> str:
        """The weighted sum as text, e.g. ``−1×colour_error − 0.5×dye_cost`` (larger better)."""
        terms = []
        for index, o in enumerate(self.spec.all_objectives):
            w = o.weight * o.sign
            sign = ("−" if w < 0 else "") if index == 0 else ("− " if w < 0 else "+ ")
            terms.append(f"{sign}{abs(w):g}×{o.name}")
        return " ".join(terms)

    def units(self, name: str) -> str:
        """Units of a parameter, objective or outcome constraint ('' if none given)."""
        for item in (*self.spec.parameters, *self.spec.all_objectives):
            if item.name == name:
                return item.units
        for constraint in self.spec.outcome_constraints:
            if constraint.name == name:
                return constraint.units
        return ""

    def in_state(self, *states: TrialState) -> list[ReportTrial]:
        """The trials now in one of ``states``, in order."""
        return [t for t in self.trials if t.trial.state in states]


def categories(parameter: Parameter, trials: list[ReportTrial]) -> list[str]:
    """A categorical parameter's choices in campaign order, then any other value the record
    holds for it (a rejected request may carry one), as text."""
    found = [str(t.trial.parameters.get(parameter.name)) for t in trials]
    known = list(parameter.choices) if isinstance(parameter, CategoricalParameter) else []
    return known + sorted(set(found) - set(known))


def collect_report(record: CampaignRecord, campaign_id: str | None = None) -> ReportData:
    """Read ``campaign_id`` (default: the newest campaign) from ``record`` for a report.

    Raises :class:`~genesis_lab.errors.RecordError` when the record holds no such campaign,
    cannot be read, or holds a campaign file this version cannot read."""
    try:
        summary = summarize(record, campaign_id)
        cid = summary.campaign.campaign_id
        events = [_event(e) for e in record.campaign_events(cid)]
        verification = check_record(record).chain
    except sqlite3.Error as exc:
        raise RecordError(
            f"cannot read record {record.path}: {exc}; is it a genesis-lab record?",
            path=str(record.path),
        ) from exc
    except ValidationError as exc:
        raise RecordError(
            f"the campaign file stored in {record.path} is not one this version of "
            f"genesis-lab reads ({exc.error_count()} problems, the first: "
            f"{exc.errors()[0]['msg']}); report it with the version that ran it",
            path=str(record.path),
        ) from exc
    spec = CampaignSpec.model_validate(summary.campaign.spec)
    measured = [o.name for o in spec.all_objectives] + [c.name for c in spec.outcome_constraints]
    trials: list[ReportTrial] = []
    number = 0
    for row in summary.trials:
        if row.origin != "prior":
            number += 1
        values: dict[str, float] = {}
        if row.state is TrialState.COMPLETED:
            stored = row.outcomes if row.outcomes is not None else {}
            if not stored and row.outcome is not None:  # a record from before several outcomes
                stored = {spec.primary_objective.name: row.outcome}
            values = {k: float(v) for k, v in stored.items() if k in measured}
        feasible = (
            row.state is TrialState.COMPLETED
            and all(name in values for name in measured)
            and all(c.holds(values[c.name]) for c in spec.outcome_constraints)
        )
        trials.append(ReportTrial(row, 0 if row.origin == "prior" else number, values, feasible))
    return ReportData(
        record_path=record.path,
        summary=summary,
        spec=spec,
        trials=trials,
        events=events,
        verification=verification,
        overrides=spec_overrides(summary.campaign, spec),
    )


def spec_overrides(campaign: CampaignRow, spec: CampaignSpec) -> list[Override]:
    """Every value of the campaign as run (``spec``, the record's parsed campaign) that
    differs from the campaign file text the record holds, by dotted key in file order;
    empty without file text or when the text no longer parses (replay reports that)."""
    if not campaign.spec_text.strip():
        return []
    try:
        in_file = parse_campaign(campaign.spec_text).spec.model_dump(mode="json")
    except CampaignFileError:
        return []
    found: list[Override] = []
    _differences("", in_file, spec.model_dump(mode="json"), found)
    return found


def _differences(prefix: str, old: Any, new: Any, found: list[Override]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            _differences(f"{prefix}{key}.", old.get(key), new.get(key), found)
    elif old != new:
        found.append(Override(prefix.removesuffix("."), old, new))


def _event(event: Any) -> ReportEvent:
    """A campaign event as the store returns it: ``CampaignEvent(event, detail, at, actor)``
    (or, from an older store, a plain ``(event, detail, at)`` tuple)."""
    if hasattr(event, "event"):
        return ReportEvent(
            str(event.event), str(event.detail), float(event.at), str(getattr(event, "actor", ""))
        )
    name, detail, at, *rest = event
    return ReportEvent(str(name), str(detail), float(at), str(rest[0]) if rest else "")
