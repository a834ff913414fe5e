"""How far a replay may differ from its record: ``replay --against --max-difference``.

A :class:`DifferenceLimits` gives, per objective or outcome constraint, the largest
absolute difference between a trial's simulated and recorded value that still passes, in
that quantity's own units (a bare value for every one, ``NAME=VALUE`` for one).
:meth:`ReplayComparison.exceeding <genesis_lab.orchestration.ReplayComparison.exceeding>`
lists each :class:`Exceedance`: one trial's value over its limit. Only trials completed in
both campaigns have a difference; a trial that ended differently is a state mismatch,
which the comparison reports on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genesis_lab.spec import CampaignSpec

__all__ = ["DifferenceLimits", "Exceedance"]


@dataclass(frozen=True)
class DifferenceLimits:
    """Largest allowed ``|simulated − recorded|`` per trial, in each quantity's units:
    ``by_name`` for the quantities named, ``default`` for every other (None: unchecked)."""

    by_name: Mapping[str, float] = field(default_factory=dict)
    default: float | None = None

    @classmethod
    def parse(cls, texts: Sequence[str], spec: CampaignSpec) -> DifferenceLimits:
        """Limits from ``--max-difference`` values: ``X`` (every objective and outcome
        constraint of ``spec``) or ``NAME=X`` (that one). Raises ValueError saying what is
        wrong: not a number, negative, a name ``spec`` does not measure, given twice."""
        measured = [o.name for o in spec.all_objectives]
        measured += [c.name for c in spec.outcome_constraints]
        by_name: dict[str, float] = {}
        default: float | None = None
        for text in texts:
            name, sep, value = text.rpartition("=")
            try:
                limit = float(value)
            except ValueError:
                limit = math.nan
            if not math.isfinite(limit) or limit < 0:
                raise ValueError(
                    f"--max-difference takes X or NAME=X with X a number >= 0, got {text!r}"
                )
            if not sep:
                if default is not None:
                    raise ValueError(f"--max-difference X is given twice ({default} and {text})")
                default = limit
                continue
            if name not in measured:
                raise ValueError(
                    f"--max-difference {text}: the campaign measures no {name!r}; its "
                    f"objectives and outcome constraints are {', '.join(measured)}"
                )
            if name in by_name:
                raise ValueError(f"--max-difference for {name!r} is given twice")
            by_name[name] = limit
        return cls(by_name, default)

    def limit(self, name: str) -> float | None:
        """The largest allowed absolute difference of ``name``; None when unchecked."""
        return self.by_name.get(name, self.default)

    def __bool__(self) -> bool:
        return self.default is not None or bool(self.by_name)

    def to_json(self, names: Sequence[str]) -> dict[str, float | None]:
        return {name: self.limit(name) for name in names}


@dataclass(frozen=True)
class Exceedance:
    """Experiment ``number`` (trial ``trial_id``): ``name`` differs by ``difference``
    (simulated minus recorded, in its units), more than ``limit`` allows."""

    number: int
    trial_id: str
    name: str
    recorded: float
    simulated: float
    limit: float

    @property
    def difference(self) -> float:
        return self.simulated - self.recorded

    def describe(self) -> str:
        """One line: which trial, which quantity, both values, the difference and limit."""
        return (
            f"experiment {self.number} (trial {self.trial_id}) {self.name}: recorded "
            f"{self.recorded:.6g}, simulated {self.simulated:.6g}, difference "
            f"{self.difference:+.6g} exceeds {self.limit:g}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "trial_id": self.trial_id,
            "name": self.name,
            "recorded": self.recorded,
            "simulated": self.simulated,
            "difference": self.difference,
            "limit": self.limit,
        }
