"""Bayesian optimisation planner: a scrambled Sobol design, then a GP and qLogNEI."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor
from torch.quasirandom import SobolEngine

from genesis_lab.errors import PlannerError
from genesis_lab.spec import (
    CampaignSpec,
    LinearConstraint,
    Objective,
    OutcomeConstraint,
    Parameter,
)

from ._acquisition import (
    MODEL_FAILURES,
    ModelStep,
    derive_seed,
    propose_by_model,
    single_threaded,
    tolerated_warnings,
)
from ._outcomes import ModelTargets
from ._recommend import recommend_index
from ._trials import AskTellPlanner
from ._types import Explanation, ParameterValue

__all__ = ["MIN_SEPARATION", "SOBOL_TRIES", "BayesianPlanner"]

logger = logging.getLogger(__name__)

MIN_SEPARATION = 1e-4
"""Smallest distance a new model point keeps from in-flight points, as a fraction of each
parameter's range (max-norm in the unit cube); closer counts as the same experiment."""

SOBOL_TRIES = 64
"""Sobol points drawn, at most, to replace a model point that repeats an in-flight one."""


class BayesianPlanner(AskTellPlanner):
    """Ask/tell Bayesian optimisation of one objective over typed parameters.

    The first ``initial_design`` trials are a scrambled Sobol design (trials given by
    ``suggest`` or ``observe`` count towards it, so prior data shortens it), each integer,
    discrete or categorical column binned onto its allowed values. Then, once at least two
    results are in, every ask fits a ``SingleTaskGP`` (unit-cube inputs, categorical columns
    one-hot, standardised outputs, double precision) and maximises
    qLogNoisyExpectedImprovement with the pending points as ``X_pending``: by
    ``optimize_acqf`` over a continuous space, by ``optimize_acqf_mixed_alternating`` when
    there are grid or categorical columns (so every model point is legal). Until then it
    keeps drawing Sobol points. Fixed parameters are not modelled; they are added to every
    proposal. Minimisation is done
    by maximising the negated objective. The same seed and the same history of asks, tells
    and forgets give the same proposals.

    Every ``"model"`` proposal carries an ``Explanation`` read from the GP that chose it
    (one extra posterior call per ask, after the points are fixed); Sobol proposals,
    including those that replace a model point, carry None.

    A model step forks and seeds the torch RNG, and briefly sets torch to one thread and
    records warnings; the caller's state is restored afterwards. Like any stateful object,
    a planner is meant to be used from one thread at a time.
    """

    def __init__(
        self,
        parameters: Sequence[Parameter],
        objectives: Objective | Sequence[Objective],
        *,
        seed: int = 0,
        initial_design: int = 5,
        num_restarts: int = 8,
        raw_samples: int = 256,
        constraints: Sequence[LinearConstraint] = (),
        outcome_constraints: Sequence[OutcomeConstraint] = (),
        method: Literal["pareto", "weighted"] = "pareto",
    ) -> None:
        super().__init__(parameters, objectives, constraints, outcome_constraints, method)
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
        # The last model step's fitted hyperparameters, one per output: the next fits start
        # from them (fit_gp uses them from WARM_FROM_ROWS observations on).
        self._warm_starts: tuple[dict[str, Tensor], ...] = ()
        # Design points of a resumed campaign's earlier planner (see ``_restored``).
        self._restored_design: list[dict[str, ParameterValue]] = []

    @classmethod
    def from_spec(cls, spec: CampaignSpec) -> BayesianPlanner:
        """A planner with the campaign's parameters, objective, seed, design and settings."""
        return cls(
            spec.parameters,
            spec.all_objectives,
            seed=spec.seed,
            initial_design=spec.initial_design,
            num_restarts=spec.planner.num_restarts,
            raw_samples=spec.planner.raw_samples,
            constraints=spec.linear_constraints,
            outcome_constraints=spec.outcome_constraints,
            method=spec.multi_objective.method,
        )

    def _generate(self, q: int) -> tuple[Tensor, list[str], list[Explanation | None]]:
        if self.num_proposed < self.initial_design:
            return self._sobol_batch(min(q, self.initial_design - self.num_proposed))
        if len(self._observations) < 2:
            return self._sobol_batch(q)
        return self._propose_by_model(q)

    def _restored(self, origin: str, row: dict[str, ParameterValue]) -> None:
        if origin == "sobol":
            self._sobol.fast_forward(1)
            # With linear constraints a design point took an unknown number of draws, so
            # fast-forwarding is not exact: the design also skips every restored point.
            self._restored_design.append(row)

    def _draw_sobol(self, k: int) -> Tensor:
        """Next ``k x d`` points of the scrambled Sobol sequence (never repeats), each grid
        or categorical column binned onto its allowed values (``SearchSpace.from_uniform``).

        With linear constraints, only the feasible Sobol points are kept (or, with an
        equality, hit-and-run samples of the feasible polytope, seeded from the planner's
        seed and proposal count)."""
        if self.constraints:
            seed = derive_seed(self.seed, self.num_proposed) % 2**62
            return self.constraints.sample(k, self._draw_unconstrained, seed)
        return self._draw_unconstrained(k)

    def _draw_unconstrained(self, k: int) -> Tensor:
        return self.space.from_uniform(self._sobol.draw(k, dtype=torch.double))

    def _sobol_batch(self, k: int) -> tuple[Tensor, list[str], list[Explanation | None]]:
        """``k`` Sobol points, their origins, and no explanations (no model chose them);
        none of them a design point restored from an earlier planner of the campaign."""
        X = self._draw_sobol(k)
        if self._restored_design:
            done = self.space.to_unit(self._restored_design)
            for _ in range(64):
                fresh = ~(X.unsqueeze(1) - done.unsqueeze(0)).abs().amax(-1).lt(1e-9).any(-1)
                if bool(fresh.all()):
                    break
                X = torch.cat([X[fresh], self._draw_sobol(k - int(fresh.sum()))])
        return X, ["sobol"] * k, [None] * k

    def _training_data(self) -> tuple[Tensor, Tensor]:
        """``train_X: n x d`` (unit cube) and ``train_Y: n x m`` in told order: each
        objective signed to be maximised, then each outcome constraint's value as measured."""
        train_X = self.space.to_unit([o.parameters for o in self._observations])
        rows = [
            [o.outcomes[j.name] * j.sign for j in self.objectives]
            + [o.outcomes[c.name] for c in self.outcome_constraints]
            for o in self._observations
        ]
        return train_X, torch.tensor(rows, dtype=torch.double)

    def _targets(self, train_X: Tensor) -> ModelTargets:
        """What the model step fits besides the objectives, from the campaign and history."""
        feasibility = None
        if self._failed:
            X_failed = self.space.to_unit([row for _, row in self._failed])
            ok = torch.cat([torch.ones(train_X.shape[0]), torch.zeros(X_failed.shape[0])]).to(
                torch.double
            )
            feasibility = (torch.cat([train_X, X_failed]), ok)
        several = len(self.objectives) > 1
        return ModelTargets(
            n_objectives=len(self.objectives),
            weights=[o.weight for o in self.objectives] if self.weighted or not several else None,
            outcome_bounds=[(c.min, c.max) for c in self.outcome_constraints],
            reference=[
                None if o.reference is None else o.reference * o.sign for o in self.objectives
            ],
            feasibility=feasibility,
        )

    def _propose_by_model(self, q: int) -> tuple[Tensor, list[str], list[Explanation | None]]:
        train_X, train_Y = self._training_data()
        X_pending = self.space.to_unit(list(self._pending.values())) if self._pending else None
        targets = self._targets(train_X)
        try:
            step = propose_by_model(
                train_X,
                train_Y,
                X_pending,
                q=q,
                num_restarts=self.num_restarts,
                raw_samples=self.raw_samples,
                seed=derive_seed(self.seed, self.num_proposed),
                discrete_dims=self.space.discrete_dims or None,
                cat_dims=self.space.cat_dims or None,
                targets=None if targets.plain else targets,
                warm_starts=self._warm_starts,
                **self.constraints.for_optimizer(),
            )
        except MODEL_FAILURES as error:
            logger.warning("model step failed (%r); proposing Sobol points instead", error)
            return self._sobol_batch(q)
        self._warm_starts = step.hyperparameters
        X = self.space.round(step.X)  # already legal; guards against float drift
        return self._keep_apart(X, X_pending, self._explain(step, targets))

    def _feasible_or_sobol(
        self, X: Tensor, origins: list[str], explanations: list[Explanation | None]
    ) -> tuple[Tensor, list[str], list[Explanation | None]]:
        """Replace any point of ``X`` that violates a constraint by a feasible Sobol point."""
        if not self.constraints:
            return X, origins, explanations
        bad = ~self.constraints.feasible(X)
        for i in bad.nonzero().flatten().tolist():
            logger.warning("model point violates a constraint; using a feasible Sobol point")
            X[i] = self._draw_sobol(1)[0]
            origins[i] = "sobol"
            explanations[i] = None
        return X, origins, explanations

    def _explain(self, step: ModelStep, targets: ModelTargets) -> list[Explanation]:
        """One ``Explanation`` per point of ``step``, in objective and parameter units."""
        length_scales = {
            name: float(scale) * width
            for name, scale, width in zip(
                self.space.searched, step.lengthscales.tolist(), self.space.widths, strict=True
            )
        }
        # Model output columns: objectives (signed), outcome constraints, feasibility.
        outputs = [(o.name, o.sign) for o in self.objectives]
        outputs += [(c.name, 1.0) for c in self.outcome_constraints]
        if targets.feasibility is not None:
            outputs.append(("feasibility", 1.0))
        explanations = []
        q = step.X.shape[0]
        rows = zip(step.mean.reshape(q, -1).tolist(), step.std.reshape(q, -1).tolist(), strict=True)
        for means, stds in rows:
            predictions = {
                name: {"mean": _finite_or_none(sign * mean), "std": _finite_or_none(std)}
                for (name, sign), mean, std in zip(outputs, means, stds, strict=False)
            }
            first = predictions[self.objective.name]
            explanations.append(
                Explanation(
                    predicted_mean=first["mean"],
                    predicted_std=first["std"],
                    acquisition_value=_finite_or_none(step.acq_value),
                    length_scales=dict(length_scales),
                    noise_std=_finite_or_none(step.noise_std),
                    n_observations=step.num_observations,
                    predictions=predictions if len(outputs) > 1 else {},
                )
            )
        return explanations

    @property
    def recommended(self) -> tuple[str, dict[str, ParameterValue], float] | None:
        """``(trial_id, parameters, measured value)`` of the observed experiment the model
        believes best (highest posterior mean, ``recommend_index``), which under noise is a
        better report than the best single measurement (``best``); None before any result.
        Fits a model (and seeds the RNG from the planner's seed), so it costs one fit."""
        candidates = [o for o in self._observations if o.feasible] or self._observations
        if not candidates:
            return None
        train_X = self.space.to_unit([o.parameters for o in candidates])
        train_Y = torch.tensor([[self.score(o)] for o in candidates], dtype=torch.double)
        cat_levels = {j: len(codes) for j, codes in self.space.cat_dims.items()} or None
        with torch.random.fork_rng(devices=[]), single_threaded(), tolerated_warnings():
            torch.manual_seed(derive_seed(self.seed, -1))
            warm = self._warm_starts[0] if self._warm_starts and not self.weighted else None
            index = recommend_index(train_X, train_Y, cat_levels=cat_levels, warm_start=warm)
        chosen = candidates[index]
        return chosen.trial_id, dict(chosen.parameters), chosen.value

    def _keep_apart(
        self, X: Tensor, X_pending: Tensor | None, explanations: Sequence[Explanation]
    ) -> tuple[Tensor, list[str], list[Explanation | None]]:
        """Replace any of ``X: q x d`` closer than ``MIN_SEPARATION`` to a pending point (or
        an earlier point of the batch) by the next Sobol point, so nothing in flight is
        proposed again; a replaced point loses its explanation. On a small grid a Sobol point
        may land on a taken one too, so up to ``SOBOL_TRIES`` are drawn; if every one is
        taken (the finite space is exhausted), the last is used."""
        taken = X_pending if X_pending is not None else X.new_zeros(0, X.shape[-1])

        def is_taken(x: Tensor) -> bool:
            return bool(taken.shape[0]) and bool(
                (taken - x).abs().amax(dim=-1).min() < MIN_SEPARATION
            )

        rows: list[Tensor] = []
        origins: list[str] = []
        kept: list[Explanation | None] = []
        for x, explanation in zip(X, explanations, strict=True):
            if is_taken(x):
                logger.warning("model proposed an in-flight point again; using a Sobol point")
                for _ in range(SOBOL_TRIES):
                    x = self._draw_sobol(1)[0]
                    if not is_taken(x):
                        break
                origins.append("sobol")
                kept.append(None)
            else:
                origins.append("model")
                kept.append(explanation)
            rows.append(x)
            taken = torch.cat([taken, x.unsqueeze(0)])
        return self._feasible_or_sobol(torch.stack(rows), origins, kept)


def _finite_or_none(value: float) -> float | None:
    """``value`` as a float, or None if it is NaN or infinite (not valid JSON)."""
    return float(value) if math.isfinite(value) else None
