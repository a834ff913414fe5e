"""Ask/tell bookkeeping shared by every planner: trial ids, pending trials, results, best.

A concrete planner only says how to choose ``q`` new unit-cube points given the history
(``_generate``); this base keeps the contract: sequential ids, no result taken twice, no
pending point forgotten silently.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from torch import Tensor

from genesis_lab.errors import PlannerError
from genesis_lab.spec import LinearConstraint, Objective, Parameter

from ._constraints import UnitConstraints
from ._space import SearchSpace
from ._types import Explanation, ParameterValue, Proposal

__all__ = ["AskTellPlanner", "Observation"]


@dataclass(frozen=True)
class Observation:
    """A completed trial: the parameters that were run and the objective value measured."""

    trial_id: str
    parameters: dict[str, ParameterValue]
    value: float


class AskTellPlanner(ABC):
    """Base of the planners: keeps proposals, pending trials and observations in order."""

    def __init__(
        self,
        parameters: Sequence[Parameter],
        objective: Objective,
        constraints: Sequence[LinearConstraint] = (),
    ) -> None:
        self.space = SearchSpace(parameters)
        self.constraints = UnitConstraints(self.space, constraints)
        self.objective = objective
        self._proposed = 0
        self._pending: dict[str, dict[str, ParameterValue]] = {}
        self._observations: list[Observation] = []
        self._told: set[str] = set()
        self._forgotten: set[str] = set()

    @abstractmethod
    def _generate(self, q: int) -> tuple[Tensor, list[str], list[Explanation | None]]:
        """Choose new points ``X: q' x d`` in the unit cube, ``1 <= q' <= q``.

        Returns the points, the origin of each (``q'`` strings) and the explanation of each
        (``q'`` entries, None where no model chose the point). May return fewer than
        ``q`` points (a phase ends); ``ask`` calls again for the rest, with the first ones
        already pending.
        """

    @property
    def num_proposed(self) -> int:
        """How many trials this planner has numbered so far: asked, suggested and observed."""
        return self._proposed

    @property
    def pending(self) -> dict[str, dict[str, ParameterValue]]:
        """Trials asked but neither told nor forgotten: ``trial_id -> parameters``."""
        return {trial_id: dict(row) for trial_id, row in self._pending.items()}

    @property
    def observations(self) -> tuple[Observation, ...]:
        """Completed trials, in the order they were told."""
        return tuple(self._observations)

    def ask(self, n: int = 1) -> list[Proposal]:
        """Propose ``n`` new experiments; each becomes pending until told or forgotten."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise PlannerError(f"ask(n) needs a positive whole number of proposals, got {n!r}")
        proposals: list[Proposal] = []
        while len(proposals) < n:
            X, origins, explanations = self._generate(n - len(proposals))
            rows = self.space.to_parameters(X)
            for row, origin, explanation in zip(rows, origins, explanations, strict=True):
                trial_id = self._next_trial_id()
                self._pending[trial_id] = row
                proposals.append(
                    Proposal(
                        trial_id=trial_id,
                        parameters=dict(row),
                        origin=origin,
                        explanation=explanation,
                    )
                )
        return proposals

    def suggest(
        self, parameters: Mapping[str, ParameterValue], *, origin: str = "manual"
    ) -> Proposal:
        """Take an experiment chosen elsewhere (an operator's own, or a retry).

        ``parameters`` is validated against the search space (``PlannerError`` naming the
        parameter otherwise); the experiment gets the next trial id and becomes pending
        exactly like an asked proposal, so later asks keep away from it. It counts towards
        the initial design. The proposal carries ``origin`` and no explanation. A point
        that violates a linear constraint (beyond a relative 1e-6) is refused.
        """
        row = self.space.validate(parameters)
        self.constraints.check(row)
        trial_id = self._next_trial_id()
        self._pending[trial_id] = row
        return Proposal(trial_id=trial_id, parameters=dict(row), origin=origin)

    def observe(
        self,
        parameters: Mapping[str, ParameterValue],
        outcomes: Mapping[str, float],
        *,
        origin: str = "prior",
    ) -> str:
        """Record a result obtained elsewhere (prior data imported from a file).

        ``parameters`` is validated as in ``suggest`` and ``outcomes`` as in ``tell``; the
        result gets the next trial id and is an observation at once (the model uses it, and
        it counts towards the initial design). Returns the trial id. ``origin`` is accepted
        for symmetry with ``suggest`` and for the caller's record; the planner keeps only the
        observation.
        """
        row = self.space.validate(parameters)
        self.constraints.check(row)
        value = self._objective_value(None, outcomes)
        trial_id = self._next_trial_id()
        self._told.add(trial_id)
        self._observations.append(Observation(trial_id, row, value))
        return trial_id

    def tell(self, trial_id: str, outcomes: Mapping[str, float]) -> None:
        """Record the result of pending trial ``trial_id``.

        ``outcomes`` must hold a finite real number under the objective's name; other keys
        are ignored. On a bad outcome the trial stays pending, so it can be told again with a
        corrected value or forgotten.
        """
        self._check_pending(trial_id, "tell")
        value = self._objective_value(trial_id, outcomes)
        parameters = self._pending.pop(trial_id)
        self._told.add(trial_id)
        self._observations.append(Observation(trial_id, parameters, value))

    def _next_trial_id(self) -> str:
        self._proposed += 1
        return f"t{self._proposed:04d}"

    def _objective_value(self, trial_id: str | None, outcomes: Mapping[str, float]) -> float:
        """The objective's value in ``outcomes``, a finite float, or ``PlannerError``.

        ``trial_id`` is the pending trial being told, or None for an ``observe``.
        """
        name = self.objective.name
        what = f"trial {trial_id}" if trial_id is not None else "the observed experiment"
        if not isinstance(outcomes, Mapping) or name not in outcomes:
            keys = sorted(outcomes) if isinstance(outcomes, Mapping) else type(outcomes).__name__
            fix = "" if trial_id is None else ", or forget() the trial if it produced no value"
            raise PlannerError(
                f"outcomes of {what} lack the objective {name!r} (got {keys}); "
                f"pass {{{name!r}: value}}{fix}",
                trial_id=trial_id,
            )
        raw = outcomes[name]
        if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
            raise PlannerError(
                f"objective {name!r} of {what} must be a real number, got {raw!r}",
                trial_id=trial_id,
            )
        value = float(raw)
        if not math.isfinite(value):
            fix = "drop it" if trial_id is None else "forget() the trial"
            raise PlannerError(
                f"objective {name!r} of {what} is {value}, not a finite number; "
                f"{fix} if the measurement failed",
                trial_id=trial_id,
            )
        return value

    def forget(self, trial_id: str) -> None:
        """Drop pending trial ``trial_id`` (failed or abandoned) without an observation."""
        self._check_pending(trial_id, "forget")
        del self._pending[trial_id]
        self._forgotten.add(trial_id)

    @property
    def best(self) -> tuple[str, dict[str, ParameterValue], float] | None:
        """``(trial_id, parameters, value)`` of the best observation, by the objective's
        direction (first one wins a tie); ``None`` before any result."""
        if not self._observations:
            return None
        sign = 1.0 if self.objective.direction == "maximize" else -1.0
        best = max(self._observations, key=lambda observation: sign * observation.value)
        return best.trial_id, dict(best.parameters), best.value

    def _check_pending(self, trial_id: str, verb: str) -> None:
        if trial_id in self._pending:
            return
        if trial_id in self._told:
            why = "it was already told; a result is taken only once"
        elif trial_id in self._forgotten:
            why = "it was forgotten; a forgotten trial takes no result"
        else:
            why = "this planner never proposed it"
        raise PlannerError(f"cannot {verb} trial {trial_id!r}: {why}", trial_id=trial_id)
