"""The planner contract: what a proposal is and what every planner answers to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Planner", "Proposal"]


@dataclass(frozen=True)
class Proposal:
    """One experiment the planner wants run.

    ``trial_id`` is ``"t0001"``, ``"t0002"``, ... in the order the planner proposed them;
    ``parameters`` maps each parameter name to its value in that parameter's units;
    ``origin`` says why the point was chosen: ``"sobol"`` (space-filling design),
    ``"model"`` (maximiser of the acquisition function) or ``"random"`` (uniform draw).
    """

    trial_id: str
    parameters: dict[str, float]
    origin: str


@runtime_checkable
class Planner(Protocol):
    """Ask/tell contract between the orchestrator and a planner.

    Every proposal is *pending* until it is told (a result came back) or forgotten (the
    trial failed or was abandoned). A planner never re-proposes a pending point and never
    accepts a result twice.
    """

    def ask(self, n: int = 1) -> list[Proposal]:
        """Propose ``n`` new experiments; they become pending."""
        ...

    def tell(self, trial_id: str, outcomes: Mapping[str, float]) -> None:
        """Record the result of a pending trial; ``outcomes`` is keyed by objective name."""
        ...

    def forget(self, trial_id: str) -> None:
        """Drop a pending trial that will never report (failed or abandoned)."""
        ...

    @property
    def best(self) -> tuple[str, dict[str, float], float] | None:
        """``(trial_id, parameters, objective value)`` of the best result so far, or None."""
        ...
