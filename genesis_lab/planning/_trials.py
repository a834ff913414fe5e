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
from typing import Literal

from torch import Tensor

from genesis_lab.errors import PlannerError
from genesis_lab.spec import LinearConstraint, Objective, OutcomeConstraint, Parameter

from ._constraints import UnitConstraints
from ._space import SearchSpace
from ._types import Explanation, ParameterValue, Proposal

__all__ = ["AskTellPlanner", "Observation", "as_objectives", "non_dominated"]


def as_objectives(objectives: Objective | Sequence[Objective]) -> tuple[Objective, ...]:
    """One objective or several, as a non-empty tuple with distinct names."""
    found = (objectives,) if isinstance(objectives, Objective) else tuple(objectives)
    if not found:
        raise PlannerError("a planner needs at least one objective")
    names = [objective.name for objective in found]
    if len(set(names)) != len(names):
        raise PlannerError(f"objective names must differ, got {names}")
    return found


@dataclass(frozen=True)
class Observation:
    """A completed trial: the parameters that were run and what was measured.

    ``outcomes`` holds every objective's and outcome constraint's value by name; ``value``
    is the first objective's; ``feasible`` says whether every outcome constraint held.
    """

    trial_id: str
    parameters: dict[str, ParameterValue]
    value: float
    outcomes: dict[str, float]
    feasible: bool = True


def non_dominated(points: Sequence[Sequence[float]]) -> list[bool]:
    """For each point (larger is better in every coordinate), whether no other point is at
    least as good everywhere and better somewhere. Exact duplicates all stay."""
    keep = []
    for i, a in enumerate(points):
        dominated = any(
            j != i
            and all(x >= y for x, y in zip(b, a, strict=True))
            and any(x > y for x, y in zip(b, a, strict=True))
            for j, b in enumerate(points)
        )
        keep.append(not dominated)
    return keep


