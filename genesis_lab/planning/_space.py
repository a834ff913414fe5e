"""The search space: named, bounded parameters and the map to and from the unit cube.

Planners compute in the unit cube ``[0, 1]^d`` so that the GP, the acquisition optimiser and
distance checks are well conditioned whatever the parameters' units; values cross the
planner's boundary only in the parameters' own units.
"""

from __future__ import annotations

import math
import numbers
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

    def validate(self, parameters: Mapping[str, object]) -> dict[str, float]:
        """Check an experiment given in parameter units and return it as a proposal row.

        Every parameter must be present, with a legal value (a finite real number within
        its bounds); no other key is allowed. Raises ``PlannerError`` naming the parameter.
        """
        if not isinstance(parameters, Mapping):
            raise PlannerError(
                f"parameters must be a mapping of name to value, got {type(parameters).__name__}"
            )
        unknown = sorted(str(name) for name in parameters if name not in self.names)
        if unknown:
            raise PlannerError(
                f"unknown parameters {unknown}; the search space has {list(self.names)}"
            )
        row: dict[str, float] = {}
        for name, lower, upper in zip(self.names, self._lower, self._upper, strict=True):
            if name not in parameters:
                raise PlannerError(f"parameter {name!r} is missing; give a value for it")
            raw = parameters[name]
            if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
                raise PlannerError(f"parameter {name!r} must be a real number, got {raw!r}")
            value = float(raw)
            if not (math.isfinite(value) and lower <= value <= upper):
                raise PlannerError(
                    f"parameter {name!r} is {value}, outside its bounds [{lower}, {upper}]"
                )
            row[name] = value
        return row

    def to_unit(self, rows: Sequence[Mapping[str, float]]) -> Tensor:
        """Map ``n`` dicts in parameter units to unit-cube points ``X: n x d`` (double)."""
        X = torch.tensor(
            [[float(row[name]) for name in self.names] for row in rows], dtype=torch.double
        ).reshape(len(rows), self.dim)
        X = (X - self.bounds[0]) / (self.bounds[1] - self.bounds[0])
        return X.clamp(0.0, 1.0)
