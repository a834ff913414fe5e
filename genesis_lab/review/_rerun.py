"""Run a recorded campaign again on a simulated station (``replay --against``): the
recorded experiments in the recorded order, or with ``closed_loop`` the campaign's planner
afresh; then compare recorded with simulated outcomes, trial by trial.

The record is opened read-only and never written; the replay is a campaign of its own, in
its own record (by default next to the original: ``<stem>.replay-<simulator>.sqlite``, or
``<stem>.closed-loop-<simulator>.sqlite`` with ``closed_loop``), run on an embedded broker
by a worker in this process. :func:`plan_rerun` checks everything a reviewer can get wrong
before anything runs (:class:`~genesis_lab.errors.ReplayError`); :func:`run_rerun` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from genesis_lab.errors import GenesisLabError, PlannerError, ReplayError
from genesis_lab.messaging import broker_session
from genesis_lab.orchestration import CampaignRunner, PriorResult, new_campaign_id
from genesis_lab.review._against import (
    ReplayComparison,
    compare_campaigns,
    replay_spec,
    replay_station,
)
from genesis_lab.review._scripted import ScriptedPlanner, replay_script
from genesis_lab.review._summary import summarize
from genesis_lab.spec import CampaignFile, CampaignSpec, StationRef
from genesis_lab.store import CampaignRecord

if TYPE_CHECKING:
    from genesis_lab.orchestration import Progress
    from genesis_lab.planning import Planner

__all__ = ["Rerun", "default_replay_path", "plan_rerun", "run_rerun"]


def default_replay_path(record_path: Path, simulator: str, *, closed_loop: bool) -> Path:
    """Where a replay's record goes unless told: next to the original record."""
    kind = "closed-loop" if closed_loop else "replay"
    return record_path.with_name(f"{record_path.stem}.{kind}-{simulator}.sqlite")


@dataclass(frozen=True)
class Rerun:
    """A replay against a simulator, checked and ready to run: campaign ``campaign_id`` of
    ``record_path`` again as ``spec`` (on ``station``), into the record ``target`` as
    campaign ``new_id``; ``notes`` say what it runs, for the reviewer."""

    record_path: Path
    campaign_id: str
    simulator: str
    closed_loop: bool
    spec: CampaignSpec
    spec_text: str
    station: StationRef
    planner: Planner
    prior: list[PriorResult]
    target: Path
    new_id: str
    notes: list[str] = field(default_factory=list)