class AskTellPlanner(ABC):
    """Base of the planners: keeps proposals, pending trials and observations in order."""

    def __init__(
        self,
        parameters: Sequence[Parameter],
        objectives: Objective | Sequence[Objective],
        constraints: Sequence[LinearConstraint] = (),
        outcome_constraints: Sequence[OutcomeConstraint] = (),
        method: Literal["pareto", "weighted"] = "pareto",
    ) -> None:
        self.space = SearchSpace(parameters)
        self.weighted = method == "weighted"
        self.constraints = UnitConstraints(self.space, constraints)
        self.objectives = as_objectives(objectives)
        self.objective = self.objectives[0]
        self.outcome_constraints = tuple(outcome_constraints)
        self._proposed = 0
        self._pending: dict[str, dict[str, ParameterValue]] = {}
        self._observations: list[Observation] = []
        self._told: set[str] = set()
        self._forgotten: set[str] = set()
        self._failed: list[tuple[str, dict[str, ParameterValue]]] = []

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

    @property
    def failures(self) -> tuple[tuple[str, dict[str, ParameterValue]], ...]:
        """``(trial_id, parameters)`` of each trial forgotten as failed or rejected, in order:
        the points where an experiment could not give a result."""
        return tuple((trial_id, dict(row)) for trial_id, row in self._failed)

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

    def restore(
        self, trial_id: str, parameters: Mapping[str, ParameterValue], *, origin: str
    ) -> Proposal:
        """Take back a trial an earlier planner of this campaign proposed (a resumed campaign).

        Trials must be restored in the order they were numbered, prior results through
        ``observe``, so ``trial_id`` must be the next id (``PlannerError`` otherwise). The
        trial becomes pending, as when it was proposed; tell or forget it as the record says.
        A point of the initial design advances the design, so it is not proposed again."""
        expected = f"t{self._proposed + 1:04d}"
        if trial_id != expected:
            raise PlannerError(
                f"cannot restore trial {trial_id!r}: the next trial of this planner is "
                f"{expected!r}; restore trials in the order they were proposed",
                trial_id=trial_id,
            )
        row = self.space.validate(parameters)
        self._next_trial_id()
        self._pending[trial_id] = row
        self._restored(origin, row)
        return Proposal(trial_id=trial_id, parameters=dict(row), origin=origin)

    def _restored(self, origin: str, row: dict[str, ParameterValue]) -> None:
        """Hook: a trial of ``origin`` at ``row`` was restored (a planner with a design
        skips past it). The base planner draws nothing, so it has nothing to skip."""
        return

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
        values = self._outcome_values(None, outcomes)
        trial_id = self._next_trial_id()
        self._told.add(trial_id)
        self._observations.append(self._observation(trial_id, row, values))
        return trial_id

    def tell(self, trial_id: str, outcomes: Mapping[str, float]) -> None:
        """Record the result of pending trial ``trial_id``.

        ``outcomes`` must hold a finite real number under each objective's and each outcome
        constraint's name; other keys are ignored. On a bad outcome the trial stays pending,
        so it can be told again with a corrected value or forgotten.
        """
        self._check_pending(trial_id, "tell")
        values = self._outcome_values(trial_id, outcomes)
        parameters = self._pending.pop(trial_id)
        self._told.add(trial_id)
        self._observations.append(self._observation(trial_id, parameters, values))

    def _observation(
        self, trial_id: str, parameters: dict[str, ParameterValue], values: dict[str, float]
    ) -> Observation:
        feasible = all(c.holds(values[c.name]) for c in self.outcome_constraints)
        return Observation(trial_id, parameters, values[self.objective.name], values, feasible)

    def _outcome_values(
        self, trial_id: str | None, outcomes: Mapping[str, float]
    ) -> dict[str, float]:
        """Every objective's and outcome constraint's value in ``outcomes``, checked."""
        kinds = {o.name: "objective" for o in self.objectives}
        kinds.update({c.name: "outcome constraint" for c in self.outcome_constraints})
        return {
            name: self._outcome_value(trial_id, outcomes, name, kind)
            for name, kind in kinds.items()
        }

    def _next_trial_id(self) -> str:
        self._proposed += 1
        return f"t{self._proposed:04d}"

    def _outcome_value(
        self, trial_id: str | None, outcomes: Mapping[str, float], name: str, kind: str
    ) -> float:
        """The value of ``name`` (an objective or outcome constraint, as ``kind`` says) in
        ``outcomes``, a finite float, or ``PlannerError``.

        ``trial_id`` is the pending trial being told, or None for an ``observe``.
        """
        what = f"trial {trial_id}" if trial_id is not None else "the observed experiment"
        if not isinstance(outcomes, Mapping) or name not in outcomes:
            keys = sorted(outcomes) if isinstance(outcomes, Mapping) else type(outcomes).__name__
            fix = "" if trial_id is None else ", or forget() the trial if it produced no value"
            raise PlannerError(
                f"outcomes of {what} lack the {kind} {name!r} (got {keys}); "
                f"pass {{{name!r}: value}}{fix}",
                trial_id=trial_id,
            )
        raw = outcomes[name]
        if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
            raise PlannerError(
                f"{kind} {name!r} of {what} must be a real number, got {raw!r}",
                trial_id=trial_id,
            )
        value = float(raw)
        if not math.isfinite(value):
            fix = "drop it" if trial_id is None else "forget() the trial"
            raise PlannerError(
                f"{kind} {name!r} of {what} is {value}, not a finite number; "
                f"{fix} if the measurement failed",
                trial_id=trial_id,
            )
        return value

    def forget(self, trial_id: str, *, failed: bool = False) -> None:
        """Drop pending trial ``trial_id`` without an observation.

        ``failed=True`` says the experiment could not give a result *at this point* (a
        device fault, a measurement that failed, a request refused by the safety envelope):
        a planner that models feasibility learns to avoid the region. An abandoned trial
        (lease expired, operator decision) says nothing about the point: ``failed=False``.
        """
        self._check_pending(trial_id, "forget")
        row = self._pending.pop(trial_id)
        self._forgotten.add(trial_id)
        if failed:
            self._failed.append((trial_id, row))

    def score(self, observation: Observation) -> float:
        """How good ``observation`` is as one number, larger better: the first objective
        signed by its direction (and with several objectives searched for a Pareto front);
        ``sum(weight * signed value)`` when the objectives are weighted."""
        if self.weighted:
            return sum(o.weight * o.sign * observation.outcomes[o.name] for o in self.objectives)
        return observation.outcomes[self.objective.name] * self.objective.sign

    @property
    def best(self) -> tuple[str, dict[str, ParameterValue], float] | None:
        """``(trial_id, parameters, first objective's value)`` of the best observation by
        ``score`` (first one wins a tie), among those that satisfy every outcome constraint
        (all of them if none does); ``None`` before any result."""
        if not self._observations:
            return None
        candidates = [o for o in self._observations if o.feasible] or self._observations
        best = max(candidates, key=self.score)
        return best.trial_id, dict(best.parameters), best.value

    @property
    def pareto_front(self) -> tuple[Observation, ...]:
        """The observations no other dominates in every objective (each by its direction),
        among those that satisfy every outcome constraint, in the order they were told."""
        feasible = [o for o in self._observations if o.feasible]
        points = [[o.outcomes[j.name] * j.sign for j in self.objectives] for o in feasible]
        return tuple(o for o, keep in zip(feasible, non_dominated(points), strict=True) if keep)

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
