"""The planner benchmark: problems, regret and hypervolume, the table, the files, the CLI.

Tiny runs only (two seeds, ten experiments); no timing is asserted.
"""

from __future__ import annotations

import csv
import io
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.bench import (
    PROBLEMS,
    RunResult,
    experiments_to_target,
    hypervolume,
    problem_named,
    run_once,
    run_suite,
    run_timing,
    summarize_runs,
)
from genesis_lab.cli import app
from genesis_lab.errors import PlannerError

cli = CliRunner()


def test_regret_is_zero_at_the_known_optimum_and_the_gap_elsewhere() -> None:
    branin = problem_named("branin")  # minimised
    assert branin.regret({"x1": math.pi, "x2": 2.275}) == pytest.approx(0.0, abs=1e-5)
    assert branin.regret({"x1": 0.0, "x2": 0.0}) == pytest.approx(55.60211 - 0.397887, abs=1e-4)
    hartmann = problem_named("hartmann6")  # maximised (-H6)
    optimizer = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
    at = {f"x{i + 1}": v for i, v in enumerate(optimizer)}
    assert hartmann.regret(at) == pytest.approx(0.0, abs=1e-4)


def test_the_mixed_problem_has_one_best_catalyst_far_ahead_of_the_others() -> None:
    mixed = problem_named("mixed")
    optimum = {"x1": 0.114614, "x2": 0.555649, "x3": 0.852547}
    assert mixed.best_choice == ("catalyst", "palladium")
    assert mixed.regret({**optimum, "catalyst": "palladium"}) == pytest.approx(0.0, abs=1e-4)
    others = [mixed.regret({**optimum, "catalyst": c}) for c in ("copper", "nickel", "platinum")]
    assert min(others) > 30 * mixed.target


def test_hypervolume_of_known_points() -> None:
    problem = problem_named("branin-currin")  # both minimised; reference (18, 6)
    assert hypervolume(problem, []) == 0.0
    assert hypervolume(problem, [(20.0, 1.0)]) == 0.0  # beyond the reference point
    assert hypervolume(problem, [(8.0, 2.0)]) == pytest.approx(10.0 * 4.0)
    # Two non-dominated points: 10*4 + 4*(... the strip the second adds) = 40 + 4*1.
    assert hypervolume(problem, [(8.0, 2.0), (4.0, 5.0)]) == pytest.approx(40.0 + 4.0 * 1.0)
    assert hypervolume(problem, [(8.0, 2.0), (9.0, 3.0)]) == pytest.approx(40.0)  # dominated


def test_experiments_to_target_is_the_first_count_that_meets_it() -> None:
    branin = problem_named("branin")  # target: regret below 0.01
    assert experiments_to_target(branin, [1.0, 0.5, 0.009, 0.02]) == 3
    assert experiments_to_target(branin, [1.0, 0.01]) is None
    two = problem_named("branin-currin")  # target: hypervolume at least 0.9 of the maximum
    assert experiments_to_target(two, [10.0, two.target, two.target + 1]) == 2


def test_summary_gives_median_and_quartiles_at_the_checkpoints() -> None:
    branin = problem_named("branin")
    runs = [
        RunResult("branin", "random", seed, metric=[float(seed + 1)] * 9 + [0.001 * seed] * 11)
        for seed in range(5)
    ]
    for run in runs:
        run.step_s = [0.5] * 20
        run.origins = ["random"] * 20
    row = summarize_runs(branin, "random", runs)
    assert sorted(row.at) == [10, 20]
    assert row.at[10] == pytest.approx((0.002, 0.001, 0.003))
    assert row.reached == 5
    assert row.to_target == 10
    assert row.step_s == 0.5
    assert row.best_choice_found is None


def test_a_bayesian_run_reports_the_regret_of_its_recommended_point() -> None:
    problem = problem_named("mixed")
    run = run_once(problem, "bayesian", seed=1, budget=7)
    assert len(run.metric) == len(run.step_s) == 7
    assert run.origins[:5] == ["sobol"] * 5 and run.origins[5:] == ["model", "model"]
    assert run.metric[-1] == pytest.approx(problem.regret(run.reported))
    assert run.best_choice_found == (run.reported["catalyst"] == "palladium")
    assert all(r >= -1e-9 for r in run.metric)


