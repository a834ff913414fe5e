"""One benchmark run: one planner, one problem, one seed, driven through ask/tell.

Each experiment is asked for (timed), evaluated with the problem's true function plus the
problem's observation noise (a generator seeded from the problem and the seed, so every
planner of a seed sees the same noise stream), and told. After each result the run notes
what the planner would report now: for one objective, the simple regret of the point it
reports as best (the Bayesian planner's ``recommended``, the observed point with the best
posterior mean; a model-free planner's ``best`` measurement, as it has no model); for two
objectives, the hypervolume of the true values of every point observed so far.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from genesis_lab.planning import BayesianPlanner, Planner, RandomPlanner

from ._problems import Problem, Values, hypervolume

__all__ = [
    "BAYESIAN_SETTINGS",
    "PLANNERS",
    "BayesianSettings",
    "RunResult",
    "make_planner",
    "multi_objective_supported",
    "run_once",
]


@dataclass(frozen=True)
class BayesianSettings:
    """Settings of the Bayesian planner in the benchmark: the initial Sobol design size,
    and the acquisition optimiser's restarts and raw samples."""

    initial_design: int = 5
    num_restarts: int = 8
    raw_samples: int = 512

    def to_json(self) -> dict[str, int]:
        """The settings as a plain dict."""
        return asdict(self)


BAYESIAN_SETTINGS = BayesianSettings()
"""The settings ``genesis-lab bench planner`` uses."""

PLANNERS: tuple[str, ...] = ("bayesian", "random", "sobol")
"""The planners compared: BO, uniform random search, and a scrambled Sobol sequence (the
Bayesian planner with an initial design as long as the budget, so it never fits)."""


@dataclass
class RunResult:
    """What one run measured.

    Attributes:
        problem, planner, seed: which run it was.
        metric: per experiment ``k = 1..budget``, the metric after ``k`` results: the
            simple regret of the reported point (one objective; lower is better) or the
            hypervolume of the points observed so far (two objectives; higher is better).
        step_s: seconds each ``ask(1)`` took, in order.
        origins: the origin of each proposal (``"sobol"``, ``"model"``, ``"random"``).
        reported: the parameters of the point reported at the end (one objective), else {}.
        best_choice_found: whether the reported point has the problem's best categorical
            choice (None when the problem has none).
    """

    problem: str
    planner: str
    seed: int
    metric: list[float] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    reported: dict[str, Any] = field(default_factory=dict)
    best_choice_found: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The run as plain JSON types."""
        return {
            "problem": self.problem,
            "planner": self.planner,
            "seed": self.seed,
            "metric": self.metric,
            "step_s": self.step_s,
            "origins": self.origins,
            "reported": self.reported,
            "best_choice_found": self.best_choice_found,
        }


def multi_objective_supported() -> bool:
    """Whether ``BayesianPlanner`` takes several ``objectives`` (the multi-objective API)."""
    return "objectives" in inspect.signature(BayesianPlanner).parameters


def make_planner(
    problem: Problem,
    kind: str,
    seed: int,
    budget: int,
    settings: BayesianSettings = BAYESIAN_SETTINGS,
) -> Planner:
    """A fresh planner of ``kind`` (one of ``PLANNERS``) for ``problem``.

    Model-free planners (random, Sobol) optimise the first objective, and are told every
    objective, so a two-objective problem measures them by the hypervolume of what they
    tried. The Bayesian planner on two objectives needs the multi-objective API
    (``multi_objective_supported``); ``ValueError`` without it.
    """
    parameters = list(problem.parameters)
    if kind == "random":
        return RandomPlanner(parameters, problem.objectives[0], seed=seed)
    if kind == "sobol":
        return BayesianPlanner(parameters, problem.objectives[0], seed=seed, initial_design=budget)
    if kind != "bayesian":
        raise ValueError(f"unknown planner {kind!r}; choose from {', '.join(PLANNERS)}")
    if not problem.multi_objective:
        return BayesianPlanner(
            parameters,
            problem.objectives[0],
            seed=seed,
            initial_design=settings.initial_design,
            num_restarts=settings.num_restarts,
            raw_samples=settings.raw_samples,
        )
    if not multi_objective_supported():
        raise ValueError(
            "this BayesianPlanner takes one objective; the two-objective benchmark needs "
            "BayesianPlanner(parameters, objectives=[...])"
        )
    factory: Callable[..., Planner] = BayesianPlanner
    return factory(parameters, objectives=list(problem.objectives), seed=seed, **settings.to_json())


def run_once(
    problem: Problem,
    kind: str,
    seed: int,
    budget: int,
    settings: BayesianSettings = BAYESIAN_SETTINGS,
) -> RunResult:
    """Run ``kind`` on ``problem`` for ``budget`` experiments, one at a time, with ``seed``
    (the planner's seed and the noise stream's)."""
    planner = make_planner(problem, kind, seed, budget, settings)
    noise = torch.Generator().manual_seed(_noise_seed(problem.name, seed))
    result = RunResult(problem=problem.name, planner=kind, seed=seed)
    tried: list[Values] = []
    for _ in range(budget):
        start = time.perf_counter()
        [proposal] = planner.ask(1)
        result.step_s.append(time.perf_counter() - start)
        result.origins.append(proposal.origin)
        true = problem.truth(proposal.parameters)
        tried.append(true)
        observed = [
            v + problem.noise_sd * float(torch.randn(1, generator=noise, dtype=torch.double))
            for v in true
        ]
        planner.tell(
            proposal.trial_id,
            {o.name: v for o, v in zip(problem.objectives, observed, strict=True)},
        )
        if problem.multi_objective:
            result.metric.append(hypervolume(problem, tried))
        else:
            reported = _reported(planner, kind)
            result.metric.append(problem.regret(reported))
            result.reported = {k: v for k, v in reported.items()}
    if problem.best_choice is not None:
        name, choice = problem.best_choice
        result.best_choice_found = result.reported.get(name) == choice
    return result


def _reported(planner: Planner, kind: str) -> Mapping[str, object]:
    """The parameters of the point ``planner`` reports as best: the Bayesian planner's
    ``recommended`` (best posterior mean among the observed points), a model-free
    planner's ``best`` (best measured value)."""
    chosen = (
        planner.recommended
        if isinstance(planner, BayesianPlanner) and kind == "bayesian"
        else planner.best
    )
    if chosen is None:  # a result was just told
        raise RuntimeError("the planner reports nothing after a result")
    return chosen[1]


def _noise_seed(problem: str, seed: int) -> int:
    """A noise-stream seed from the problem's name and the run's seed, well mixed."""
    digest = hashlib.blake2b(f"noise:{problem}:{seed}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
