"""The benchmark problems: known test functions with known optima, in lab terms.

Each problem is a search space of typed parameters, one or two objectives, the true
(noise-free) function, the observation noise and what counts as solved. The true values
come from BoTorch's test functions (``botorch.test_functions``), so the optima are the
published ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from genesis_lab.errors import PlannerError
from genesis_lab.spec import CategoricalParameter, ContinuousParameter, Objective, Parameter

# gpytorch decorates functions with ``torch.jit.script`` at import, which torch 2.13
# deprecates; silence exactly that warning while the test functions are imported.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
    )
    from botorch.test_functions import Branin, Hartmann
    from botorch.test_functions.multi_objective import BraninCurrin
    from botorch.utils.multi_objective.hypervolume import Hypervolume
    from botorch.utils.multi_objective.pareto import is_non_dominated

__all__ = ["MIXED_SCALES", "PROBLEMS", "Problem", "hypervolume", "problem_named"]

Values = tuple[float, ...]
"""True values of a problem's objectives at one point, in the objectives' own units."""


@dataclass(frozen=True)
class Problem:
    """A benchmark problem.

    Attributes:
        name: how the command line names it.
        description: one line for the table.
        parameters: the search space.
        objectives: one objective (simple regret is measured) or two (hypervolume is).
        truth: the noise-free objective values at a point (parameter name -> value).
        noise_sd: standard deviation of the Gaussian noise added to each observed value.
        optimum: the best true value of the one objective, or the largest hypervolume
            that two objectives can reach (with respect to ``reference_point``).
        target: simple regret counted as solved (one objective), or hypervolume counted
            as solved (two).
        reference_point: two objectives: the hypervolume reference point, each objective
            as *maximised* (a minimised one negated); None for one objective.
        best_choice: ``(parameter, choice)`` of a categorical parameter whose one choice
            holds the optimum, to count how often the reported point has it; or None.
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    objectives: tuple[Objective, ...]
    truth: Callable[[Mapping[str, object]], Values]
    noise_sd: float
    optimum: float
    target: float
    reference_point: tuple[float, ...] | None = None
    best_choice: tuple[str, str] | None = None

    @property
    def multi_objective(self) -> bool:
        """Whether the problem has two objectives (hypervolume) rather than one (regret)."""
        return len(self.objectives) > 1

    def regret(self, parameters: Mapping[str, object]) -> float:
        """Simple regret of a point: the optimum minus the true value there, in the
        objective's direction (0 at the optimum, positive elsewhere). One objective only."""
        (value,) = self.truth(parameters)
        if self.objectives[0].direction == "maximize":
            return self.optimum - value
        return value - self.optimum

    def maximised(self, values: Values) -> Values:
        """``values`` with each minimised objective negated (the frame of hypervolume)."""
        return tuple(
            v if o.direction == "maximize" else -v
            for v, o in zip(values, self.objectives, strict=True)
        )


def hypervolume(problem: Problem, points: list[Values]) -> float:
    """Hypervolume dominated by the true ``points`` (objective units) with respect to the
    problem's reference point; 0 when none dominates it."""
    if problem.reference_point is None:
        raise PlannerError(f"problem {problem.name!r} has one objective; it has no hypervolume")
    if not points:
        return 0.0
    Y = torch.tensor([problem.maximised(p) for p in points], dtype=torch.double)
    reference = torch.tensor(problem.reference_point, dtype=torch.double)
    Y = Y[(reference < Y).all(dim=-1)]
    if Y.shape[0] == 0:
        return 0.0
    return float(Hypervolume(reference).compute(Y[is_non_dominated(Y)]))


def _unit(name: str) -> ContinuousParameter:
    return ContinuousParameter(name=name, bounds=(0.0, 1.0), units="1")


def _at(parameters: Mapping[str, object], names: list[str]) -> torch.Tensor:
    return torch.tensor([[float(parameters[n]) for n in names]], dtype=torch.double)  # type: ignore[arg-type]


_HARTMANN6 = Hartmann(dim=6)
_HARTMANN3 = Hartmann(dim=3)
_BRANIN = Branin()
_BRANIN_CURRIN = BraninCurrin()

