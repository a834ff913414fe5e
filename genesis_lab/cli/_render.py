"""How commands show things: the trial table, the live progress bar, the final line."""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from genesis_lab.orchestration import CampaignSummary, TrialDetail
from genesis_lab.orchestration import Progress as TrialProgress

__all__ = ["CampaignProgress", "trial_report", "trial_table"]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def trial_table(summary: CampaignSummary) -> Table:
    """The trials of a campaign as a rich table."""
    table = Table(title=f"{summary.campaign.name} ({summary.campaign.campaign_id})")
    table.add_column("trial")
    table.add_column("state")
    names = list(summary.trials[0].parameters) if summary.trials else []
    for name in names:
        table.add_column(name, justify="right")
    table.add_column(f"{summary.objective} ({summary.direction})", justify="right")
    table.add_column("reason", overflow="fold")
    for trial in summary.trials:
        marker = " *" if summary.best and trial.trial_id == summary.best.trial_id else ""
        table.add_row(
            trial.trial_id + marker,
            trial.state.value,
            *(_fmt(trial.parameters.get(n)) for n in names),
            _fmt(trial.outcome),
            trial.reason,
        )
    return table


def trial_report(detail: TrialDetail) -> str:
    """One trial in full, as plain text lines."""
    trial = detail.trial
    lines = [
        f"trial {trial.trial_id} of {detail.campaign_id}: {trial.state.value}"
        + (f" ({trial.reason})" if trial.reason else ""),
        "parameters: " + ", ".join(f"{k}={v:.6g}" for k, v in trial.parameters.items()),
        f"{detail.objective}: {_fmt(trial.outcome)}",
        f"chosen by: {trial.origin}",
    ]
    why = trial.explanation or {}
    if "requested_by" in why:
        lines.append(f"  requested by {why['requested_by']}")
    elif "retry_of" in why:
        lines.append(f"  retry of {why['retry_of']} (attempt {why.get('attempt')})")
    elif why:
        lines.append(
            f"  model predicted {detail.objective} = {_fmt(why.get('predicted_mean'))}"
            f" ± {_fmt(why.get('predicted_std'))} (1 sd), fitted on "
            f"{why.get('n_observations')} results; noise sd {_fmt(why.get('noise_std'))}"
        )
        lines.append(f"  acquisition value: {_fmt(why.get('acquisition_value'))}")
        scales = why.get("length_scales") or {}
        lines.append("  length scales: " + ", ".join(f"{k}={_fmt(v)}" for k, v in scales.items()))
    elif trial.origin in ("sobol", "random"):
        lines.append("  (no model yet: a space-filling design point)")
    lines.append("history:")
    for old, new, reason, at in detail.history:
        stamp = datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines.append(f"  {stamp} UTC  {old or '—'} -> {new}" + (f"  ({reason})" if reason else ""))
    lines.append("documents: " + (", ".join(detail.documents) or "none"))
    return "\n".join(lines)


class CampaignProgress:
    """A live bar (experiments done of budget, best so far) plus one line per finished trial."""

    def __init__(self, console: Console, budget: int, objective: str) -> None:
        self._console = console
        self._objective = objective
        self._bar = Progress(
            TextColumn("[bold]experiments"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self._bar.add_task("campaign", total=budget, best="—")

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
        self._bar.update(self._task, completed=update.finished, best=_fmt(update.best_value))
        self._console.print(
            f"{update.trial_id} {update.state.value:<9} {self._objective}={_fmt(update.outcome)}"
            f"  best={_fmt(update.best_value)}",
            highlight=False,
        )
