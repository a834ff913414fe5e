"""Replay a recorded campaign against a simulator, and compare the two campaigns.

:func:`replay_station` and :func:`replay_spec` say what to run (the recorded campaign on
another station: the recorded experiments in order, or the planner afresh);
:func:`compare_campaigns` reads both records and pairs their trials: by trial id when the
recorded experiments were run again (same ids, same parameters), by experiment number
when the planner ran afresh. For each objective and outcome constraint it gives the
differences (simulated minus recorded) over the pairs where both completed: mean, mean and
largest absolute value, RMSE, Pearson correlation; and the trials whose states differ.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from genesis_lab.review._differences import DifferenceLimits, Exceedance
from genesis_lab.review._summary import CampaignSummary, summarize
from genesis_lab.spec import CampaignSpec, StationRef
from genesis_lab.store import CampaignRecord, TrialRow, TrialState

__all__ = [
    "CampaignSide",
    "OutcomeStats",
    "ReplayComparison",
    "TrialPair",
    "compare_campaigns",
    "replay_spec",
    "replay_station",
]

#: Relative tolerance under which two numeric parameter values count as the same.
PARAMETER_RTOL = 1e-9


def replay_station(
    recorded: StationRef, simulator: str, options: Mapping[str, Any] | None = None
) -> StationRef:
    """The station a replay runs on: plugin ``simulator`` with ``options`` over the recorded
    station's own options when it is the same plugin (same noise, seed, failure region:
    the recorded conditions), over the plugin's defaults otherwise."""
    same = simulator == recorded.plugin
    merged = {**(recorded.options if same else {}), **(options or {})}
    return StationRef(plugin=simulator, id=recorded.id if same else None, options=merged)


def replay_spec(
    spec: CampaignSpec, station: StationRef, *, closed_loop: bool, budget: int
) -> CampaignSpec:
    """The campaign a replay runs: ``spec`` on ``station``.

    With ``closed_loop`` it is the recorded campaign as it was (budget, seed, stopping
    rules, retries). Otherwise it re-runs ``budget`` recorded experiments exactly: no
    stopping rule cuts it short, and neither retries nor re-runs are added (the recorded
    ones are among the experiments re-run, at their place).
    """
    data = spec.model_dump()
    data["station"] = station.model_dump()
    if not closed_loop:
        data.update(
            budget=budget,
            initial_design=min(spec.initial_design, budget),
            stopping={},
            retry={"max_retries": 0},
            lease={**data["lease"], "rerun_interrupted": False},
        )
    return CampaignSpec.model_validate(data)


def _measured(row: TrialRow, primary: str) -> dict[str, float]:
    """A completed trial's measured values by name; nothing for any other trial."""
    if row.state is not TrialState.COMPLETED:
        return {}
    if row.outcomes is not None:
        return dict(row.outcomes)
    return {} if row.outcome is None else {primary: row.outcome}


def _same_value(a: object, b: object) -> bool:
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric):
        return math.isclose(float(a), float(b), rel_tol=PARAMETER_RTOL, abs_tol=1e-12)
    return a == b


