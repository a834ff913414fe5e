"""The search space: typed parameters and the map to and from the unit cube.

Planners compute in the unit cube ``[0, 1]^d`` so that the GP, the acquisition optimiser and
distance checks are well conditioned whatever the parameters' units; values cross the
planner's boundary only in the parameters' own units. One column per *searched* parameter
(fixed parameters have none; they are added to every proposal):

- continuous, linear: ``(v - lower) / (upper - lower)``; log: the same in ``log(v)``;
- integer and discrete: the same affine map, restricted to the grid of allowed values
  (``grid``); a point off the grid is rounded to the nearest allowed value;
- categorical with ``k`` choices: choice ``i`` is ``i / (k - 1)``; the model treats the
  column as categorical (only equality matters), never as ordered.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from genesis_lab.errors import PlannerError
from genesis_lab.spec import (
    CategoricalParameter,
    ContinuousParameter,
    DiscreteParameter,
    FixedParameter,
    IntegerParameter,
    Parameter,
)

from ._types import ParameterValue

__all__ = ["SearchSpace"]

_Searched = ContinuousParameter | IntegerParameter | DiscreteParameter | CategoricalParameter


@dataclass(frozen=True)
class _Column:
    """One searched parameter as a unit-cube column.

    ``lower``/``upper`` are in the column's own coordinate (``log(v)`` on a log scale).
    ``levels`` is the number ``n`` of allowed values of an integer, discrete or categorical
    column (value ``i`` sits at ``i / (n - 1)``: every such grid is evenly spaced), None for
    a continuous one.
    """

    parameter: _Searched
    lower: float
    upper: float
    levels: int | None = None
    log: bool = False

    @property
    def categorical(self) -> bool:
        return isinstance(self.parameter, CategoricalParameter)

    @property
    def width(self) -> float:
        """Span that turns a unit-cube length into parameter units (natural-log units on a
        log scale, 1 for a categorical column)."""
        return 1.0 if self.categorical else self.upper - self.lower

    @property
    def grid(self) -> list[float]:
        """Allowed unit-cube values, ascending from exactly 0.0 to exactly 1.0."""
        n = self.levels or 2
        return [i / (n - 1) for i in range(n - 1)] + [1.0]

    def index(self, u: float) -> int:
        """Index of the allowed value nearest to ``u`` (a grid column only)."""
        n = self.levels or 2
        return min(max(round(u * (n - 1)), 0), n - 1)


def _column(parameter: _Searched) -> _Column:
    if isinstance(parameter, CategoricalParameter):
        return _Column(parameter, 0.0, 1.0, levels=len(parameter.choices))
    lower, upper = (float(b) for b in parameter.bounds)
    if isinstance(parameter, IntegerParameter):
        return _Column(
            parameter, lower, upper, levels=parameter.bounds[1] - parameter.bounds[0] + 1
        )
    if isinstance(parameter, DiscreteParameter):
        return _Column(parameter, lower, upper, levels=len(parameter.values))
    if parameter.scale == "log":
        return _Column(parameter, math.log(lower), math.log(upper), log=True)
    return _Column(parameter, lower, upper)


class SearchSpace:
    """Typed parameters in a fixed order; the searched ones span the unit cube ``[0, 1]^d``.

    ``names`` lists every parameter (fixed ones too), in campaign order, as proposals list
    them; ``dim`` counts the searched ones (``d``).
    """

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        if len(parameters) == 0:
            raise PlannerError("a planner needs at least one parameter; add one to the campaign")
        names = [parameter.name for parameter in parameters]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise PlannerError(f"parameter names must be unique; repeated: {duplicates}")
        self.names: tuple[str, ...] = tuple(names)
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        self._fixed = {p.name: p.value for p in parameters if isinstance(p, FixedParameter)}
        self._columns = [_column(p) for p in parameters if not isinstance(p, FixedParameter)]
        if not self._columns:
            raise PlannerError(
                "every parameter is fixed, so there is nothing to search; "
                "give at least one parameter a range"
            )
        self.searched: tuple[str, ...] = tuple(c.parameter.name for c in self._columns)

    @property
    def dim(self) -> int:
        """Number of searched parameters ``d`` (columns of the unit cube)."""
        return len(self._columns)

    @property
    def unit_bounds(self) -> Tensor:
        """``2 x d`` double tensor of the unit cube: zeros over ones."""
        bounds = torch.zeros(2, self.dim, dtype=torch.double)
        bounds[1] = 1.0
        return bounds

    @property
    def widths(self) -> list[float]:
        """Per column, the span that turns a unit-cube length into parameter units
        (natural-log units on a log scale, 1 for a categorical column)."""
        return [column.width for column in self._columns]

    @property
    def is_continuous(self) -> bool:
        """True when every searched column is continuous (no grid, no category)."""
        return all(column.levels is None for column in self._columns)

    @property
    def discrete_dims(self) -> dict[int, list[float]]:
        """Ordered grid columns (integer, discrete) -> their allowed unit-cube values."""
        return {
            i: c.grid
            for i, c in enumerate(self._columns)
            if c.levels is not None and not c.categorical
        }

    @property
    def cat_dims(self) -> dict[int, list[float]]:
        """Categorical columns -> their unit-cube codes ``i / (k - 1)``."""
        return {
            i: c.grid for i, c in enumerate(self._columns) if c.levels is not None and c.categorical
        }

    def from_uniform(self, U: Tensor) -> Tensor:
        """Turn uniform draws ``U: q x d`` (Sobol, random) into legal unit-cube points.

        A grid column takes the value of the bin ``U`` falls in (``k`` equal bins for
        ``k`` values), so each allowed value is drawn equally often; continuous columns
        are unchanged.
        """
        X = U.detach().to(dtype=torch.double).clamp(0.0, 1.0)
        for i, column in enumerate(self._columns):
            if column.levels is not None:
                n = column.levels
                X[:, i] = (X[:, i] * n).floor().clamp(0, n - 1) / (n - 1)
        return X

    def round(self, X: Tensor) -> Tensor:
        """``X: q x d`` clamped to the cube, each grid column moved to its nearest value."""
        X = X.detach().to(dtype=torch.double).clamp(0.0, 1.0)
        for i, column in enumerate(self._columns):
            if column.levels is not None:
                n = column.levels
                X[:, i] = (X[:, i] * (n - 1)).round() / (n - 1)
        return X

    def to_parameters(self, X: Tensor) -> list[dict[str, ParameterValue]]:
        """Map unit-cube points ``X: q x d`` to ``q`` proposals in parameter units.

        Continuous values are Python floats clamped to their bounds; integer values are
        ints; discrete values are grid values; categorical values are the choice strings;
        fixed parameters carry their value. Keys follow the campaign's order.
        """
        rows: list[dict[str, ParameterValue]] = []
        for x in self.round(X).tolist():
            searched = {
                column.parameter.name: self._value(column, u)
                for column, u in zip(self._columns, x, strict=True)
            }
            rows.append(
                {name: searched.get(name, self._fixed.get(name, 0.0)) for name in self.names}
            )
        return rows

    def to_unit(self, rows: Sequence[Mapping[str, ParameterValue]]) -> Tensor:
        """Map ``n`` rows in parameter units to unit-cube points ``X: n x d`` (double).

        Fixed parameters are ignored (they are not columns).
        """
        X = torch.tensor(
            [
                [self._unit(column, row[column.parameter.name]) for column in self._columns]
                for row in rows
            ],
            dtype=torch.double,
        ).reshape(len(rows), self.dim)
        return X.clamp(0.0, 1.0)

    def validate(self, parameters: Mapping[str, object]) -> dict[str, ParameterValue]:
        """Check an experiment given in parameter units and return it as a proposal row.

        Every searched parameter must be present with a legal value: a finite number within
        the bounds (continuous), a whole number within the bounds (integer), a value of the
        grid (discrete, to within 1e-9 of the step; returned exactly on the grid), one of
        the choices (categorical). A fixed parameter may be left out; if given it must
        equal its value. No other key is allowed. Raises ``PlannerError`` naming the
        parameter.
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
        row: dict[str, ParameterValue] = {}
        for parameter in self.parameters:
            name = parameter.name
            if isinstance(parameter, FixedParameter):
                value = parameters.get(name, parameter.value)
                if value != parameter.value or isinstance(value, bool):
                    raise PlannerError(
                        f"parameter {name!r} is fixed at {parameter.value!r}, got {value!r}; "
                        "leave it out or give the fixed value"
                    )
                row[name] = parameter.value
                continue
            if name not in parameters:
                raise PlannerError(f"parameter {name!r} is missing; give a value for it")
            row[name] = _legal(parameter, parameters[name])
        return row

    def _value(self, column: _Column, u: float) -> ParameterValue:
        parameter = column.parameter
        if isinstance(parameter, CategoricalParameter):
            return parameter.choices[column.index(u)]
        if isinstance(parameter, IntegerParameter):
            return parameter.bounds[0] + column.index(u)
        if isinstance(parameter, DiscreteParameter):
            return parameter.values[column.index(u)]
        value = column.lower + u * column.width
        if column.log:  # the ends exactly: exp(log(v)) may differ from v in the last bit
            lower, upper = (float(b) for b in parameter.bounds)
            return (
                lower
                if u <= 0.0
                else upper
                if u >= 1.0
                else min(max(math.exp(value), lower), upper)
            )
        return min(max(value, column.lower), column.upper)

    def _unit(self, column: _Column, value: ParameterValue) -> float:
        parameter = column.parameter
        if isinstance(parameter, CategoricalParameter):
            assert column.grid is not None
            return parameter.choices.index(str(value)) / (len(parameter.choices) - 1)
        number = math.log(float(value)) if column.log else float(value)
        return (number - column.lower) / column.width


