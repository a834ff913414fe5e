"""Prior results from earlier work, read from CSV: one row an experiment.

The header names the campaign's parameters and its objective; other columns (notes, dates)
are ignored. Numbers are read as numbers; anything else is kept as text (categories).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from genesis_lab.errors import DataFileError, FieldProblem
from genesis_lab.spec import CampaignSpec

__all__ = ["PriorResult", "read_prior_csv"]


@dataclass(frozen=True)
class PriorResult:
    """One earlier experiment: its parameter values, objective value, and CSV line."""

    parameters: dict[str, float | str]
    outcome: float
    line: int


def _value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text.strip()


def read_prior_csv(path: str | Path, spec: CampaignSpec) -> list[PriorResult]:
    """Read prior results for ``spec`` from ``path``; raise :class:`DataFileError` listing
    every problem with its line and column."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataFileError(where, [FieldProblem("", f"cannot read file: {exc.strerror}")]) from exc
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    wanted = [p.name for p in spec.parameters] + [spec.objective.name]
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataFileError(
            where,
            [
                FieldProblem(
                    "header",
                    f"missing column(s) {', '.join(missing)}; the header must name every "
                    f"parameter and the objective: {', '.join(wanted)}",
                    1,
                )
            ],
        )
    results: list[PriorResult] = []
    problems: list[FieldProblem] = []
    for line, row in enumerate(reader, start=2):
        blank = [name for name in wanted if not (row.get(name) or "").strip()]
        if blank:
            problems.append(FieldProblem(blank[0], "empty value", line))
            continue
        outcome = _value(row[spec.objective.name])
        if isinstance(outcome, str) or not math.isfinite(outcome):
            problems.append(
                FieldProblem(
                    spec.objective.name, f"objective must be a finite number, got {outcome!r}", line
                )
            )
            continue
        parameters = {p.name: _value(row[p.name]) for p in spec.parameters}
        results.append(PriorResult(parameters, outcome, line))
    if problems:
        raise DataFileError(where, problems)
    return results
