"""How commands show things: the trial table, the live progress bar, the final line."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:  # type-only: the CLI starts without importing the planner's torch
    from genesis_lab.orchestration import Progress as TrialProgress
    from genesis_lab.review import (
        CampaignSummary,
        TrialDetail,
    )
    from genesis_lab.spec import CampaignSpec

__all__ = [
    "CampaignProgress",
    "format_parameters",
    "format_value",
    "goals_text",
    "quantity_units",
    "trial_report",
    "trial_table",
    "with_units",
]


def format_value(value: object) -> str:
    """A number to four significant digits; text (a category) as it is; None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def format_parameters(parameters: Mapping[str, object]) -> str:
    """``name=value, ...`` for a trial's parameters."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in parameters.items())


def goals_text(spec: CampaignSpec) -> str:
    """What a campaign optimises, e.g. ``minimize colour_error (reading 'spectro_colour_error')``,
    with every objective, the trade-off method and the outcome constraints."""
    parts = [f"{o.direction} {o.name} (reading {o.reading!r})" for o in spec.all_objectives]
    text = " and ".join(parts)
    if len(parts) > 1:
        text += " (Pareto front)" if spec.pareto else " (weighted sum)"
    if spec.outcome_constraints:
        text += " subject to " + ", ".join(c.describe() for c in spec.outcome_constraints)
    return text


def trial_table(summary: CampaignSummary) -> Table:
    """The trials of a campaign as a rich table: ``*`` marks the best, ``P`` a member of the
    Pareto front."""
    table = Table(title=f"{summary.campaign.name} ({summary.campaign.campaign_id})")
    table.add_column("trial")
    table.add_column("state")
    names = list(summary.trials[0].parameters) if summary.trials else []
    for name in names:
        table.add_column(name, justify="right")
    for name, goal in summary.measured:
        table.add_column(f"{name} ({goal})", justify="right")
    table.add_column("reason", overflow="fold")
    front = {trial.trial_id for trial in summary.pareto_front}
    for trial in summary.trials:
        marker = " *" if summary.best and trial.trial_id == summary.best.trial_id else ""
        marker += " P" if trial.trial_id in front else ""
        outcomes: Mapping[str, float | None] = trial.outcomes or {summary.objective: trial.outcome}
        table.add_row(
            trial.trial_id + marker,
            trial.state.value,
            *(format_value(trial.parameters.get(n)) for n in names),
            *(format_value(outcomes.get(name)) for name, _ in summary.measured),
            trial.reason,
        )
    return table


def trial_report(detail: TrialDetail) -> str:
    """One trial in full, as plain text lines."""
    trial = detail.trial
    lines = [
        f"trial {trial.trial_id} of {detail.campaign_id}: {trial.state.value}"
        + (f" ({trial.reason})" if trial.reason else ""),
        "parameters: " + format_parameters(trial.parameters),
        "measured: " + format_parameters(trial.outcomes or {detail.objective: trial.outcome}),
        f"chosen by: {trial.origin}",
    ]
    if trial.station_id or trial.worker:
        ran = f"station: {trial.station_id or '?'}"
        lines.append(ran + (f" (worker {trial.worker})" if trial.worker else ""))
    why = trial.explanation or {}
    if "requested_by" in why:
        lines.append(f"  requested by {why['requested_by']}")
    elif "retry_of" in why:
        lines.append(f"  retry of {why['retry_of']} (attempt {why.get('attempt')})")
    elif why:
        lines.append(
            f"  model predicted {detail.objective} = {format_value(why.get('predicted_mean'))}"
            f" ± {format_value(why.get('predicted_std'))} (1 sd), fitted on "
            f"{why.get('n_observations')} results; noise sd {format_value(why.get('noise_std'))}"
        )
        predictions = why.get("predictions") or {}
        for name, predicted in predictions.items():
            if name != detail.objective:
                lines.append(
                    f"  model predicted {name} = {format_value(predicted.get('mean'))}"
                    f" ± {format_value(predicted.get('std'))}"
                )
        lines.append(f"  acquisition value: {format_value(why.get('acquisition_value'))}")
        scales = why.get("length_scales") or {}
        lines.append(
            "  length scales: " + ", ".join(f"{k}={format_value(v)}" for k, v in scales.items())
        )
    elif trial.origin in ("sobol", "random"):
        lines.append("  (no model yet: a space-filling design point)")
    lines.append("history:")
    for old, new, reason, at in detail.history:
        stamp = datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines.append(f"  {stamp} UTC  {old or '—'} -> {new}" + (f"  ({reason})" if reason else ""))
    lines.append("documents: " + (", ".join(detail.documents) or "none"))
    return "\n".join(lines)


class CampaignProgress:
    """A live bar (experiments done of budget, best so far) plus one line per finished trial:
    its parameters and outcomes with their units, or why it did not complete."""

    def __init__(self, console: Console, spec: CampaignSpec) -> None:
        self.console = console
        self._objective = spec.primary_objective.name
        self._units = quantity_units(spec)
        self._bar = Progress(
            TextColumn("[bold]experiments"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self._bar.add_task("campaign", total=spec.budget, best="—")

    def __enter__(self) -> CampaignProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def __call__(self, update: TrialProgress) -> None:
        best = format_value(update.best_value)
        self._bar.update(self._task, completed=update.finished, best=best)
        self.console.print(self.line(update), highlight=False, soft_wrap=True)

    def line(self, update: TrialProgress) -> str:
        """``t0001 completed  cyan=3.2 mL ... → colour_error=61.7 ΔA×100 (best 29.2)``; a
        trial that did not complete ends with its one-line reason instead."""
        parameters = " ".join(
            with_units(name, value, self._units) for name, value in update.parameters.items()
        )
        head = f"{update.trial_id} {update.state.value.lower():<9} {parameters}".rstrip()
        if update.outcomes or update.outcome is not None:
            outcomes: Mapping[str, float | None] = update.outcomes or {
                self._objective: update.outcome
            }
            measured = " ".join(
                with_units(name, value, self._units) for name, value in outcomes.items()
            )
            best = (
                f" (best {format_value(update.best_value)})"
                if update.best_value is not None
                else ""
            )
            return f"{head} → {measured}{best}"
        reason = " ".join(update.reason.split())
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 1] + "…"
        return f"{head} → {reason or 'no outcome'}"


_MAX_REASON = 240


def quantity_units(spec: CampaignSpec) -> dict[str, str]:
    """The units of every quantity a campaign names: parameters, objectives, outcome
    constraints (empty for a category)."""
    units = {p.name: p.units for p in spec.parameters}
    units.update({o.name: o.units for o in spec.all_objectives})
    units.update({c.name: c.units for c in spec.outcome_constraints})
    return units


def with_units(name: str, value: object, units: Mapping[str, str]) -> str:
    """``name=value units``, e.g. ``cyan=3.2 mL``; a text value (a category) as it is."""
    unit = units.get(name, "") if not isinstance(value, str) else ""
    return f"{name}={format_value(value)}" + (f" {unit}" if unit else "")
