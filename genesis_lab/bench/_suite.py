"""The whole benchmark: every planner on every problem over seeds, then the files.

``run_suite`` runs the comparison and writes ``planner.json`` (machine, settings, every
run, the table, the targets), ``planner.md`` and ``planner.csv`` (the table) and the
regret-curve figure; ``run_timing`` times the planner step on growing data and writes
``timing.json`` and ``timing.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from ._figure import write_figure
from ._problems import Problem
from ._report import Row, check_targets, csv_table, markdown_table, summarize_runs
from ._run import BAYESIAN_SETTINGS, RunResult, make_planner, multi_objective_supported, run_once

__all__ = [
    "TIMING_SIZES",
    "TIMING_TARGETS",
    "SuiteResult",
    "TimingResult",
    "machine",
    "run_suite",
    "run_timing",
]

TIMING_SIZES: tuple[int, ...] = (50, 100, 500, 1000)
"""Observation counts the timing mode measures the planner step at (6 dimensions)."""

TIMING_TARGETS: dict[int, float] = {100: 1.0, 1000: 5.0}
"""Most seconds a planner step may take at these observation counts."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SuiteResult:
    """The table rows, the target checks and the files written."""

    rows: list[Row]
    targets: list[dict[str, Any]]
    files: list[Path]


@dataclass(frozen=True)
class TimingResult:
    """Seconds per planner step at each observation count, and the files written."""

    steps: dict[int, list[float]]
    targets: list[dict[str, Any]]
    files: list[Path]