@dataclass(frozen=True)
class TrialPair:
    """One experiment in both campaigns: ``number`` counts experiments from 1 (prior results
    not counted); ``recorded`` or ``simulated`` is None where that campaign has none;
    ``note`` says why (e.g. never dispatched in the record, so not re-run)."""

    number: int
    recorded: TrialRow | None
    simulated: TrialRow | None
    primary: str
    note: str = ""

    @property
    def same_parameters(self) -> bool | None:
        """Whether both ran the same parameter values (None if one side has no trial)."""
        if self.recorded is None or self.simulated is None:
            return None
        a, b = self.recorded.parameters, self.simulated.parameters
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)

    @property
    def state_mismatch(self) -> bool:
        """Both have the trial and it ended differently (e.g. COMPLETED in one, FAILED in
        the other)."""
        return (
            self.recorded is not None
            and self.simulated is not None
            and self.recorded.state is not self.simulated.state
        )

    def values(self, name: str) -> tuple[float | None, float | None]:
        """``(recorded, simulated)`` value of ``name``; None where it did not complete."""
        rec = _measured(self.recorded, self.primary) if self.recorded else {}
        sim = _measured(self.simulated, self.primary) if self.simulated else {}
        return rec.get(name), sim.get(name)

    def difference(self, name: str) -> float | None:
        """Simulated minus recorded value of ``name``, when both completed."""
        rec, sim = self.values(name)
        return None if rec is None or sim is None else sim - rec

    def to_json(self, names: list[str]) -> dict[str, Any]:
        def side(row: TrialRow | None) -> dict[str, Any] | None:
            if row is None:
                return None
            return {
                "trial_id": row.trial_id,
                "state": row.state.value,
                "origin": row.origin,
                "parameters": row.parameters,
                "outcomes": _measured(row, self.primary) or None,
                "reason": row.reason,
            }

        return {
            "number": self.number,
            "recorded": side(self.recorded),
            "simulated": side(self.simulated),
            "same_parameters": self.same_parameters,
            "state_mismatch": self.state_mismatch,
            "differences": {name: self.difference(name) for name in names},
            "note": self.note,
        }


@dataclass(frozen=True)
class OutcomeStats:
    """Simulated against recorded values of one measured quantity over ``pairs`` trials
    that completed in both: differences are simulated minus recorded, in its units;
    ``pearson_r`` is None with fewer than two pairs or when either side is constant."""

    name: str
    kind: str  # "objective" or "outcome constraint"
    pairs: int
    mean_difference: float | None
    mean_abs_difference: float | None
    max_abs_difference: float | None
    rmse: float | None
    pearson_r: float | None

    @classmethod
    def of(cls, name: str, kind: str, values: list[tuple[float, float]]) -> OutcomeStats:
        if not values:
            return cls(name, kind, 0, None, None, None, None, None)
        diffs = [sim - rec for rec, sim in values]
        r: float | None = None
        if len(values) >= 2:
            try:
                r = statistics.correlation([v[0] for v in values], [v[1] for v in values])
            except statistics.StatisticsError:  # a constant side: no correlation defined
                r = None
        return cls(
            name=name,
            kind=kind,
            pairs=len(values),
            mean_difference=statistics.fmean(diffs),
            mean_abs_difference=statistics.fmean(abs(d) for d in diffs),
            max_abs_difference=max(abs(d) for d in diffs),
            rmse=math.sqrt(statistics.fmean(d * d for d in diffs)),
            pearson_r=r,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "pairs": self.pairs,
            "mean_difference": self.mean_difference,
            "mean_abs_difference": self.mean_abs_difference,
            "max_abs_difference": self.max_abs_difference,
            "rmse": self.rmse,
            "pearson_r": self.pearson_r,
        }


@dataclass(frozen=True)
class CampaignSide:
    """One of the two campaigns: where it is, its station, how its trials ended, its best
    trial, its Pareto front (trial ids; several objectives) and hypervolume (several
    objectives; against the comparison's shared reference point)."""

    campaign_id: str
    record_path: str
    station: StationRef
    states: dict[str, int]
    best: TrialRow | None
    pareto_front: list[str]
    hypervolume: float | None

    def to_json(self, primary: str) -> dict[str, Any]:
        best = self.best
        return {
            "campaign_id": self.campaign_id,
            "record": self.record_path,
            "station": self.station.model_dump(mode="json"),
            "states": self.states,
            "best": None
            if best is None
            else {
                "trial_id": best.trial_id,
                "parameters": best.parameters,
                "outcomes": _measured(best, primary),
            },
            "pareto_front": self.pareto_front,
            "pareto_front_size": len(self.pareto_front),
            "hypervolume": self.hypervolume,
        }


