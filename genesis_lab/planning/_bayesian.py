"""Bayesian optimisation planner: a scrambled Sobol design, then a GP and qLogNEI."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.quasirandom import SobolEngine

from genesis_lab.errors import PlannerError
from genesis_lab.spec import CampaignSpec, ContinuousParameter, Objective

from ._acquisition import MODEL_FAILURES, derive_seed, propose_by_model
from ._trials import AskTellPlanner

__all__ = ["MIN_SEPARATION", "BayesianPlanner"]

logger = logging.getLogger(__name__)

MIN_SEPARATION = 1e-4
"""Smallest distance a new model point keeps from in-flight points, as a fraction of each
parameter's range (max-norm in the unit cube); closer counts as the same experiment."""


class BayesianPlanner(AskTellPlanner):
    """Ask/tell Bayesian optimisation of one objective over a box of continuous parameters.

    The first ``initial_design`` proposals are a scrambled Sobol design. Then, once at least
    two results are in, every ask fits a ``SingleTaskGP`` (unit-cube inputs, standardised
    outputs, double precision) and maximises qLogNoisyExpectedImprovement with the pending
    points as ``X_pending``; until then it keeps drawing Sobol points. Minimisation is done
    by maximising the negated objective. The same seed and the same history of asks, tells
    and forgets give the same proposals.

    A model step forks and seeds the torch RNG, and briefly sets torch to one thread and
    records warnings; the caller's state is restored afterwards. Like any stateful object,
    a planner is meant to be used from one thread at a time.
    """

    def __init__(
        self,
        parameters: Sequence[ContinuousParameter],
        objective: Objective,
        *,
        seed: int = 0,
        initial_design: int = 5,
        num_restarts: int = 8,
        raw_samples: int = 256,
    ) -> None:
        super().__init__(parameters, objective)
        for name, value, least in (
            ("seed", seed, 0),
            ("initial_design", initial_design, 0),
            ("num_restarts", num_restarts, 1),
            ("raw_samples", raw_samples, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise PlannerError(f"{name} must be a whole number >= {least}, got {value!r}")
        self.seed = seed
        self.initial_design = initial_design
        self.num_restarts = num_restarts
        self.raw_samples = raw_samples
        self._sobol = SobolEngine(self.space.dim, scramble=True, seed=seed)

    @classmethod
    def from_spec(cls, spec: CampaignSpec) -> BayesianPlanner:
        """A planner with the campaign's parameters, objective, seed, design and settings."""
        return cls(
            spec.parameters,
            spec.objective,
            seed=spec.seed,
            initial_design=spec.initial_design,
            num_restarts=spec.planner.num_restarts,
            raw_samples=spec.planner.raw_samples,
        )

    def _generate(self, q: int) -> tuple[Tensor, list[str]]:
        if self.num_proposed < self.initial_design:
            k = min(q, self.initial_design - self.num_proposed)
            return self._draw_sobol(k), ["sobol"] * k
        if len(self._observations) < 2:
            return self._draw_sobol(q), ["sobol"] * q
        return self._propose_by_model(q)

    def _draw_sobol(self, k: int) -> Tensor:
        """Next ``k x d`` points of the scrambled Sobol sequence (never repeats)."""
        return self._sobol.draw(k, dtype=torch.double)

    def _training_data(self) -> tuple[Tensor, Tensor]:
        """``train_X: n x d`` (unit cube) and ``train_Y: n x 1`` (to maximise), told order."""
        sign = 1.0 if self.objective.direction == "maximize" else -1.0
        train_X = self.space.to_unit([o.parameters for o in self._observations])
        train_Y = torch.tensor([[sign * o.value] for o in self._observations], dtype=torch.double)
        return train_X, train_Y

    def _propose_by_model(self, q: int) -> tuple[Tensor, list[str]]:
        train_X, train_Y = self._training_data()
        X_pending = self.space.to_unit(list(self._pending.values())) if self._pending else None
        try:
            X = propose_by_model(
                train_X,
                train_Y,
                X_pending,
                q=q,
                num_restarts=self.num_restarts,
                raw_samples=self.raw_samples,
                seed=derive_seed(self.seed, self.num_proposed),
            )
        except MODEL_FAILURES as error:
            logger.warning("model step failed (%r); proposing Sobol points instead", error)
            return self._draw_sobol(q), ["sobol"] * q
        return self._keep_apart(X, X_pending)

    def _keep_apart(self, X: Tensor, X_pending: Tensor | None) -> tuple[Tensor, list[str]]:
        """Replace any of ``X: q x d`` closer than ``MIN_SEPARATION`` to a pending point (or
        an earlier point of the batch) by the next Sobol point, so nothing in flight is
        proposed again."""
        taken = X_pending if X_pending is not None else X.new_zeros(0, X.shape[-1])
        rows: list[Tensor] = []
        origins: list[str] = []
        for x in X:
            if taken.shape[0] and (taken - x).abs().amax(dim=-1).min() < MIN_SEPARATION:
                logger.warning("model proposed an in-flight point again; using a Sobol point")
                x = self._draw_sobol(1)[0]
                origins.append("sobol")
            else:
                origins.append("model")
            rows.append(x)
            taken = torch.cat([taken, x.unsqueeze(0)])
        return torch.stack(rows), origins
