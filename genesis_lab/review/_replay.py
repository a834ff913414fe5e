"""Replay a campaign's decisions from its record: does the planner propose what was recorded?

The record holds every call the campaign made on its planner (:mod:`._decisions`). Replay
builds a fresh planner from the campaign file as run and makes the same calls in the same
order; each ``tell`` takes the result the record's trial holds. Every ``ask`` must propose
what was recorded: the same trial ids and origins, and parameters within ``tolerance``
(max-norm in the unit cube, so a fraction of each parameter's range; a categorical choice
must be the same). The first proposal that differs ends the replay, and the record is
searched for why: another version of a package that decides results, a planner built with
other settings than the campaign file says (the seed), data changed after it was written
(the hash chain, and each told result against its own documents).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from genesis_lab.errors import CampaignFileError, PlannerError, RecordError
from genesis_lab.orchestration._decisions import planner_settings
from genesis_lab.orchestration._provenance import package_versions
from genesis_lab.planning import BayesianPlanner, Proposal, RandomPlanner
from genesis_lab.review._measured import check_trial_outcomes, run_outcomes
from genesis_lab.spec import CampaignSpec, parse_campaign
from genesis_lab.store import CampaignRecord, CampaignRow, TrialRow, verify_record

__all__ = ["DEFAULT_TOLERANCE", "Divergence", "ReplayResult", "replay_decisions"]

DEFAULT_TOLERANCE = 1e-6
"""Largest difference between a replayed and a recorded parameter, as a fraction of the
parameter's range, that still counts as the same proposal."""

_PLANNERS: dict[str, Callable[[CampaignSpec], Any]] = {
    "BayesianPlanner": BayesianPlanner.from_spec,
    "RandomPlanner": RandomPlanner.from_spec,
}


@dataclass(frozen=True)
class Divergence:
    """The first proposal that is not what the record says: ``ask`` is the ask's number
    (1 = the campaign's first), ``difference`` the largest parameter difference (fraction
    of its range; ``inf`` for another choice or another trial id or origin)."""

    ask: int
    trial_id: str
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    recorded_origin: str
    replayed_origin: str
    difference: float


@dataclass
class ReplayResult:
    """How a replay went: ``proposals`` checked, the first ``divergence`` (None: every
    proposal matched) and ``causes`` found in the record for it."""

    campaign_id: str
    tolerance: float
    asks: int = 0
    proposals: int = 0
    largest_difference: float = 0.0
    divergence: Divergence | None = None
    causes: list[str] = field(default_factory=list)
    record_problems: list[str] = field(default_factory=list)
    """What makes the record not what was run, even where every proposal matched: a
    trial's result that is not what its own documents measured, a campaign file text that
    does not say what the parsed campaign says."""

    @property
    def ok(self) -> bool:
        return self.divergence is None and not self.record_problems