@dataclass(frozen=True)
class ReplayComparison:
    """A recorded campaign and its replay on a simulator, trial by trial.

    ``closed_loop`` says the planner ran afresh (pairs by experiment number) rather than the
    recorded experiments being run again (pairs by trial id). ``measured`` lists every
    objective and outcome constraint as ``(name, kind)``; ``prior`` counts the prior results
    both campaigns started from (not run again); ``reference_point`` is the hypervolume
    reference shared by both sides (several objectives), in the objectives' units.
    """

    closed_loop: bool
    recorded: CampaignSide
    simulated: CampaignSide
    objectives: list[tuple[str, str]]  # (name, direction)
    measured: list[tuple[str, str]]
    pairs: list[TrialPair]
    stats: list[OutcomeStats]
    prior: int
    reference_point: dict[str, float] | None

    @property
    def primary(self) -> str:
        """The first objective's name."""
        return self.objectives[0][0]

    @property
    def state_mismatches(self) -> list[TrialPair]:
        """Pairs whose trial ended differently in the two campaigns."""
        return [p for p in self.pairs if p.state_mismatch]

    @property
    def parameter_mismatches(self) -> list[TrialPair]:
        """Pairs that ran different parameter values (closed loop: the planner chose
        differently; re-running recorded points: never)."""
        return [p for p in self.pairs if p.same_parameters is False]

    @property
    def first_divergence(self) -> int | None:
        """The first experiment number whose parameters differ, or which only one campaign
        ran; None when the two ran the same experiments throughout."""
        for pair in self.pairs:
            if pair.same_parameters is not True and not pair.note:
                return pair.number
        return None

    def exceeding(self, limits: DifferenceLimits) -> list[Exceedance]:
        """Every trial's objective or outcome constraint whose simulated value differs from
        the recorded one by more than ``limits`` allows (absolute difference, in its units),
        in experiment order. Trials that did not complete in both have no difference."""
        found = []
        for pair in self.pairs:
            for name, _kind in self.measured:
                limit = limits.limit(name)
                recorded, simulated = pair.values(name)
                if limit is None or recorded is None or simulated is None:
                    continue
                if abs(simulated - recorded) > limit:
                    row = pair.recorded or pair.simulated
                    trial_id = row.trial_id if row is not None else "?"
                    found.append(
                        Exceedance(pair.number, trial_id, name, recorded, simulated, limit)
                    )
        return found

    def to_json(self, limits: DifferenceLimits | None = None) -> dict[str, Any]:
        """The comparison as plain JSON types (what ``replay --against --json`` prints);
        with ``limits``, also each quantity's limit and what exceeds it."""
        names = [name for name, _ in self.measured]
        checked = {}
        if limits:
            checked = {
                "max_difference": limits.to_json(names),
                "exceeding": [e.to_json() for e in self.exceeding(limits)],
            }
        return {
            "mode": "closed-loop" if self.closed_loop else "recorded-experiments",
            "recorded": self.recorded.to_json(self.primary),
            "simulated": self.simulated.to_json(self.primary),
            "objectives": [{"name": n, "direction": d} for n, d in self.objectives],
            "measured": [{"name": n, "kind": k} for n, k in self.measured],
            "prior_results": self.prior,
            "trials": [pair.to_json(names) for pair in self.pairs],
            "statistics": [s.to_json() for s in self.stats],
            "state_mismatches": len(self.state_mismatches),
            "parameter_mismatches": len(self.parameter_mismatches),
            "first_divergence": self.first_divergence,
            "reference_point": self.reference_point,
            **checked,
        }


NOT_DISPATCHED = "never dispatched in the record: not re-run"