def plan_rerun(
    record_path: Path,
    simulator: str,
    *,
    campaign_id: str | None = None,
    closed_loop: bool = False,
    out: Path | None = None,
    options: dict[str, Any] | None = None,
) -> Rerun:
    """Check that campaign ``campaign_id`` (default: the latest) of ``record_path`` can run
    again on the station plugin ``simulator`` and make the replay's spec and planner.

    When ``simulator`` is the record's own station plugin, the recorded station options
    (noise, seed, failure region) are kept; ``options`` override them. Raises
    :class:`~genesis_lab.errors.ReplayError` (or the record's own error) for what a reviewer
    can fix: no such record, campaign or simulator, a simulator that does not fit the
    campaign, nothing to run again, an output that is the record itself."""
    from genesis_lab.station import available_stations, check_campaign_fits

    with CampaignRecord(record_path, read_only=True) as original:
        row = summarize(original, campaign_id).campaign
        script = replay_script(original, row.campaign_id)
    spec = CampaignSpec.model_validate(row.spec)
    where = str(record_path)
    installed = available_stations()
    if simulator not in installed:
        raise ReplayError(
            f"no station plugin named {simulator!r} is installed (installed: "
            f"{', '.join(sorted(installed)) or 'none'})",
            record=where,
        )
    if not closed_loop and not script.trials:
        raise ReplayError(
            f"campaign {row.campaign_id} in {record_path} dispatched no experiment: "
            "there is nothing to run again",
            record=where,
        )
    try:
        station = replay_station(spec.station, simulator, options or {})
        replay = replay_spec(spec, station, closed_loop=closed_loop, budget=len(script.trials))
    except ValueError as exc:
        raise ReplayError(f"cannot replay on {simulator!r}: {exc}", record=where) from None
    spec_text = _spec_text(replay, record_path, row.campaign_id, closed_loop)
    fits = CampaignFile(replay, f"<replay of {row.campaign_id} on {simulator}>", spec_text, None)
    problems = check_campaign_fits(fits)
    if problems:
        listing = "\n".join(f"  {p}" for p in problems)
        raise ReplayError(
            f"station {simulator!r} does not fit campaign {row.campaign_id} of "
            f"{record_path}:\n{listing}",
            record=where,
        )
    target = out or default_replay_path(record_path, simulator, closed_loop=closed_loop)
    if target.resolve() == record_path.resolve():
        raise ReplayError(
            f"--out {target} is the record being replayed; a replay never writes it",
            record=where,
        )
    objective = spec.primary_objective.name
    prior = [  # told to the planner as the record tells them (a resumed campaign does so)
        PriorResult(dict(t.parameters), t.outcomes or {objective: float(t.outcome or 0.0)}, i + 1)
        for i, t in enumerate(script.prior)
    ]
    planner: Planner
    if closed_loop:
        from genesis_lab.planning import planner_from_spec

        try:
            planner = planner_from_spec(replay)
        except PlannerError as exc:
            raise ReplayError(
                f"cannot plan campaign {row.campaign_id}: {exc}", record=where
            ) from None
    else:
        prior_ids = [t.trial_id for t in script.prior]
        planner = ScriptedPlanner(replay, script.trials, prior_ids=prior_ids)
    notes = [
        "the campaign's planner afresh"
        if closed_loop
        else f"{len(script.trials)} recorded experiments in order"
    ]
    if prior:
        notes.append(f"{len(prior)} prior results told as recorded, not run")
    if script.skipped:
        notes.append(f"{len(script.skipped)} never-dispatched trials skipped")
    manual = sum(1 for t in script.trials if t.origin == "manual")
    if closed_loop and manual:
        notes.append(f"the record's {manual} operator trials are not repeated (no operator)")
    return Rerun(
        record_path=record_path,
        campaign_id=row.campaign_id,
        simulator=simulator,
        closed_loop=closed_loop,
        spec=replay,
        spec_text=spec_text,
        station=station,
        planner=planner,
        prior=prior,
        target=target,
        new_id=new_campaign_id(f"{spec.name}-replay"),
        notes=notes,
    )


def run_rerun(rerun: Rerun, progress: Callable[[Progress], None] | None = None) -> ReplayComparison:
    """Run ``rerun`` on an embedded broker with a worker in this process, telling
    ``progress`` each trial's news, and compare its outcomes with the record's. A failure
    of the run raises the run's :class:`~genesis_lab.errors.GenesisLabError`, naming the
    replay's record; an interruption (KeyboardInterrupt) leaves what ran in
    ``rerun.target``."""
    from genesis_lab.worker import local_worker

    try:
        with broker_session("embedded") as url, CampaignRecord(rerun.target) as store:
            runner = CampaignRunner(
                rerun.spec,
                spec_text=rerun.spec_text,
                record=store,
                broker_url=url,
                planner=rerun.planner,
                campaign_id=rerun.new_id,
                progress=progress,
                prior=rerun.prior,
                prior_source=f"campaign {rerun.campaign_id} of {rerun.record_path}, prior result",
            )
            with local_worker(rerun.spec.station, url):
                runner.run()
    except GenesisLabError as exc:
        raise _with_target(exc, rerun.target) from None
    with (
        CampaignRecord(rerun.record_path, read_only=True) as original,
        CampaignRecord(rerun.target, read_only=True) as replayed,
    ):
        return compare_campaigns(
            original,
            rerun.campaign_id,
            replayed,
            rerun.new_id,
            closed_loop=rerun.closed_loop,
        )


def _with_target(exc: GenesisLabError, target: Path) -> GenesisLabError:
    exc.args = (f"{exc} (replay record: {target})",)
    return exc


def _spec_text(spec: CampaignSpec, record: Path, campaign_id: str, closed_loop: bool) -> str:
    """The replay's campaign as YAML, headed by what it replays."""
    how = (
        "the campaign's planner run afresh (same spec and seed)"
        if closed_loop
        else "the recorded experiments run again, in the recorded order"
    )
    header = (
        f"# replay of campaign {campaign_id} from {record} against station "
        f"{spec.station.plugin!r}: {how}\n"
    )
    body = yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    return header + body
