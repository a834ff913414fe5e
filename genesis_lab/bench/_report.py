"""The benchmark table: medians and interquartile ranges over seeds, targets, timings.

One row per problem and planner. A regret row (one objective) gives the median and the
25th-75th percentiles of the simple regret after 10, 20, 30 and 40 experiments, how many
seeds got below the problem's target and the median number of experiments that took, and
the median seconds per planner step (model steps only for the Bayesian planner: its Sobol
design steps take no time). A hypervolume row (two objectives) gives the same for the
hypervolume, where higher is better and the target is a hypervolume to reach.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._problems import Problem
from ._run import RunResult

__all__ = [
    "CHECKPOINTS",
    "ISSUE_TARGETS",
    "Row",
    "check_targets",
    "csv_table",
    "experiments_to_target",
    "markdown_table",
    "summarize_runs",
]

CHECKPOINTS: tuple[int, ...] = (10, 20, 30, 40)
"""Experiment counts the table reports the metric at (those within the budget)."""


@dataclass(frozen=True)
class Row:
    """One line of the table: one planner on one problem over every seed.

    ``at`` maps each checkpoint to ``(median, 25th percentile, 75th percentile)`` of the
    metric; ``reached`` counts seeds that reached the target within the budget and
    ``to_target`` is the median experiments it took (None when fewer than half reached
    it); ``step_s`` is the median seconds per planner step; ``best_choice_found`` counts
    seeds whose reported point has the best categorical choice (None when the problem has
    no such choice); ``note`` says why a row has no numbers (a planner not available).
    """

    problem: str
    planner: str
    metric: str
    seeds: int
    at: dict[int, tuple[float, float, float]]
    target: float
    reached: int
    to_target: float | None
    step_s: float | None
    best_choice_found: int | None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The row as plain JSON types."""
        return {
            "problem": self.problem,
            "planner": self.planner,
            "metric": self.metric,
            "seeds": self.seeds,
            "at": {
                str(k): {"median": m, "q25": lo, "q75": hi} for k, (m, lo, hi) in self.at.items()
            },
            "target": self.target,
            "reached": self.reached,
            "experiments_to_target": self.to_target,
            "step_s": self.step_s,
            "best_choice_found": self.best_choice_found,
            "note": self.note,
        }


def experiments_to_target(problem: Problem, metric: Sequence[float]) -> int | None:
    """The first experiment count at which ``metric`` met the problem's target (regret
    below it, or hypervolume at least it), or None if it never did."""
    for k, value in enumerate(metric, start=1):
        met = value >= problem.target if problem.multi_objective else value < problem.target
        if met:
            return k
    return None


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """``(median, 25th, 75th percentile)`` of ``values``, linear interpolation."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q25, q50, q75 = statistics.quantiles(values, n=4, method="inclusive")
    return q50, q25, q75


def summarize_runs(problem: Problem, planner: str, runs: Sequence[RunResult]) -> Row:
    """The table row of ``runs`` (every seed of one planner on one problem)."""
    metric = "hypervolume" if problem.multi_objective else "regret"
    budget = min(len(run.metric) for run in runs)
    at = {k: quartiles([run.metric[k - 1] for run in runs]) for k in CHECKPOINTS if k <= budget}
    needed = [experiments_to_target(problem, run.metric) for run in runs]
    reached = [k for k in needed if k is not None]
    # Unreached counts as infinitely many; the median exists if at least half reached.
    ordered = sorted(float(k) if k is not None else math.inf for k in needed)
    to_target = statistics.median(ordered)
    steps = [
        s
        for run in runs
        for s, origin in zip(run.step_s, run.origins, strict=True)
        if origin == "model" or planner != "bayesian"
    ]
    found = [run.best_choice_found for run in runs if run.best_choice_found is not None]
    return Row(
        problem=problem.name,
        planner=planner,
        metric=metric,
        seeds=len(runs),
        at=at,
        target=problem.target,
        reached=len(reached),
        to_target=to_target if math.isfinite(to_target) else None,
        step_s=statistics.median(steps) if steps else None,
        best_choice_found=sum(found) if problem.best_choice is not None else None,
    )


def _cell(values: tuple[float, float, float]) -> str:
    median, q25, q75 = values
    return f"{median:.3g} [{q25:.3g}, {q75:.3g}]"


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (a cell: ``median [q25, q75]``)."""
    head = [
        "problem",
        "planner",
        "metric",
        *(f"@{k}" for k in CHECKPOINTS),
        "target",
        "reached",
        "exps to target",
        "s/step",
        "best choice",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        if row.note:
            cells = [row.problem, row.planner, row.metric, row.note, *[""] * (len(head) - 4)]
        else:
            cells = [
                row.problem,
                row.planner,
                row.metric,
                *(_cell(row.at[k]) if k in row.at else "" for k in CHECKPOINTS),
                f"{'>=' if row.metric == 'hypervolume' else '<'} {row.target:.3g}",
                f"{row.reached}/{row.seeds}",
                "" if row.to_target is None else f"{row.to_target:g}",
                "" if row.step_s is None else f"{row.step_s:.3f}",
                "" if row.best_choice_found is None else f"{row.best_choice_found}/{row.seeds}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_table(rows: Sequence[Row]) -> str:
    """The rows as CSV, one column per number (empty where a row has none)."""
    head = ["problem", "planner", "metric", "seeds"]
    for k in CHECKPOINTS:
        head += [f"median_{k}", f"q25_{k}", f"q75_{k}"]
    head += ["target", "reached", "experiments_to_target", "step_s", "best_choice_found", "note"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    for row in rows:
        line: list[Any] = [row.problem, row.planner, row.metric, row.seeds]
        for k in CHECKPOINTS:
            line += list(row.at[k]) if k in row.at else ["", "", ""]
        line += [
            row.target,
            row.reached,
            "" if row.to_target is None else row.to_target,
            "" if row.step_s is None else row.step_s,
            "" if row.best_choice_found is None else row.best_choice_found,
            row.note,
        ]
        writer.writerow(line)
    return buffer.getvalue()


ISSUE_TARGETS: tuple[tuple[str, str, int, float], ...] = (
    ("hartmann6", "median regret", 40, 0.08),
    ("hartmann6", "seeds below 0.1", 40, 0.7),
    ("mixed", "median regret", 40, 0.01),
    ("mixed", "seeds with the best choice", 40, 0.9),
    ("branin", "median regret", 30, 0.01),
)
"""The Bayesian planner's targets: ``(problem, what, experiments, bound)``; a median
regret must be at most the bound, a share of seeds at least it."""


def check_targets(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Each target of ``ISSUE_TARGETS`` that the Bayesian rows can judge: what was measured
    and whether it passed (a target whose problem did not run, or ran short, is left out)."""
    by_problem = {row.problem: row for row in rows if row.planner == "bayesian" and not row.note}
    checks: list[dict[str, Any]] = []
    for problem, what, k, bound in ISSUE_TARGETS:
        row = by_problem.get(problem)
        if row is None or k not in row.at:
            continue
        if what == "median regret":
            value, passed = row.at[k][0], row.at[k][0] <= bound
        elif what == "seeds below 0.1":
            value, passed = row.reached / row.seeds, row.reached / row.seeds >= bound
        else:
            share = (row.best_choice_found or 0) / row.seeds
            value, passed = share, share >= bound
        checks.append(
            {
                "problem": problem,
                "what": what,
                "experiments": k,
                "bound": bound,
                "measured": value,
                "passed": passed,
                "seeds": row.seeds,
            }
        )
    return checks
