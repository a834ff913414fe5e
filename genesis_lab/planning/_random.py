"""Uniform random search: the baseline every smarter planner must beat."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from genesis_lab.spec import CampaignSpec, Objective, Parameter

from ._trials import AskTellPlanner
from ._types import Explanation

__all__ = ["RandomPlanner"]


class RandomPlanner(AskTellPlanner):
    """Proposes points drawn uniformly within the bounds, from its own seeded generator.

    Ignores every result (except for ``best``); the same seed gives the same sequence.
    """

    def __init__(
        self,
        parameters: Sequence[Parameter],
        objective: Objective,
        *,
        seed: int = 0,
    ) -> None:
        super().__init__(parameters, objective)
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed)

    @classmethod
    def from_spec(cls, spec: CampaignSpec) -> RandomPlanner:
        """A random planner over the campaign's parameters, with the campaign's seed."""
        return cls(spec.parameters, spec.objective, seed=spec.seed)

    def _generate(self, q: int) -> tuple[Tensor, list[str], list[Explanation | None]]:
        """``X: q x d`` uniform in the unit cube (each allowed value of a grid or categorical
        column equally likely); no model, so no explanations."""
        U = torch.rand(q, self.space.dim, generator=self._generator, dtype=torch.double)
        X = self.space.from_uniform(U)
        return X, ["random"] * q, [None] * q