def replay_decisions(
    record: CampaignRecord,
    campaign_id: str | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Replay campaign ``campaign_id``'s (default: the latest campaign's) planner calls from
    ``record`` (see the module);
    ``progress(done, total)`` is called after each ask. ``RecordError`` if the record holds
    no decisions to replay."""
    campaign = _campaign(record, campaign_id)
    campaign_id = campaign.campaign_id
    spec = CampaignSpec.model_validate(campaign.spec)
    calls = record.planner_calls(campaign_id)
    if not calls:
        raise RecordError(
            f"campaign {campaign_id} in {record.path} recorded no planner calls (written by "
            "an older genesis-lab?); there is nothing to replay",
            path=str(record.path),
        )
    trials = {row.trial_id: row for row in record.trials(campaign_id)}
    result = ReplayResult(campaign_id, tolerance)
    total = sum(call["op"] == "ask" for call in calls)
    planner: Any = None
    try:
        for call in calls:
            if call["op"] == "planner":
                planner = _build(call, spec, result)
            elif planner is None:
                raise RecordError(f"the first planner call is {call['op']!r}, not 'planner'")
            elif call["op"] == "ask":
                result.asks += 1
                if not _check_ask(planner, call, result):
                    break
                if progress is not None:
                    progress(result.asks, total)
            else:
                _apply(planner, call, trials, spec)
    except (PlannerError, KeyError) as exc:
        result.divergence = result.divergence or Divergence(
            result.asks, "", {}, {}, "", "", math.inf
        )
        result.causes.append(f"the recorded history cannot be replayed: {exc}")
    result.record_problems += [str(p) for p in check_trial_outcomes(record, campaign_id)]
    result.record_problems += _spec_text_problems(campaign)
    if result.divergence is not None:
        result.causes += _causes(record, campaign, spec, trials, calls)
    return result


#: What ``run`` may override in the campaign file (``--budget``, ``--seed``; a budget below
#: the initial design lowers that too; ``--planner``, the planner's kind alone): the parsed
#: campaign may differ from the text there.
_OVERRIDABLE = frozenset({"budget", "seed", "initial_design"})
_OVERRIDABLE_IN = {"planner": frozenset({"kind"})}


def _comparable(key: str, value: Any) -> Any:
    if isinstance(value, dict) and key in _OVERRIDABLE_IN:
        return {k: v for k, v in value.items() if k not in _OVERRIDABLE_IN[key]}
    return value


def _spec_text_problems(campaign: CampaignRow) -> list[str]:
    """Where the campaign file text in the record and the parsed campaign disagree (beyond
    what ``run``'s options override); nothing to compare if the record holds no text."""
    if not campaign.spec_text.strip():
        return []
    try:
        parsed = parse_campaign(campaign.spec_text).spec.model_dump(mode="json")
    except CampaignFileError as exc:
        return [f"the campaign file text in the record does not parse: {exc}"]
    differing = sorted(
        key
        for key in parsed.keys() | campaign.spec.keys()
        if key not in _OVERRIDABLE
        and _comparable(key, parsed.get(key)) != _comparable(key, campaign.spec.get(key))
    )
    if not differing:
        return []
    return [
        f"the campaign file text in the record and the parsed campaign it ran differ in "
        f"{', '.join(differing)}: one of them was altered"
    ]


def _campaign(record: CampaignRecord, campaign_id: str | None) -> CampaignRow:
    campaigns = record.campaigns()
    if campaign_id is None and campaigns:
        return campaigns[-1]
    for row in campaigns:
        if row.campaign_id == campaign_id:
            return row
    if campaign_id is None:
        raise RecordError(f"{record.path} holds no campaign", path=str(record.path))
    raise RecordError(f"no campaign {campaign_id!r} in {record.path}", path=str(record.path))


def _build(call: Mapping[str, Any], spec: CampaignSpec, result: ReplayResult) -> Any:
    """A fresh planner of the recorded kind, from the campaign file as run."""
    make = _PLANNERS.get(call.get("kind", ""))
    if call.get("kind") == "ScriptedPlanner":
        raise RecordError(
            "this record is a replay against a simulator: its planner only re-ran recorded "
            "points, so there are no decisions to replay; replay the original record"
        )
    if make is None:
        raise RecordError(
            f"cannot replay a planner of kind {call.get('kind')!r}; replay knows "
            f"{', '.join(sorted(_PLANNERS))}"
        )
    return make(spec)


def _outcomes(row: TrialRow, spec: CampaignSpec) -> dict[str, float]:
    if row.outcomes:
        return dict(row.outcomes)
    if row.outcome is None:
        raise PlannerError(f"trial {row.trial_id} was told but the record holds no result")
    return {spec.primary_objective.name: float(row.outcome)}


def _apply(
    planner: Any, call: Mapping[str, Any], trials: Mapping[str, TrialRow], spec: CampaignSpec
) -> None:
    """Make one recorded call that is not an ask; results come from the record's trials."""
    op = call["op"]
    if op == "tell":
        planner.tell(call["trial_id"], _outcomes(trials[call["trial_id"]], spec))
    elif op == "forget":
        planner.forget(call["trial_id"], failed=bool(call["failed"]))
    elif op == "suggest":
        proposal = planner.suggest(call["parameters"], origin=call["origin"])
        if proposal.trial_id != call["trial_id"]:
            raise PlannerError(f"suggest numbered {proposal.trial_id}, not {call['trial_id']}")
    elif op == "observe":
        row = trials[call["trial_id"]]
        trial_id = planner.observe(row.parameters, _outcomes(row, spec), origin=call["origin"])
        if trial_id != call["trial_id"]:
            raise PlannerError(f"observe numbered {trial_id}, not {call['trial_id']}")
    elif op == "restore":
        planner.restore(call["trial_id"], call["parameters"], origin=call["origin"])
    else:
        raise RecordError(f"unknown planner call {op!r} in the record")


def _check_ask(planner: Any, call: Mapping[str, Any], result: ReplayResult) -> bool:
    """Ask as recorded and compare; False (and ``result.divergence`` set) on a difference."""
    replayed: list[Proposal] = planner.ask(int(call["n"]))
    recorded = call["proposals"]
    for new, old in zip(replayed, recorded, strict=True):
        result.proposals += 1
        difference = _difference(planner, new, old)
        if difference <= result.tolerance:
            result.largest_difference = max(result.largest_difference, difference)
            continue
        result.divergence = Divergence(
            ask=result.asks,
            trial_id=old["trial_id"],
            recorded=dict(old["parameters"]),
            replayed=dict(new.parameters),
            recorded_origin=old["origin"],
            replayed_origin=new.origin,
            difference=difference,
        )
        return False
    return True


def _difference(planner: Any, new: Proposal, old: Mapping[str, Any]) -> float:
    if new.trial_id != old["trial_id"] or new.origin != old["origin"]:
        return math.inf
    if new.parameters.keys() != old["parameters"].keys():
        return math.inf
    unit = planner.space.to_unit([new.parameters, old["parameters"]])
    fixed = [p for p in planner.space.parameters if p.name not in planner.space.searched]
    if any(new.parameters[p.name] != old["parameters"][p.name] for p in fixed):
        return math.inf
    return float((unit[0] - unit[1]).abs().max()) if unit.shape[1] else 0.0


def _causes(
    record: CampaignRecord,
    campaign: CampaignRow,
    spec: CampaignSpec,
    trials: Mapping[str, TrialRow],
    calls: list[dict[str, Any]],
) -> list[str]:
    """What in the record could explain a divergence, most telling first."""
    causes = []
    verification = verify_record(record)
    if not verification.ok:
        causes.append(
            f"the record was changed after it was written: {verification.problems[0]}"
            + (f" (and {len(verification.problems) - 1} more)" if verification.problems[1:] else "")
        )
    for trial_id, measured in _measured(record, campaign.campaign_id, spec, trials).items():
        told = _outcomes(trials[trial_id], spec)
        if any(told.get(name) != value for name, value in measured.items()):
            causes.append(
                f"trial {trial_id}'s recorded result {told} is not what its documents "
                f"measured {measured}: edited data"
            )
    for call in calls:
        if call["op"] == "planner":
            built = planner_settings(_PLANNERS[call["kind"]](spec))
            changed = {
                k: (v, built.get(k)) for k, v in call.items() if k != "op" and built.get(k) != v
            }
            for name, (ran, now) in changed.items():
                causes.append(
                    f"the planner ran with {name}={ran!r} but the campaign file in the record "
                    f"says {name}={now!r} (a different seed or setting)"
                )
    installed = package_versions()
    differing = [
        f"{name} {version} made the record, {installed.get(name, 'nothing')} replays it"
        for name, version in campaign.versions.items()
        if installed.get(name) != version
    ]
    if differing:  # the packages that decide results come first
        more = f" (and {len(differing) - 5} more)" if len(differing) > 5 else ""
        causes.append(f"different versions: {'; '.join(differing[:5])}{more}")
    if not causes:
        causes.append(
            "none found in the record: same versions, settings and data; a different machine "
            "(CPU, BLAS) can change the last digits of a model fit"
        )
    return causes


def _measured(
    record: CampaignRecord, campaign_id: str, spec: CampaignSpec, trials: Mapping[str, TrialRow]
) -> dict[str, dict[str, float]]:
    """Each completed campaign trial's result as its stored documents give it."""
    measured: dict[str, dict[str, float]] = {}
    for trial_id, row in trials.items():
        if row.origin == "prior" or row.outcomes is None:
            continue
        outcomes = run_outcomes(row, record.documents(campaign_id, trial_id), spec.readings)
        if outcomes:
            measured[trial_id] = outcomes
    return measured