def machine() -> dict[str, Any]:
    """Where the numbers were measured: CPU model, cores, thread count, versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "botorch": version("botorch"),
        "platform": platform.platform(),
    }


def run_suite(
    problems: Sequence[Problem],
    planners: Sequence[str],
    seeds: Sequence[int],
    budget: int,
    directory: Path,
    progress: Progress = lambda _: None,
) -> SuiteResult:
    """Run every planner on every problem for every seed; write the table and figure."""
    directory.mkdir(parents=True, exist_ok=True)
    runs: list[RunResult] = []
    rows: list[Row] = []
    for problem in problems:
        for planner in planners:
            if (
                planner == "bayesian"
                and problem.multi_objective
                and not multi_objective_supported()
            ):
                rows.append(_unavailable(problem, planner, len(seeds)))
                progress(f"{problem.name} {planner}: skipped (no multi-objective planner yet)")
                continue
            mine: list[RunResult] = []
            for seed in seeds:
                start = time.perf_counter()
                run = run_once(problem, planner, seed, budget)
                mine.append(run)
                progress(
                    f"{problem.name} {planner} seed {seed}: {_metric_name(problem)} "
                    f"{run.metric[-1]:.4g} after {budget} ({time.perf_counter() - start:.1f} s)"
                )
            runs.extend(mine)
            rows.append(summarize_runs(problem, planner, mine))
    targets = check_targets(rows)
    report = {
        "machine": machine(),
        "budget": budget,
        "seeds": list(seeds),
        "bayesian_settings": BAYESIAN_SETTINGS.to_json(),
        "reported_point": {
            "bayesian": "recommended (observed point with the best posterior mean)",
            "random": "best (best measured value)",
            "sobol": "best (best measured value)",
        },
        "problems": {p.name: _describe(p) for p in problems},
        "rows": [row.to_json() for row in rows],
        "targets": targets,
        "runs": [run.to_json() for run in runs],
    }
    files = [directory / "planner.json", directory / "planner.md", directory / "planner.csv"]
    files[0].write_text(json.dumps(report, indent=1) + "\n")
    files[1].write_text(_markdown(report, rows, targets))
    files[2].write_text(csv_table(rows))
    files.append(write_figure(problems, runs, directory, "regret"))
    return SuiteResult(rows, targets, files)


def run_timing(
    sizes: Sequence[int],
    repeats: int,
    directory: Path,
    progress: Progress = lambda _: None,
) -> TimingResult:
    """Seconds per planner step (one ``ask(1)``: fit plus acquisition) of the benchmark's
    Bayesian planner with ``n`` noisy Hartmann6 observations (6 dimensions) already told,
    for each ``n`` in ``sizes``; ``repeats`` steps each (the result of each is told before
    the next)."""
    from ._problems import problem_named

    directory.mkdir(parents=True, exist_ok=True)
    problem = problem_named("hartmann6")
    names = [p.name for p in problem.parameters]
    steps: dict[int, list[float]] = {}
    for n in sizes:
        generator = torch.Generator().manual_seed(n)
        planner = make_planner(problem, "bayesian", 0, n + repeats)
        X = torch.rand(n, len(names), generator=generator, dtype=torch.double)
        for x in X.tolist():
            row = dict(zip(names, x, strict=True))
            planner.observe(row, {"y": _noisy(problem, row, generator)})
        steps[n] = []
        for _ in range(repeats):
            start = time.perf_counter()
            [proposal] = planner.ask(1)
            steps[n].append(time.perf_counter() - start)
            planner.tell(proposal.trial_id, {"y": _noisy(problem, proposal.parameters, generator)})
        progress(f"{n} observations: " + ", ".join(f"{s:.2f}" for s in steps[n]) + " s per step")
    targets = [
        {
            "observations": n,
            "bound_s": bound,
            "median_s": statistics.median(steps[n]),
            "passed": statistics.median(steps[n]) <= bound,
        }
        for n, bound in TIMING_TARGETS.items()
        if n in steps
    ]
    info = machine()
    report = {
        "machine": info,
        "bayesian_settings": BAYESIAN_SETTINGS.to_json(),
        "problem": _describe(problem),
        "steps_s": {str(n): s for n, s in steps.items()},
        "targets": targets,
    }
    lines = [
        "# Planner step time (6 dimensions, noisy Hartmann6)",
        "",
        _machine_line(info),
        "",
        "| observations | median s/step | max s/step | steps |",
        "|---|---|---|---|",
        *(
            f"| {n} | {statistics.median(s):.3f} | {max(s):.3f} | {len(s)} |"
            for n, s in steps.items()
        ),
        "",
        *(
            _target_lines(
                f"step at {t['observations']} observations <= {t['bound_s']} s: "
                f"{t['median_s']:.2f} s",
                bool(t["passed"]),
            )
            for t in targets
        ),
    ]
    files = [directory / "timing.json", directory / "timing.md"]
    files[0].write_text(json.dumps(report, indent=1) + "\n")
    files[1].write_text("\n".join(lines) + "\n")
    return TimingResult(steps, targets, files)


def _noisy(problem: Problem, parameters: dict[str, Any], generator: torch.Generator) -> float:
    (value,) = problem.truth(parameters)
    return value + problem.noise_sd * float(torch.randn(1, generator=generator, dtype=torch.double))


def _unavailable(problem: Problem, planner: str, seeds: int) -> Row:
    return Row(
        problem=problem.name,
        planner=planner,
        metric="hypervolume",
        seeds=seeds,
        at={},
        target=problem.target,
        reached=0,
        to_target=None,
        step_s=None,
        best_choice_found=None,
        note="not run: BayesianPlanner takes one objective (multi-objective API pending)",
    )


def _metric_name(problem: Problem) -> str:
    return "hypervolume" if problem.multi_objective else "regret"


def _describe(problem: Problem) -> dict[str, Any]:
    return {
        "description": problem.description,
        "noise_sd": problem.noise_sd,
        "optimum": problem.optimum,
        "target": problem.target,
        "reference_point": problem.reference_point,
        "best_choice": problem.best_choice,
    }


def _machine_line(info: dict[str, Any]) -> str:
    return (
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} "
        f"({info['torch_threads']} threads), botorch {info['botorch']}, "
        f"Python {info['python']}."
    )


def _target_lines(text: str, passed: bool) -> str:
    return f"- {'PASS' if passed else 'FAIL'}: {text}"


def _markdown(
    report: dict[str, Any], rows: Sequence[Row], targets: Sequence[dict[str, Any]]
) -> str:
    lines = [
        "# Planner benchmark",
        "",
        _machine_line(report["machine"]),
        f"Budget {report['budget']} experiments, seeds {report['seeds']}. Cells: median "
        "[25th, 75th percentile] over seeds; regret is the true optimum minus the true value "
        "at the reported point (Bayesian: `recommended`; random and Sobol: `best`); "
        "hypervolume is of the true values of every point tried. 'reached': seeds that got "
        "below the target regret (or above the target hypervolume) within the budget; "
        "'exps to target': median experiments that took; 's/step': median seconds per "
        "`ask(1)` (model steps for the Bayesian planner).",
        f"Bayesian planner settings: {report['bayesian_settings']}.",
        "",
        markdown_table(rows),
    ]
    if targets:
        lines.append("Targets (Bayesian planner):")
        lines.append("")
        for t in targets:
            lines.append(
                _target_lines(
                    f"{t['problem']}, {t['what']} at {t['experiments']} experiments "
                    f"(bound {t['bound']:g}): {t['measured']:.3g}",
                    t["passed"],
                )
            )
    return "\n".join(lines) + "\n"
