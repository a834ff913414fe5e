"""``genesis-lab bench``: benchmarks anyone can reproduce (``bench planner``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._exits import err
from genesis_lab.errors import PlannerError

__all__ = ["PLANNER_NAMES", "PROBLEM_NAMES", "TIMING_SIZES", "bench_app"]

# The names the help text lists, kept here so that the CLI (every command, `estop`
# included) starts without importing genesis_lab.bench and with it torch; a test checks
# they match the bench's own.
PROBLEM_NAMES: tuple[str, ...] = ("hartmann6", "branin", "mixed", "branin-currin")
PLANNER_NAMES: tuple[str, ...] = ("bayesian", "random", "sobol")
TIMING_SIZES: tuple[int, ...] = (50, 100, 500, 1000)

bench_app = typer.Typer(
    name="bench",
    help="Benchmarks: the planner against random search and Sobol on test functions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console()

_PROBLEM_NAMES = ", ".join(PROBLEM_NAMES)


@bench_app.command(
    "planner",
    help="Run the planner benchmark (or, with --timing, time the planner step) and write "
    "the table (JSON, Markdown, CSV) and the regret-curve figure to --out. A full run (every "
    "problem, planner and seed) takes tens of minutes on two cores; --problem, --planner, "
    "--seeds and --budget give a quicker look.",
)
def planner(
    problem: Annotated[
        list[str] | None,
        typer.Option(
            "--problem",
            "-p",
            help=f"Problem to run (repeat for several): {_PROBLEM_NAMES}. Default: all.",
            show_default=False,
        ),
    ] = None,
    planner: Annotated[
        list[str] | None,
        typer.Option(
            "--planner",
            help=f"Planner to run (repeat for several): {', '.join(PLANNER_NAMES)}. Default: all.",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per problem and planner.")] = 10,
    first_seed: Annotated[int, typer.Option(min=0, help="First seed (then consecutive).")] = 0,
    budget: Annotated[int, typer.Option(min=2, help="Experiments per run.")] = 40,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for the table, runs and figure.")
    ] = Path("bench-results"),
    timing: Annotated[
        bool,
        typer.Option(
            "--timing",
            help="Instead: time the planner step at growing numbers of observations "
            "(6 dimensions).",
        ),
    ] = False,
    sizes: Annotated[
        str,
        typer.Option(help="With --timing: observation counts, comma-separated."),
    ] = ",".join(str(n) for n in TIMING_SIZES),
    repeats: Annotated[int, typer.Option(min=1, help="With --timing: steps per size.")] = 3,
    verbose: Annotated[
        bool, typer.Option(help="Show the planner's own warnings (optimiser retries, jitter).")
    ] = False,
) -> None:
    """``genesis-lab bench planner``: the comparison table, or with ``--timing`` the step
    times; progress goes to stderr, the table to stdout."""

    def progress(line: str) -> None:
        err.print(escape(line), highlight=False)

    with _planner_log_level(logging.WARNING if verbose else logging.ERROR):
        _run(problem, planner, seeds, first_seed, budget, out_dir, timing, sizes, repeats, progress)


@contextmanager
def _planner_log_level(level: int) -> Iterator[None]:
    """Set the planner's logger to ``level`` inside the block, then restore it: thousands
    of model steps log routine optimiser retries that would bury the progress lines."""
    logger = logging.getLogger("genesis_lab.planning")
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _run(
    problem: list[str] | None,
    planner: list[str] | None,
    seeds: int,
    first_seed: int,
    budget: int,
    out_dir: Path,
    timing: bool,
    sizes: str,
    repeats: int,
    progress: Callable[[str], None],
) -> None:
    from genesis_lab.bench import PLANNERS, PROBLEMS, problem_named, run_suite, run_timing

    if timing:
        try:
            counts = [int(part) for part in sizes.split(",") if part.strip()]
        except ValueError:
            raise typer.BadParameter(f"not a list of whole numbers: {sizes!r}") from None
        if not counts or min(counts) < 1:
            raise typer.BadParameter("observation counts must be positive")
        timed = run_timing(counts, repeats, out_dir, progress)
        typer.echo((out_dir / "timing.md").read_text())
        out.print(f"written to {', '.join(str(p) for p in timed.files)}", highlight=False)
        return
    try:
        problems = [problem_named(name) for name in problem] if problem else list(PROBLEMS)
    except PlannerError as error:
        raise typer.BadParameter(str(error)) from None
    planners = list(planner) if planner else list(PLANNERS)
    unknown = sorted(set(planners) - set(PLANNERS))
    if unknown:
        raise typer.BadParameter(f"unknown planner(s) {unknown}; choose from {list(PLANNERS)}")
    seed_list = list(range(first_seed, first_seed + seeds))
    result = run_suite(problems, planners, seed_list, budget, out_dir, progress)
    typer.echo((out_dir / "planner.md").read_text())
    out.print(f"written to {', '.join(str(p) for p in result.files)}", highlight=False)
