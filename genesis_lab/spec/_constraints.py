"""Linear constraints on parameters, written as text (``a + 2*b <= 10``) in a campaign file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import (
    Field,
)

from genesis_lab.spec._base import StrictModel
from genesis_lab.spec._parameters import ContinuousParameter, Parameter

__all__ = ["LinearConstraint", "parse_constraint"]


class LinearConstraint(StrictModel):
    """``sum(coefficients[name] * value[name]) <relation> rhs``, in the parameters' units.

    Only continuous linear-scale parameters appear, so the constraint stays linear in the
    planner's unit cube. Written in a campaign as e.g. ``"cyan + magenta + yellow <= 12"``.
    """

    coefficients: dict[str, float] = Field(
        min_length=1, description="Parameter name -> its coefficient (per unit of the parameter)."
    )
    relation: Literal["<=", ">=", "=="]
    rhs: float = Field(description="Right-hand side, in the units of the left-hand side.")

    def __str__(self) -> str:
        terms = " + ".join(f"{c:g}*{name}" for name, c in self.coefficients.items())
        return f"{terms} {self.relation} {self.rhs:g}"


_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TERM = re.compile(
    rf"\s*(?P<sign>[+-])?\s*(?:(?P<coef>{_NUMBER})\s*\*\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*"
)
_RELATION = re.compile(r"<=|>=|==|<|>|=")


def parse_constraint(text: str) -> LinearConstraint:
    """Parse ``"2*a - b >= 0.5"``: terms ``[+-] [number *] name``, one relation, a number.

    Raises ``ValueError`` saying what is wrong. A name written twice has its coefficients
    added.
    """
    relations = _RELATION.findall(text)
    if len(relations) != 1 or relations[0] not in ("<=", ">=", "=="):
        raise ValueError(
            f"{text!r} needs exactly one relation, '<=', '>=' or '==' (got {relations or 'none'})"
        )
    lhs, rhs_text = _RELATION.split(text)
    try:
        rhs = float(rhs_text.strip())
    except ValueError:
        raise ValueError(
            f"the right-hand side of {text!r} must be a number, got {rhs_text.strip()!r}; "
            "move every parameter to the left"
        ) from None
    if rhs != rhs or rhs in (float("inf"), float("-inf")):
        raise ValueError(f"the right-hand side of {text!r} must be a finite number")
    coefficients: dict[str, float] = {}
    position = 0
    while position < len(lhs):
        match = _TERM.match(lhs, position)
        if match is None or match.end() == position or (position and match["sign"] is None):
            rest = lhs[position:].strip()
            raise ValueError(
                f"cannot read {rest!r} in {text!r}; write terms as '[+-] [number *] name', "
                "e.g. '2*a - b'"
            )
        coefficient = float(match["coef"] or 1.0) * (-1.0 if match["sign"] == "-" else 1.0)
        name = match["name"]
        coefficients[name] = coefficients.get(name, 0.0) + coefficient
        position = match.end()
    if not coefficients:
        raise ValueError(f"{text!r} has no parameter on the left-hand side")
    return LinearConstraint(coefficients=coefficients, relation=relations[0], rhs=rhs)


def _check_constraint(text: str, parameters: Mapping[str, Parameter]) -> LinearConstraint:
    """Parse ``text`` and check its names against the campaign's ``parameters``."""
    constraint = parse_constraint(text)
    low = high = 0.0
    for name, coefficient in constraint.coefficients.items():
        parameter = parameters.get(name)
        if parameter is None:
            raise ValueError(f"unknown parameter {name!r}; the campaign has {sorted(parameters)}")
        if not isinstance(parameter, ContinuousParameter) or parameter.scale != "linear":
            kind = "log-scale" if isinstance(parameter, ContinuousParameter) else parameter.type
            raise ValueError(
                f"{name!r} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} parameter; only "
                "continuous linear-scale parameters "
                "may appear in constraints"
            )
        ends = (coefficient * parameter.bounds[0], coefficient * parameter.bounds[1])
        low, high = low + min(ends), high + max(ends)
    relation, rhs = constraint.relation, constraint.rhs
    if (relation != ">=" and low > rhs) or (relation != "<=" and high < rhs):
        raise ValueError(
            f"no point within the bounds satisfies {text!r} (the left-hand side ranges over "
            f"[{low:g}, {high:g}]); change the constraint or widen the bounds"
        )
    return constraint
