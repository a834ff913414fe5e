"""``genesis-lab replay RECORD --against SIMULATOR``: run a recorded campaign again on a
simulated station and compare recorded with simulated outcomes, trial by trial.

The record is opened read-only and never written; the replay is a campaign of its own, in
its own record (by default next to the original: ``<stem>.replay-<simulator>.sqlite``, or
``<stem>.closed-loop-<simulator>.sqlite`` with ``--closed-loop``), run on an embedded
broker by a worker in this process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from genesis_lab.cli._render import CampaignProgress, format_parameters, format_value
from genesis_lab.cli._session import broker_session, local_worker
from genesis_lab.errors import GenesisLabError, PlannerError
from genesis_lab.spec import CampaignFile, CampaignSpec
from genesis_lab.store import CampaignRecord

if TYPE_CHECKING:  # the CLI starts without importing the planner's torch
    from genesis_lab.orchestration import ReplayComparison, TrialPair
    from genesis_lab.planning import Planner

__all__ = ["default_replay_path", "replay_against"]

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_BAD_INPUT = 2
EXIT_DIFFERENT = 3  # it ran, and a difference is over --max-difference
EXIT_INTERRUPTED = 130


def default_replay_path(record_path: Path, simulator: str, *, closed_loop: bool) -> Path:
    """Where a replay's record goes unless told: next to the original record."""
    kind = "closed-loop" if closed_loop else "replay"
    return record_path.with_name(f"{record_path.stem}.{kind}-{simulator}.sqlite")


