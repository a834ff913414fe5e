"""Uniform random search: the baseline every smarter planner must beat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from genesis_lab.spec import (
    CampaignSpec,
    LinearConstraint,
    Objective,
    OutcomeConstraint,
    Parameter,
)

from ._trials import AskTellPlanner
from ._types import Explanation, ParameterValue

__all__ = ["RandomPlanner"]


class RandomPlanner(AskTellPlanner):
    """Proposes points drawn uniformly within the bounds, from its own seeded generator.

    Ignores every result (except for ``best``); the same seed gives the same sequence.
    With linear ``constraints``, draws are uniform over the feasible region (rejection
    sampling; hit-and-run when there is an equality).
    """

    def __init__(
        self,
        parameters: Sequence[Parameter],
        objectives: Objective | Sequence[Objective],
        *,
        seed: int = 0,
        constraints: Sequence[LinearConstraint] = (),
        outcome_constraints: Sequence[OutcomeConstraint] = (),
        method: Literal["pareto", "weighted"] = "pareto",
    ) -> None:
        super().__init__(parameters, objectives, constraints, outcome_constraints, method)
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed)

    @classmethod
    def from_spec(cls, spec: CampaignSpec) -> RandomPlanner:
        """A random planner over the campaign's parameters, with the campaign's seed."""
        return cls(
            spec.parameters,
            spec.all_objectives,
            seed=spec.seed,
            constraints=spec.linear_constraints,
            outcome_constraints=spec.outcome_constraints,
            method=spec.multi_objective.method,
        )

    def _generate(self, q: int) -> tuple[Tensor, list[str], list[Explanation | None]]:
        """``X: q x d`` uniform in the unit cube (each allowed value of a grid or categorical
        column equally likely); no model, so no explanations."""
        if self.constraints:
            seed = int(torch.randint(2**62, (1,), generator=self._generator))
            X = self.constraints.sample(q, self._draw, seed)
        else:
            X = self._draw(q)
        return X, ["random"] * q, [None] * q

    def _restored(self, origin: str, row: dict[str, ParameterValue]) -> None:
        if origin == "random":  # move the generator past the draw that made it
            self._generate(1)

    def _draw(self, k: int) -> Tensor:
        """``k x d`` uniform legal points of the unit cube."""
        U = torch.rand(k, self.space.dim, generator=self._generator, dtype=torch.double)
        return self.space.from_uniform(U)