def test_runs_are_reproducible_for_a_seed() -> None:
    problem = problem_named("hartmann6")
    first = run_once(problem, "random", seed=3, budget=6)
    again = run_once(problem, "random", seed=3, budget=6)
    assert first.metric == again.metric and first.reported == again.reported


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_the_suite_writes_the_table_and_the_figure(tmp_path: Path) -> None:
    problems = [problem_named("branin"), problem_named("branin-currin")]
    lines: list[str] = []
    result = run_suite(problems, ["bayesian", "sobol"], [0, 1], 10, tmp_path, lines.append)
    names = sorted(p.name for p in result.files)
    assert names[:3] == ["planner.csv", "planner.json", "planner.md"]
    assert names[3] in ("regret.png", "regret.svg")
    report = json.loads((tmp_path / "planner.json").read_text())
    assert report["machine"]["cores"] >= 1 and report["budget"] == 10
    assert len(report["runs"]) == 2 * 2 * 2 or any(r["note"] for r in report["rows"])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "planner.csv").read_text())))
    assert [(r["problem"], r["planner"]) for r in rows] == [
        ("branin", "bayesian"),
        ("branin", "sobol"),
        ("branin-currin", "bayesian"),
        ("branin-currin", "sobol"),
    ]
    assert {"median_10", "q25_10", "q75_10", "reached", "experiments_to_target", "step_s"} <= set(
        rows[0]
    )
    assert rows[3]["seeds"] == "2" and float(rows[3]["median_10"]) >= 0.0
    markdown = (tmp_path / "planner.md").read_text()
    assert "| branin | bayesian | regret |" in markdown
    assert "hypervolume" in markdown
    assert len(lines) >= 6  # one progress line per run
    if names[3] == "regret.svg":
        ET.fromstring((tmp_path / "regret.svg").read_text())  # well-formed


def test_timing_mode_times_each_size(tmp_path: Path) -> None:
    result = run_timing([12, 14], 1, tmp_path)
    assert sorted(result.steps) == [12, 14]
    assert all(len(s) == 1 and s[0] > 0 for s in result.steps.values())
    assert json.loads((tmp_path / "timing.json").read_text())["steps_s"].keys() == {"12", "14"}


def test_unknown_problem_is_refused_with_the_known_names() -> None:
    with pytest.raises(PlannerError, match="hartmann6, branin, mixed, branin-currin"):
        problem_named("rosenbrock")
    assert [p.name for p in PROBLEMS] == ["hartmann6", "branin", "mixed", "branin-currin"]


def test_cli_help_and_bad_options() -> None:
    result = cli.invoke(app, ["bench", "planner", "--help"])
    assert result.exit_code == 0
    assert "--timing" in result.output and "--seeds" in result.output
    result = cli.invoke(app, ["bench", "planner", "--problem", "rosenbrock"])
    assert result.exit_code == 2
    result = cli.invoke(app, ["bench", "planner", "--planner", "grid"])
    assert result.exit_code == 2


def test_cli_runs_a_tiny_benchmark(tmp_path: Path) -> None:
    result = cli.invoke(
        app,
        [
            *("bench", "planner", "-p", "branin", "--planner", "random"),
            *("--seeds", "2", "--budget", "10", "--out", str(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "| branin | random | regret |" in result.output
    assert (tmp_path / "planner.json").exists()


def test_the_cli_lists_the_benchs_own_names_without_importing_it() -> None:
    from genesis_lab.bench import PLANNERS, PROBLEMS
    from genesis_lab.bench import TIMING_SIZES as BENCH_SIZES
    from genesis_lab.cli._bench import PLANNER_NAMES, PROBLEM_NAMES, TIMING_SIZES

    assert tuple(p.name for p in PROBLEMS) == PROBLEM_NAMES
    assert PLANNER_NAMES == PLANNERS
    assert TIMING_SIZES == BENCH_SIZES