def _legal(parameter: _Searched, raw: object) -> ParameterValue:
    """``raw`` as the legal value of searched ``parameter``, or ``PlannerError``."""
    name = parameter.name
    if isinstance(parameter, CategoricalParameter):
        if not isinstance(raw, str) or raw not in parameter.choices:
            raise PlannerError(
                f"parameter {name!r} must be one of {list(parameter.choices)}, got {raw!r}"
            )
        return raw
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        raise PlannerError(f"parameter {name!r} must be a real number, got {raw!r}")
    value = float(raw)
    lower, upper = (float(b) for b in parameter.bounds)
    if not (math.isfinite(value) and lower <= value <= upper):
        raise PlannerError(f"parameter {name!r} is {value}, outside its bounds [{lower}, {upper}]")
    if isinstance(parameter, IntegerParameter):
        if not value.is_integer():
            raise PlannerError(f"parameter {name!r} must be a whole number, got {raw!r}")
        return int(value)
    if isinstance(parameter, DiscreteParameter):
        nearest = parameter.values[round((value - lower) / parameter.step)]
        if abs(nearest - value) > 1e-9 * parameter.step:
            raise PlannerError(
                f"parameter {name!r} is {value}, not on its grid of step {parameter.step} "
                f"from {lower}; the nearest allowed value is {nearest}"
            )
        return nearest
    return value
