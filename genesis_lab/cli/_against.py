"""``genesis-lab replay RECORD --against SIMULATOR``: what the reviewer sees of a replay
against a simulator (the replay itself is :mod:`genesis_lab.review._rerun`).

The record is opened read-only and never written; the replay is a campaign of its own, in
its own record (by default next to the original: ``<stem>.replay-<simulator>.sqlite``, or
``<stem>.closed-loop-<simulator>.sqlite`` with ``--closed-loop``), run on an embedded
broker by a worker in this process.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from genesis_lab.cli._campaign_run import WORKER_TRIAL_LOGGER
from genesis_lab.cli._exits import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
)
from genesis_lab.cli._logging import CommandLog, command_logging, logs_through
from genesis_lab.cli._render import CampaignProgress, format_parameters, format_value
from genesis_lab.errors import GenesisLabError
from genesis_lab.spec import parse_key_values

if TYPE_CHECKING:  # the CLI starts without importing the planner's torch
    from genesis_lab.review import (
        ReplayComparison,
        TrialPair,
    )

__all__ = ["replay_against"]


class _Failure(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _parse_options(options: Sequence[str]) -> dict[str, Any]:
    try:
        return parse_key_values(options, "--option")
    except ValueError as exc:
        raise _Failure(str(exc), EXIT_BAD_INPUT) from None


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
    between simulated and recorded value (:class:`~genesis_lab.review.DifferenceLimits`).
    Exit codes: 0 it ran (and no difference exceeds ``max_difference``); 3 it ran and some
    do (each named on stderr); 2 bad input (no such record, campaign or simulator, a simulator
    that does not fit the campaign, the output is the record itself); 1 the run failed;
    130 interrupted.
    """
    out_console = Console()
    err = Console(stderr=True)
    command_log = command_logging(verbose=verbose, quiet=(WORKER_TRIAL_LOGGER,))
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
            command_log=command_log,
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
    command_log: CommandLog,
) -> int:
    from genesis_lab.review import DifferenceLimits, plan_rerun, run_rerun

    try:
        rerun = plan_rerun(
            record_path,
            simulator,
            campaign_id=campaign_id,
            closed_loop=closed_loop,
            out=out,
            options=options,
        )
    except GenesisLabError as exc:
        raise _Failure(str(exc), EXIT_BAD_INPUT) from None
    try:
        limits = DifferenceLimits.parse(max_difference, rerun.spec)
    except ValueError as exc:
        raise _Failure(str(exc), EXIT_BAD_INPUT) from None
    command_log.default_file(rerun.target.with_suffix(".log"))
    shown = err if as_json else out_console
    shown.print(
        f"replaying campaign {rerun.campaign_id} of {record_path} against {simulator!r}"
        f" ({format_parameters(rerun.station.options) or 'default options'}): "
        + "; ".join(rerun.notes),
        highlight=False,
        soft_wrap=True,
    )
    try:
        with CampaignProgress(shown, rerun.spec) as bar, logs_through(shown):
            comparison = run_rerun(rerun, bar)
    except KeyboardInterrupt:
        err.print(f"interrupted; the replay so far is in {rerun.target} (campaign {rerun.new_id})")
        return EXIT_INTERRUPTED
    except GenesisLabError as exc:
        raise _Failure(str(exc), EXIT_FAILED) from None
    if as_json:
        typer.echo(json.dumps(comparison.to_json(limits), indent=2))
    else:
        _print_comparison(out_console, comparison)
    over = comparison.exceeding(limits)
    for exceedance in over:
        err.print(f"over --max-difference: {exceedance.describe()}", highlight=False)
    if over:
        return EXIT_NOT_CONFIRMED
    return EXIT_OK


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
