"""The search space: named, bounded parameters and the map to and from the unit cube.

Planners compute in the unit cube ``[0, 1]^d`` so that the GP, the acquisition optimiser and
distance checks are well conditioned whatever the parameters' units; values cross the
planner's boundary only in the parameters' own units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from genesis_lab.errors import PlannerError
from genesis_lab.spec import ContinuousParameter

__all__ = ["SearchSpace"]


class SearchSpace:
    """Box of ``d`` continuous parameters, in a fixed order.

    ``bounds`` is a ``2 x d`` double tensor (row 0 lower, row 1 upper), in parameter units.
    """

    def __init__(self, parameters: Sequence[ContinuousParameter]) -> None:
        if len(parameters) == 0:
            raise PlannerError("a planner needs at least one parameter; add one to the campaign")
        names = [parameter.name for parameter in parameters]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise PlannerError(f"parameter names must be unique; repeated: {duplicates}")
        self.names: tuple[str, ...] = tuple(names)
        self._lower = [float(parameter.bounds[0]) for parameter in parameters]
        self._upper = [float(parameter.bounds[1]) for parameter in parameters]
        self.bounds: Tensor = torch.tensor([self._lower, self._upper], dtype=torch.double)

    @property
    def dim(self) -> int:
        """Number of parameters ``d``."""
        return len(self.names)

    @property
    def unit_bounds(self) -> Tensor:
        """``2 x d`` double tensor of the unit cube: zeros over ones."""
        bounds = torch.zeros(2, self.dim, dtype=torch.double)
        bounds[1] = 1.0
        return bounds

    def to_parameters(self, X: Tensor) -> list[dict[str, float]]:
        """Map unit-cube points ``X: q x d`` to ``q`` dicts of Python floats in parameter units.

        Each value is clamped to its closed interval ``[lower, upper]`` so that rounding in
        the affine map never puts a value outside its bounds.
        """
        rows: list[dict[str, float]] = []
        for x in X.detach().to(dtype=torch.double).tolist():
            row: dict[str, float] = {}
            for name, u, lower, upper in zip(self.names, x, self._lower, self._upper, strict=True):
                value = lower + min(max(float(u), 0.0), 1.0) * (upper - lower)
                row[name] = min(max(value, lower), upper)
            rows.append(row)
        return rows

    def to_unit(self, rows: Sequence[Mapping[str, float]]) -> Tensor:
        """Map ``n`` dicts in parameter units to unit-cube points ``X: n x d`` (double)."""
        X = torch.tensor(
            [[float(row[name]) for name in self.names] for row in rows], dtype=torch.double
        ).reshape(len(rows), self.dim)
        X = (X - self.bounds[0]) / (self.bounds[1] - self.bounds[0])
        return X.clamp(0.0, 1.0)
