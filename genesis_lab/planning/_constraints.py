"""Linear constraints in the unit cube: BoTorch's format, feasibility checks and sampling.

A campaign constraint ``sum_i a_i * v_i <relation> b`` on continuous linear-scale
parameters becomes, with ``v_i = lower_i + width_i * u_i``, the unit-cube constraint
``sum_i (a_i * width_i) * u_i <relation> b - sum_i a_i * lower_i``. BoTorch wants
``sum(coefficients * X[..., indices]) >= rhs``, so a ``<=`` constraint is negated.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

from genesis_lab.errors import PlannerError
from genesis_lab.spec import ContinuousParameter, LinearConstraint

from ._space import SearchSpace
from ._types import ParameterValue

with warnings.catch_warnings():  # see _acquisition: torch.jit.script deprecation at import
    warnings.filterwarnings(
        "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
    )
    from botorch.utils.sampling import get_polytope_samples
from scipy.optimize import linprog

__all__ = ["MAX_DRAWS", "TOLERANCE", "UnitConstraints"]

TOLERANCE = 1e-6
"""Relative tolerance of a constraint: ``|violation| <= TOLERANCE * max(1, |rhs|, scale)``."""

MAX_DRAWS = 10_000
"""Draws a rejection sampler may spend without finding one feasible point."""

_MARGIN = 1e-9
"""Slack (unit-cube units) by which generated points keep inside an inequality."""

BoTorchConstraint = tuple[Tensor, Tensor, float]


class UnitConstraints:
    """The campaign's linear constraints over a ``SearchSpace``'s unit cube."""

    def __init__(self, space: SearchSpace, constraints: Sequence[LinearConstraint]) -> None:
        self.constraints: tuple[LinearConstraint, ...] = tuple(constraints)
        self.inequality: list[BoTorchConstraint] = []
        self.equality: list[BoTorchConstraint] = []
        columns = {name: i for i, name in enumerate(space.searched)}
        by_name = {parameter.name: parameter for parameter in space.parameters}
        for number, constraint in enumerate(self.constraints):
            indices: list[int] = []
            coefficients: list[float] = []
            rhs = constraint.rhs
            for name, a in constraint.coefficients.items():
                parameter = by_name.get(name)
                if (
                    not isinstance(parameter, ContinuousParameter)
                    or parameter.scale != "linear"
                    or name not in columns
                ):
                    raise PlannerError(
                        f"constraint {number} ({constraint}): {name!r} is not a continuous "
                        "linear-scale parameter of the search space; only those may appear "
                        "in constraints"
                    )
                lower, upper = parameter.bounds
                indices.append(columns[name])
                coefficients.append(a * (upper - lower))
                rhs -= a * lower
            index = torch.tensor(indices, dtype=torch.long)
            coefficient = torch.tensor(coefficients, dtype=torch.double)
            if constraint.relation == ">=":
                self.inequality.append((index, coefficient, float(rhs)))
            elif constraint.relation == "<=":
                self.inequality.append((index, -coefficient, -float(rhs)))
            else:
                self.equality.append((index, coefficient, float(rhs)))
        self._check_satisfiable(space.dim)

    def _check_satisfiable(self, d: int) -> None:
        """Raise ``PlannerError`` if no point of the box satisfies every constraint at once
        (each may be satisfiable alone: ``a <= 2`` and ``a >= 5``), found by a linear
        programme over the unit cube."""
        if not self.constraints:
            return

        def rows(constraints: list[BoTorchConstraint]) -> tuple[list[list[float]], list[float]]:
            matrix, bound = [], []
            for index, coefficient, rhs in constraints:
                row = [0.0] * d
                for i, a in zip(index.tolist(), coefficient.tolist(), strict=True):
                    row[i] += a
                matrix.append(row)
                bound.append(rhs)
            return matrix, bound

        A_ge, b_ge = rows(self.inequality)
        A_eq, b_eq = rows(self.equality)
        result = linprog(
            c=[0.0] * d,
            A_ub=[[-a for a in row] for row in A_ge] or None,
            b_ub=[-b for b in b_ge] or None,
            A_eq=A_eq or None,
            b_eq=b_eq or None,
            bounds=[(0.0, 1.0)] * d,
            method="highs",
        )
        if result.status == 2:  # infeasible
            listed = "; ".join(f"{n}: {c}" for n, c in enumerate(self.constraints))
            raise PlannerError(
                f"the constraints cannot all hold at once within the parameters' bounds "
                f"({listed}); no experiment satisfies them together"
            )

    def __bool__(self) -> bool:
        return bool(self.constraints)

    def _scale(self, coefficient: Tensor, rhs: float, X: Tensor) -> Tensor:
        return torch.clamp_min((coefficient.abs() * X.abs()).sum(-1), max(1.0, abs(rhs)))

    def feasible(self, X: Tensor, tolerance: float = TOLERANCE) -> Tensor:
        """``n`` booleans: which rows of ``X: n x d`` (unit cube) satisfy every constraint."""
        ok = torch.ones(X.shape[0], dtype=torch.bool)
        for index, coefficient, rhs in self.inequality:
            lhs = (X[:, index] * coefficient).sum(-1)
            ok &= lhs >= rhs - tolerance * self._scale(coefficient, rhs, X[:, index])
        for index, coefficient, rhs in self.equality:
            lhs = (X[:, index] * coefficient).sum(-1)
            ok &= (lhs - rhs).abs() <= tolerance * self._scale(coefficient, rhs, X[:, index])
        return ok

    def check(self, row: Mapping[str, ParameterValue]) -> None:
        """Raise ``PlannerError`` if an experiment (parameter units) violates a constraint."""
        for number, constraint in enumerate(self.constraints):
            terms = [a * float(row[name]) for name, a in constraint.coefficients.items()]
            lhs = sum(terms)
            slack = TOLERANCE * max(1.0, abs(constraint.rhs), sum(abs(t) for t in terms))
            relation, rhs = constraint.relation, constraint.rhs
            if (
                (relation == "<=" and lhs > rhs + slack)
                or (relation == ">=" and lhs < rhs - slack)
                or (relation == "==" and abs(lhs - rhs) > slack)
            ):
                raise PlannerError(
                    f"the experiment violates constraint {number} ({constraint}): the "
                    f"left-hand side is {lhs:g}; choose values that satisfy it"
                )

    def for_optimizer(self) -> dict[str, list[BoTorchConstraint] | None]:
        """``inequality_constraints`` and ``equality_constraints`` for BoTorch's optimisers,
        each inequality tightened by a hair so rounding cannot push a point out."""
        inequality = [(i, c, rhs + _MARGIN * max(1.0, abs(rhs))) for i, c, rhs in self.inequality]
        return {
            "inequality_constraints": inequality or None,
            "equality_constraints": list(self.equality) or None,
        }

    def sample(self, k: int, draw: Callable[[int], Tensor], seed: int) -> Tensor:
        """``k x d`` feasible points.

        With inequalities only: rejection sampling from ``draw`` (uniform or Sobol draws in
        the unit cube, already legal), in blocks, keeping feasible rows in draw order; a
        ``PlannerError`` if ``MAX_DRAWS`` draws in a row give nothing feasible. With an
        equality: hit-and-run samples of the polytope (``get_polytope_samples``, seeded by
        ``seed``), each grid column then taken from ``draw``.
        """
        if self.equality:
            return self._polytope(k, draw, seed)
        kept: list[Tensor] = []
        found = 0
        wasted = 0
        while found < k:
            block = max(2 * (k - found), 16)
            X = draw(block)
            good = X[self.feasible(X, tolerance=0.0)]
            kept.append(good)
            found += good.shape[0]
            wasted = 0 if good.shape[0] else wasted + block
            if wasted >= MAX_DRAWS:
                raise PlannerError(
                    f"no feasible point in {wasted} draws: the constraints "
                    f"{[str(c) for c in self.constraints]} leave too small a share of the "
                    "bounds; widen the bounds or loosen the constraints"
                )
        return torch.cat(kept)[:k]

    def _polytope(self, k: int, draw: Callable[[int], Tensor], seed: int) -> Tensor:
        U = draw(k)
        bounds = torch.zeros(2, U.shape[-1], dtype=torch.double)
        bounds[1] = 1.0
        with torch.random.fork_rng(devices=[]):
            X = get_polytope_samples(
                k,
                bounds,
                inequality_constraints=self.for_optimizer()["inequality_constraints"],
                equality_constraints=self.equality,
                seed=seed,
                n_burnin=1000,
                n_thinning=16,
            ).to(torch.double)
        constrained = sorted({int(i) for index, _, _ in self.constraints_all for i in index})
        U[:, constrained] = X[:, constrained].clamp(0.0, 1.0)
        return U

    @property
    def constraints_all(self) -> list[BoTorchConstraint]:
        """Every constraint, inequalities then equalities, in BoTorch's format."""
        return self.inequality + self.equality