_X6 = [f"x{i}" for i in range(1, 7)]
_X3 = [f"x{i}" for i in range(1, 4)]

MIXED_SCALES: dict[str, float] = {"copper": 0.7, "palladium": 1.0, "nickel": 0.8, "platinum": 0.9}
"""The mixed problem's factor per catalyst: it multiplies the (positive) negated Hartmann3,
so palladium holds the optimum everywhere, and the best of every other catalyst is at least
0.1 * 3.86 = 0.39 worse: far beyond the regret target, so the choice is identifiable."""


def _hartmann6(parameters: Mapping[str, object]) -> Values:
    return (-float(_HARTMANN6.evaluate_true(_at(parameters, _X6))),)


def _branin(parameters: Mapping[str, object]) -> Values:
    return (float(_BRANIN.evaluate_true(_at(parameters, ["x1", "x2"]))),)


def _mixed(parameters: Mapping[str, object]) -> Values:
    scale = MIXED_SCALES[str(parameters["catalyst"])]
    return (-scale * float(_HARTMANN3.evaluate_true(_at(parameters, _X3))),)


def _branin_currin(parameters: Mapping[str, object]) -> Values:
    values = _BRANIN_CURRIN.evaluate_true(_at(parameters, ["x1", "x2"])).reshape(-1)
    return float(values[0]), float(values[1])


PROBLEMS: tuple[Problem, ...] = (
    Problem(
        name="hartmann6",
        description="Hartmann6 (6 continuous), noise sd 0.05, maximise -H6",
        parameters=tuple(_unit(n) for n in _X6),
        objectives=(Objective(name="y", direction="maximize", reading="y"),),
        truth=_hartmann6,
        noise_sd=0.05,
        optimum=-_HARTMANN6.optimal_value,
        target=0.1,
    ),
    Problem(
        name="branin",
        description="Branin (2 continuous), noise-free, minimise",
        parameters=(
            ContinuousParameter(name="x1", bounds=(-5.0, 10.0), units="1"),
            ContinuousParameter(name="x2", bounds=(0.0, 15.0), units="1"),
        ),
        objectives=(Objective(name="y", direction="minimize", reading="y"),),
        truth=_branin,
        noise_sd=0.0,
        optimum=_BRANIN.optimal_value,
        target=0.01,
    ),
    Problem(
        name="mixed",
        description="Hartmann3 (3 continuous) x catalyst factor (4 choices), noise-free, maximise",
        parameters=(
            *(_unit(n) for n in _X3),
            CategoricalParameter(name="catalyst", type="categorical", choices=tuple(MIXED_SCALES)),
        ),
        objectives=(Objective(name="y", direction="maximize", reading="y"),),
        truth=_mixed,
        noise_sd=0.0,
        optimum=-max(MIXED_SCALES.values()) * _HARTMANN3.optimal_value,
        target=0.01,
        best_choice=("catalyst", max(MIXED_SCALES, key=lambda c: MIXED_SCALES[c])),
    ),
    Problem(
        name="branin-currin",
        description="BraninCurrin (2 continuous, 2 objectives), noise-free, minimise both",
        parameters=(_unit("x1"), _unit("x2")),
        objectives=(
            Objective(name="branin", direction="minimize", reading="branin"),
            Objective(name="currin", direction="minimize", reading="currin"),
        ),
        truth=_branin_currin,
        noise_sd=0.0,
        optimum=_BRANIN_CURRIN.max_hv,
        target=0.9 * _BRANIN_CURRIN.max_hv,
        reference_point=tuple(-float(r) for r in _BRANIN_CURRIN._ref_point),
    ),
)
"""Every problem, in table order."""


def problem_named(name: str) -> Problem:
    """The problem called ``name``, or ``PlannerError`` listing the known ones."""
    for problem in PROBLEMS:
        if problem.name == name:
            return problem
    known = ", ".join(p.name for p in PROBLEMS)
    raise PlannerError(f"unknown benchmark problem {name!r}; choose from {known}")
