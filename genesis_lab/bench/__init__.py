"""Benchmarks of the planners on test functions with known optima, reproducible by anyone.

``run_suite`` compares the Bayesian planner with random search and a Sobol sequence on
noisy Hartmann6, Branin, a mixed problem (Hartmann3 times a four-level categorical factor)
and a two-objective problem (BraninCurrin), over seeds, and writes a table of simple regret
(hypervolume for two objectives) at 10, 20, 30 and 40 experiments, experiments needed to
reach a target, seconds per planner step, and a regret-curve figure; ``run_timing`` times
the planner step at growing numbers of observations in 6 dimensions. The command line is
``genesis-lab bench planner``. Everything runs through the planners' public ask/tell API.
"""

from ._problems import PROBLEMS, Problem, hypervolume, problem_named
from ._report import CHECKPOINTS, Row, experiments_to_target, summarize_runs
from ._run import BAYESIAN_SETTINGS, PLANNERS, BayesianSettings, RunResult, make_planner, run_once
from ._suite import (
    TIMING_SIZES,
    TIMING_TARGETS,
    SuiteResult,
    TimingResult,
    machine,
    run_suite,
    run_timing,
)

__all__ = [
    "BAYESIAN_SETTINGS",
    "CHECKPOINTS",
    "PLANNERS",
    "PROBLEMS",
    "TIMING_SIZES",
    "TIMING_TARGETS",
    "BayesianSettings",
    "Problem",
    "Row",
    "RunResult",
    "SuiteResult",
    "TimingResult",
    "experiments_to_target",
    "hypervolume",
    "machine",
    "make_planner",
    "problem_named",
    "run_once",
    "run_suite",
    "run_timing",
    "summarize_runs",
]
