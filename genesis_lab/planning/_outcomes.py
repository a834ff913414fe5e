"""What a model step models besides the objective: objectives traded off, outcome limits,
and where experiments fail.

``ModelTargets`` carries the training outcomes and how the acquisition should read them;
the helpers here turn it into BoTorch's pieces: an MC objective (one objective, a weighted
sum, or several for a Pareto front), constraint callables on posterior samples (negative
means satisfied), and a hypervolume reference point.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

with warnings.catch_warnings():  # see _acquisition: torch.jit.script deprecation at import
    warnings.filterwarnings(
        "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
    )
    from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.utils.multi_objective.hypervolume import infer_reference_point
    from botorch.utils.multi_objective.pareto import is_non_dominated

__all__ = ["FEASIBLE_LEVEL", "ModelTargets", "SampleConstraint"]

FEASIBLE_LEVEL = 0.5
"""The feasibility model is a GP on 1 (the experiment gave a result) and 0 (it failed or was
rejected); a point is proposed only where its modelled value is likely above this level."""

SOFTNESS = 0.01
"""Width of the smoothed step that scores a posterior sample's constraint violation, as a
share of the outcome's observed standard deviation (the 0/1 feasibility data: 0.5)."""

SampleConstraint = Callable[[Tensor], Tensor]
"""BoTorch's outcome constraint: posterior samples ``... x q x m`` to ``... x q``, <= 0 when
satisfied."""


def _at_most(column: int, bound: float) -> SampleConstraint:
    def constraint(Y: Tensor) -> Tensor:
        return Y[..., column] - bound

    return constraint


def _at_least(column: int, bound: float) -> SampleConstraint:
    def constraint(Y: Tensor) -> Tensor:
        return bound - Y[..., column]

    return constraint


@dataclass(frozen=True)
class ModelTargets:
    """The outcomes one model step fits, and how the acquisition uses them.

    Attributes:
        n_objectives: the first ``k`` columns of ``train_Y`` are objectives, each signed so
            that larger is better.
        weights: with several objectives, optimise the one number ``sum(w_i * Y_i)``; None
            searches the Pareto front (qLogNEHVI) instead.
        outcome_bounds: one ``(min, max)`` per further column of ``train_Y`` (an outcome
            constraint in its own units; either end may be None).
        reference: with a Pareto search, the hypervolume reference point per objective in
            the signed frame; a None entry is inferred from the observed front.
        feasibility: ``(X, ok)``: every point tried (unit cube) and 1.0 where it gave a
            result, 0.0 where it failed or was rejected; None when nothing failed.
    """

    n_objectives: int = 1
    weights: Sequence[float] | None = None
    outcome_bounds: Sequence[tuple[float | None, float | None]] = ()
    reference: Sequence[float | None] | None = None
    feasibility: tuple[Tensor, Tensor] | None = field(default=None, compare=False)

    @property
    def pareto(self) -> bool:
        """Whether the acquisition searches a Pareto front (several unweighted objectives)."""
        return self.n_objectives > 1 and self.weights is None

    @property
    def plain(self) -> bool:
        """One objective, nothing else modelled: a single GP and plain qLogNEI."""
        return self.n_objectives == 1 and not self.outcome_bounds and self.feasibility is None

    @property
    def feasibility_column(self) -> int:
        """The model output that is the feasibility model's (after every other column)."""
        return self.n_objectives + len(self.outcome_bounds)

    def constraints(self) -> list[SampleConstraint] | None:
        """Sample constraints for the outcome limits and the feasibility model, or None."""
        found: list[SampleConstraint] = []
        for j, (low, high) in enumerate(self.outcome_bounds):
            column = self.n_objectives + j
            if low is not None:
                found.append(_at_least(column, low))
            if high is not None:
                found.append(_at_most(column, high))
        if self.feasibility is not None:
            found.append(_at_least(self.feasibility_column, FEASIBLE_LEVEL))
        return found or None

    def temperatures(self, train_Y: Tensor) -> Tensor | float:
        """BoTorch's ``eta`` for each constraint of ``constraints()``, in the same order: how
        sharply a posterior sample's violation counts. A fixed share (``SOFTNESS``) of each
        outcome's observed spread, so a constraint in large units is no sharper than one in
        small units, and a smooth acquisition keeps the optimiser's gradients alive."""
        etas: list[float] = []
        for j, (low, high) in enumerate(self.outcome_bounds):
            spread = float(train_Y[:, self.n_objectives + j].std()) if train_Y.shape[0] > 1 else 0
            eta = SOFTNESS * (spread if spread > 0 else 1.0)
            etas += [eta] * ((low is not None) + (high is not None))
        if self.feasibility is not None:
            etas.append(SOFTNESS * 0.5)
        return torch.tensor(etas, dtype=torch.double) if etas else 1e-3

    def scalar_objective(self) -> GenericMCObjective | None:
        """The MC objective of a single-number search over a multi-output model; None when
        the model has one output (BoTorch then uses it as it is)."""
        if self.plain:
            return None
        k = self.n_objectives
        w = torch.tensor(list(self.weights or [1.0]), dtype=torch.double)

        def scalar(Y: Tensor, X: Tensor | None = None) -> Tensor:
            return Y[..., :k] @ w.to(Y)

        return GenericMCObjective(scalar)

    def pareto_objective(self) -> IdentityMCMultiOutputObjective:
        """The objectives' columns, for qLogNEHVI."""
        return IdentityMCMultiOutputObjective(outcomes=list(range(self.n_objectives)))

    def feasible_rows(self, train_Y: Tensor) -> Tensor:
        """``n`` booleans: the observed rows that satisfy every outcome limit."""
        ok = torch.ones(train_Y.shape[0], dtype=torch.bool)
        for j, (low, high) in enumerate(self.outcome_bounds):
            column = train_Y[:, self.n_objectives + j]
            if low is not None:
                ok &= column >= low
            if high is not None:
                ok &= column <= high
        return ok

    def reference_point(self, train_Y: Tensor) -> Tensor:
        """The hypervolume reference point (signed frame): given entries as they are, the
        others from BoTorch's ``infer_reference_point`` on the observed (feasible) front."""
        Y = train_Y[:, : self.n_objectives]
        feasible = Y[self.feasible_rows(train_Y)]
        if feasible.shape[0]:
            Y = feasible
        inferred = infer_reference_point(Y[is_non_dominated(Y)])
        given = self.reference or [None] * self.n_objectives
        return torch.tensor(
            [float(inferred[i]) if value is None else value for i, value in enumerate(given)],
            dtype=torch.double,
        )
