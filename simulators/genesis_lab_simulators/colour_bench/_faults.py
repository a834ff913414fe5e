"""Fault injection for the colour bench's dye pumps: which fault strikes which move.

Four faults, each given a probability per move or a schedule of move numbers (1-based,
counted per pump), or both:

- ``set_error``: ``set()`` raises :class:`InjectedFaultError` at once; nothing moves.
- ``never_complete``: the move starts and its Status never finishes (until ``stop()``).
- ``stuck``: the Status finishes successfully, but the pump has not moved.
- ``drift``: the Status finishes successfully, but the pump ends ``drift_ml`` beyond the
  setpoint.

Off by default. Draws come from a generator of the pump's own, so the bench's noise and
fault stream (its ``seed``) reads exactly as it does without faults.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FAULT_KINDS", "FaultKind", "FaultPicker", "FaultSchedule", "PumpFaults"]

FaultKind = Literal["set_error", "never_complete", "stuck", "drift"]
FAULT_KINDS: tuple[FaultKind, ...] = ("set_error", "never_complete", "stuck", "drift")


class FaultSchedule(BaseModel):
    """When one kind of fault strikes: with ``probability`` per move, and at ``at_moves``.

    A bare number in a file means ``{probability: number}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    probability: float = Field(default=0.0, ge=0.0, le=1.0, description="Per move, 0..1.")
    at_moves: tuple[int, ...] = Field(
        default=(), description="Move numbers (1-based, per pump) at which it always strikes."
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_probability(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"probability": value}
        return value

    @model_validator(mode="after")
    def _positive_moves(self) -> FaultSchedule:
        if any(move < 1 for move in self.at_moves):
            raise ValueError("at_moves counts moves from 1")
        return self


class PumpFaults(BaseModel):
    """Faults of the dye pumps (option ``faults`` of the colour bench); all off by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set_error: FaultSchedule = Field(default_factory=FaultSchedule)
    never_complete: FaultSchedule = Field(default_factory=FaultSchedule)
    stuck: FaultSchedule = Field(default_factory=FaultSchedule)
    drift: FaultSchedule = Field(default_factory=FaultSchedule)
    drift_ml: float = Field(
        default=0.5, gt=0.0, description="How far a drifting pump ends beyond its setpoint (mL)."
    )

    @model_validator(mode="after")
    def _total_at_most_one(self) -> PumpFaults:
        total = sum(getattr(self, kind).probability for kind in FAULT_KINDS)
        if total > 1.0:
            raise ValueError(f"the fault probabilities add up to {total:g}, more than 1")
        return self

    @property
    def active(self) -> bool:
        """Whether any fault can strike at all."""
        return any(
            getattr(self, kind).probability > 0 or getattr(self, kind).at_moves
            for kind in FAULT_KINDS
        )


class FaultPicker:
    """Decides, move by move, which fault (if any) strikes one pump."""

    def __init__(self, faults: PumpFaults, rng: np.random.Generator) -> None:
        self.faults = faults
        self._rng = rng
        self.moves = 0

    def next_move(self) -> FaultKind | None:
        """Count a move and return the fault that strikes it, or None."""
        self.moves += 1
        for kind in FAULT_KINDS:
            if self.moves in getattr(self.faults, kind).at_moves:
                return kind
        draw = float(self._rng.random())
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += getattr(self.faults, kind).probability
            if draw < edge:
                return kind
        return None