class _Failure(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _parse_options(options: Sequence[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _Failure(f"--option takes KEY=VALUE, got {item!r}", EXIT_BAD_INPUT)
        parsed[key] = yaml.safe_load(value)
    return parsed


def replay_against(
    record_path: Path,
    simulator: str,
    *,
    campaign_id: str | None,
    closed_loop: bool,
    out: Path | None,
    as_json: bool,
    verbose: bool,
    options: Sequence[str] = (),
    max_difference: Sequence[str] = (),
) -> int:
    """Run campaign ``campaign_id`` (default: the latest) of ``record_path`` again on the
    station plugin ``simulator`` and print the comparison; return the exit code.

    Without ``closed_loop`` the recorded experiments run again, in the recorded order,
    with the recorded trial ids; with it the campaign's planner runs afresh (same spec and
    seed). When ``simulator`` is the record's own station plugin, the recorded station
    options (noise, seed, failure region) are kept; ``options`` (``KEY=VALUE``) override
    them. ``as_json`` prints the comparison as JSON on stdout (progress goes to stderr).
    ``max_difference`` (``X`` or ``NAME=X``) bounds each trial's absolute difference
    between simulated and recorded value (:class:`~genesis_lab.orchestration.DifferenceLimits`).
    Exit codes: 0 it ran (and no difference exceeds ``max_difference``); 3 it ran and some
    do (each named on stderr); 2 bad input (no such record, campaign or simulator, a simulator
    that does not fit the campaign, the output is the record itself); 1 the run failed;
    130 interrupted.
    """
    out_console = Console()
    err = Console(stderr=True)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return _replay(
            record_path,
            simulator,
            campaign_id=campaign_id,
            closed_loop=closed_loop,
            out=out,
            as_json=as_json,
            options=_parse_options(options),
            max_difference=max_difference,
            out_console=out_console,
            err=err,
        )
    except _Failure as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.code


def _replay(
    record_path: Path,
    simulator: str,
    *,
    campaign_id: str | None,
    closed_loop: bool,
    out: Path | None,
    as_json: bool,
    options: dict[str, Any],
    max_difference: Sequence[str],
    out_console: Console,
    err: Console,
) -> int:
    from genesis_lab.orchestration import (
        CampaignRunner,
        DifferenceLimits,
        PriorResult,
        ScriptedPlanner,
        compare_campaigns,
        new_campaign_id,
        replay_script,
        replay_spec,
        replay_station,
        summarize,
    )

    try:
        with CampaignRecord(record_path, read_only=True) as original:
            row = summarize(original, campaign_id).campaign
            script = replay_script(original, row.campaign_id)
    except GenesisLabError as exc:
        raise _Failure(str(exc), EXIT_BAD_INPUT) from None
    from genesis_lab.station import available_stations, check_campaign_fits

    spec = CampaignSpec.model_validate(row.spec)
    try:
        limits = DifferenceLimits.parse(max_difference, spec)
    except ValueError as exc:
        raise _Failure(str(exc), EXIT_BAD_INPUT) from None
    installed = available_stations()
    if simulator not in installed:
        raise _Failure(
            f"no station plugin named {simulator!r} is installed (installed: "
            f"{', '.join(sorted(installed)) or 'none'})",
            EXIT_BAD_INPUT,
        )
    if not closed_loop and not script.trials:
        raise _Failure(
            f"campaign {row.campaign_id} in {record_path} dispatched no experiment: "
            "there is nothing to run again",
            EXIT_BAD_INPUT,
        )
    try:
        station = replay_station(spec.station, simulator, options)
        replay = replay_spec(spec, station, closed_loop=closed_loop, budget=len(script.trials))
    except ValueError as exc:
        raise _Failure(f"cannot replay on {simulator!r}: {exc}", EXIT_BAD_INPUT) from None
    spec_text = _spec_text(replay, record_path, row.campaign_id, closed_loop)
    where = f"<replay of {row.campaign_id} on {simulator}>"
    problems = check_campaign_fits(CampaignFile(replay, where, spec_text, None))
    if problems:
        listing = "\n".join(f"  {p}" for p in problems)
        raise _Failure(
            f"station {simulator!r} does not fit campaign {row.campaign_id} of "
            f"{record_path}:\n{listing}",
            EXIT_BAD_INPUT,
        )
    target = out or default_replay_path(record_path, simulator, closed_loop=closed_loop)
    if target.resolve() == record_path.resolve():
        raise _Failure(
            f"--out {target} is the record being replayed; a replay never writes it",
            EXIT_BAD_INPUT,
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
            raise _Failure(
                f"cannot plan campaign {row.campaign_id}: {exc}", EXIT_BAD_INPUT
            ) from None
    else:
        prior_ids = [t.trial_id for t in script.prior]
        planner = ScriptedPlanner(replay, script.trials, prior_ids=prior_ids)
    new_id = new_campaign_id(f"{spec.name}-replay")
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
    shown = err if as_json else out_console
    shown.print(
        f"replaying campaign {row.campaign_id} of {record_path} against {simulator!r}"
        f" ({format_parameters(station.options) or 'default options'}): " + "; ".join(notes),
        highlight=False,
        soft_wrap=True,
    )
    try:
        with (
            broker_session("embedded") as url,
            CampaignRecord(target) as store,
            CampaignProgress(shown, replay.budget, replay.primary_objective.name) as bar,
        ):
            runner = CampaignRunner(
                replay,
                spec_text=spec_text,
                record=store,
                broker_url=url,
                planner=planner,
                campaign_id=new_id,
                progress=bar,
                prior=prior,
                prior_source=f"campaign {row.campaign_id} of {record_path}, prior result",
            )
            with local_worker(replay.station, url):
                runner.run()
    except KeyboardInterrupt:
        err.print(f"interrupted; the replay so far is in {target} (campaign {new_id})")
        return EXIT_INTERRUPTED
    except GenesisLabError as exc:
        raise _Failure(f"{exc} (replay record: {target})", EXIT_RUNTIME) from None
    with (
        CampaignRecord(record_path, read_only=True) as original,
        CampaignRecord(target, read_only=True) as replayed,
    ):
        comparison = compare_campaigns(
            original, row.campaign_id, replayed, new_id, closed_loop=closed_loop
        )
    if as_json:
        typer.echo(json.dumps(comparison.to_json(limits), indent=2))
    else:
        _print_comparison(out_console, comparison)
    over = comparison.exceeding(limits)
    for exceedance in over:
        err.print(f"over --max-difference: {exceedance.describe()}", highlight=False)
    if over:
        return EXIT_DIFFERENT
    return EXIT_OK


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


# ---------------------------------------------------------------------- report
def _print_comparison(console: Console, comparison: ReplayComparison) -> None:
    console.print(_pairs_table(comparison))
    console.print(_stats_table(comparison))
    rec, sim = comparison.recorded, comparison.simulated
    total = sum(1 for p in comparison.pairs if p.recorded and p.simulated)
    mismatches = comparison.state_mismatches
    line = f"state mismatches: {len(mismatches)} of {total}"
    if mismatches:
        line += " (" + ", ".join(_state_change(p) for p in mismatches) + ")"
    console.print(line, highlight=False, soft_wrap=True)
    if comparison.closed_loop:
        same = sum(1 for p in comparison.pairs if p.same_parameters)
        first = comparison.first_divergence
        console.print(
            f"parameters: the same in {same} of {len(comparison.pairs)} experiments; "
            + ("no divergence" if first is None else f"first divergence at experiment {first}"),
            highlight=False,
        )
    primary = comparison.primary
    for label, side in (("recorded", rec), ("simulated", sim)):
        best = side.best
        if best is None:
            console.print(f"best {label}: no experiment completed", highlight=False)
            continue
        value = (best.outcomes or {}).get(primary, best.outcome)
        console.print(
            f"best {label}: {primary}={format_value(value)} at "
            f"{format_parameters(best.parameters)} (trial {best.trial_id})",
            highlight=False,
            soft_wrap=True,
        )
    if len(comparison.objectives) > 1:
        reference = format_parameters(comparison.reference_point or {})
        console.print(
            f"Pareto front: recorded {len(rec.pareto_front)} trials, simulated "
            f"{len(sim.pareto_front)}; hypervolume recorded {format_value(rec.hypervolume)}, "
            f"simulated {format_value(sim.hypervolume)} (reference point {reference})",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"replay record: {sim.record_path} (campaign {sim.campaign_id}); "
        f"the original {rec.record_path} is unchanged",
        highlight=False,
        soft_wrap=True,
    )


def _state_change(pair: TrialPair) -> str:
    assert pair.recorded is not None and pair.simulated is not None
    return f"{pair.recorded.trial_id} {pair.recorded.state.value} -> {pair.simulated.state.value}"


def _pairs_table(comparison: ReplayComparison) -> Table:
    rec_side = comparison.recorded
    mode = "closed loop" if comparison.closed_loop else "recorded experiments"
    table = Table(
        title=f"{rec_side.campaign_id} against {comparison.simulated.station.plugin} ({mode})"
    )
    table.add_column("#", justify="right")
    table.add_column("trial")
    table.add_column("origin")
    table.add_column("state (rec → sim)")
    first = next((p.recorded or p.simulated for p in comparison.pairs), None)
    names = list(first.parameters) if first is not None else []
    for name in names:
        table.add_column(name, justify="right")
    for name, _kind in comparison.measured:
        table.add_column(f"{name} rec", justify="right")
        table.add_column(f"{name} sim", justify="right")
        table.add_column("Δ", justify="right")
    table.add_column("note", overflow="fold")
    for pair in comparison.pairs:
        table.add_row(*_pair_cells(pair, names, comparison))
    return table


def _pair_cells(pair: TrialPair, names: list[str], comparison: ReplayComparison) -> list[str]:
    rows = [row for row in (pair.recorded, pair.simulated) if row is not None]
    states = [row.state.value if row else "—" for row in (pair.recorded, pair.simulated)]
    state = states[0] if states[0] == states[1] else f"{states[0]} → {states[1]}"
    if pair.state_mismatch:
        state = f"[bold yellow]{state}[/]"
    cells = [str(pair.number), " / ".join(sorted({r.trial_id for r in rows})), rows[0].origin]
    cells.append(state)
    for name in names:
        values = [format_value(row.parameters.get(name)) for row in rows]
        cells.append(" → ".join(values) if pair.same_parameters is False else values[0])
    for name, _kind in comparison.measured:
        recorded, simulated = pair.values(name)
        cells += [format_value(recorded), format_value(simulated)]
        cells.append(format_value(pair.difference(name)))
    notes = [pair.note] if pair.note else []
    sides = (("rec", pair.recorded), ("sim", pair.simulated))
    reasons = {label: _short(row.reason) for label, row in sides if row and row.reason}
    if len(reasons) == 2 and len(set(reasons.values())) == 1:
        notes.append(f"both: {reasons['rec']}")
    else:
        notes += [f"{label}: {reason}" for label, reason in reasons.items()]
    cells.append(escape("; ".join(notes)))
    return cells


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stats_table(comparison: ReplayComparison) -> Table:
    table = Table(title="simulated − recorded, over experiments completed in both")
    for column in ("outcome", "kind", "pairs", "mean Δ", "mean |Δ|", "max |Δ|", "RMSE", "r"):
        table.add_column(column, justify="left" if column in ("outcome", "kind") else "right")
    for s in comparison.stats:
        table.add_row(
            s.name,
            s.kind,
            str(s.pairs),
            *(
                format_value(v)
                for v in (s.mean_difference, s.mean_abs_difference, s.max_abs_difference, s.rmse)
            ),
            "—" if s.pearson_r is None else f"{s.pearson_r:.6g}",  # near 1: more digits
        )
    return table