def compare_campaigns(
    recorded: CampaignRecord,
    recorded_id: str,
    simulated: CampaignRecord,
    simulated_id: str,
    *,
    closed_loop: bool,
) -> ReplayComparison:
    """Compare campaign ``recorded_id`` of ``recorded`` with its replay ``simulated_id``.

    Prior results are left out of the pairs (neither campaign ran them). Without
    ``closed_loop`` the trials pair by id; a recorded trial with no replayed twin was never
    dispatched (noted). With it they pair by experiment number.
    """
    summaries = summarize(recorded, recorded_id), summarize(simulated, simulated_id)
    spec = CampaignSpec.model_validate(summaries[0].campaign.spec)
    primary = spec.primary_objective.name
    rows = [[t for t in s.trials if t.origin != "prior"] for s in summaries]
    prior = sum(1 for t in summaries[0].trials if t.origin == "prior")
    pairs: list[TrialPair] = []
    if closed_loop:
        for i in range(max(len(rows[0]), len(rows[1]))):
            rec = rows[0][i] if i < len(rows[0]) else None
            sim = rows[1][i] if i < len(rows[1]) else None
            pairs.append(TrialPair(i + 1, rec, sim, primary))
    else:
        twins = {t.trial_id: t for t in rows[1]}
        for i, rec in enumerate(rows[0]):
            sim = twins.pop(rec.trial_id, None)
            pairs.append(TrialPair(i + 1, rec, sim, primary, "" if sim else NOT_DISPATCHED))
        for sim in twins.values():  # not expected: a trial the replay added (a manual one)
            pairs.append(TrialPair(len(pairs) + 1, None, sim, primary, "not in the record"))
    kinds = {o.name: "objective" for o in spec.all_objectives}
    kinds.update({c.name: "outcome constraint" for c in spec.outcome_constraints})
    stats = []
    for name, kind in kinds.items():
        values = [pair.values(name) for pair in pairs]
        both = [(r, s) for r, s in values if r is not None and s is not None]
        stats.append(OutcomeStats.of(name, kind, both))
    hypervolumes: list[float | None] = [None, None]
    reference: dict[str, float] | None = None
    if len(spec.all_objectives) > 1:
        fronts = [[_measured(t, primary) for t in s.pareto_front] for s in summaries]
        reference, hv = _hypervolumes(spec, fronts)
        hypervolumes = list(hv)
    return ReplayComparison(
        closed_loop=closed_loop,
        recorded=_side(recorded, summaries[0], hypervolumes[0]),
        simulated=_side(simulated, summaries[1], hypervolumes[1]),
        objectives=[(o.name, str(o.direction)) for o in spec.all_objectives],
        measured=list(kinds.items()),
        pairs=pairs,
        stats=stats,
        prior=prior,
        reference_point=reference,
    )


def _side(
    record: CampaignRecord, summary: CampaignSummary, hypervolume: float | None
) -> CampaignSide:
    campaign = summary.campaign
    spec = CampaignSpec.model_validate(campaign.spec)
    return CampaignSide(
        campaign_id=campaign.campaign_id,
        record_path=str(record.path),
        station=spec.station,
        states=dict(Counter(t.state.value for t in summary.trials)),
        best=summary.best,
        pareto_front=[t.trial_id for t in summary.pareto_front],
        hypervolume=hypervolume,
    )


def _hypervolumes(
    spec: CampaignSpec, fronts: list[list[dict[str, float]]]
) -> tuple[dict[str, float] | None, tuple[float | None, float | None]]:
    """Hypervolume of each campaign's Pareto front against one reference point: each
    objective's ``reference`` where the campaign gives one, else inferred (as BoTorch
    does) from the two fronts together. None for both when neither has a front."""
    # Imported here, after genesis_lab.planning: it imports BoTorch with gpytorch's import-time
    # deprecation warning silenced (see planning._acquisition).
    from botorch.utils.multi_objective.hypervolume import Hypervolume, infer_reference_point
    from botorch.utils.multi_objective.pareto import is_non_dominated

    objectives = spec.all_objectives
    signed = [
        torch.tensor(
            [[o.sign * point[o.name] for o in objectives] for point in front], dtype=torch.double
        ).reshape(-1, len(objectives))
        for front in fronts
    ]
    union = torch.cat(signed)
    if union.shape[0] == 0:
        return None, (None, None)
    inferred = infer_reference_point(union[is_non_dominated(union)])
    ref = torch.tensor(
        [
            o.sign * o.reference if o.reference is not None else float(inferred[i])
            for i, o in enumerate(objectives)
        ],
        dtype=torch.double,
    )
    volumes = []
    for Y in signed:
        Y = Y[(ref < Y).all(dim=-1)]
        volumes.append(
            float(Hypervolume(ref).compute(Y[is_non_dominated(Y)])) if Y.shape[0] else 0.0
        )
    reference = {o.name: o.sign * float(ref[i]) for i, o in enumerate(objectives)}
    return reference, (volumes[0], volumes[1])
