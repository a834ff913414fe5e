"""Prior results from earlier work, read from CSV: one row an experiment.

The header names the campaign's parameters, its objectives and its outcome constraints;
other columns (notes, dates) are ignored. Numbers are read as numbers; anything else is
kept as text (categories).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from genesis_lab.errors import DataFileError, FieldProblem, PlannerError
from genesis_lab.planning import Planner
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord

__all__ = ["PriorResult", "import_prior", "read_prior_csv"]


@dataclass(frozen=True)
class PriorResult:
    """One earlier experiment: its parameter values, its objective and outcome-constraint
    values by name, and its CSV line."""

    parameters: dict[str, float | str]
    outcomes: dict[str, float]
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
    measured = list(spec.readings)
    objectives = {o.name for o in spec.all_objectives}
    wanted = [p.name for p in spec.parameters] + measured
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataFileError(
            where,
            [
                FieldProblem(
                    "header",
                    f"missing column(s) {', '.join(missing)}; the header must name every "
                    f"parameter, objective and outcome constraint: {', '.join(wanted)}",
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
        outcomes = {name: _value(row[name]) for name in measured}
        bad = [(n, v) for n, v in outcomes.items() if isinstance(v, str) or not math.isfinite(v)]
        if bad:
            name, value = bad[0]
            kind = "objective" if name in objectives else "outcome constraint"
            problems.append(
                FieldProblem(name, f"{kind} must be a finite number, got {value!r}", line)
            )
            continue
        parameters = {p.name: _value(row[p.name]) for p in spec.parameters}
        results.append(PriorResult(parameters, {n: float(v) for n, v in outcomes.items()}, line))
    if problems:
        raise DataFileError(where, problems)
    return results


def import_prior(
    prior: Sequence[PriorResult],
    planner: Planner,
    record: CampaignRecord,
    campaign_id: str,
    source: str,
    primary: str,
) -> Iterator[dict[str, float]]:
    """Tell ``planner`` each prior result and record it as a COMPLETED 'prior' trial (its
    outcome: the ``primary`` objective's); yield each one's outcomes. ``source`` names
    where they came from (with the line)."""
    for result in prior:
        try:
            trial_id = planner.observe(result.parameters, result.outcomes, origin="prior")
        except PlannerError as exc:
            raise PlannerError(f"prior result on line {result.line}: {exc}") from exc
        record.add_prior_trial(
            campaign_id,
            trial_id,
            parameters=result.parameters,
            outcome=result.outcomes[primary],
            outcomes=result.outcomes,
            source=f"{source}, line {result.line}",
        )
        yield result.outcomes
