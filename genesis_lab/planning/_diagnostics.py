"""A finished campaign's model, checked: which parameters matter, how well it predicts, and
how the attained hypervolume grew.

``check_model`` refits the planner's own GP (``fit_gp`` on the search space's unit cube,
each objective signed to be maximised, the campaign's seed) to every result and reports,
per objective, each parameter's importance (its inverse fitted length scale, normalised to
sum to one) and the closed-form leave-one-out predictions of that fit: for a GP with fixed
hyperparameters, leaving out point ``i`` gives the mean ``y_i - [K^-1 y]_i / [K^-1]_ii``
and the variance ``1 / [K^-1]_ii`` (Rasmussen and Williams, section 5.4.2), noise
included, so a calibrated model has about 95 % of the observations within ±2σ. The
hyperparameters are the ones fitted to every point, so the check is a little optimistic.

``hypervolume_trace`` is the hypervolume the results that count had attained after each
experiment, against one fixed reference point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from genesis_lab.spec import CampaignSpec, Objective

from ._acquisition import single_threaded, tolerated_warnings
from ._model import fit_gp
from ._space import SearchSpace
from ._types import ParameterValue

__all__ = [
    "CHECK_ROWS",
    "ModelCheck",
    "ObjectiveCheck",
    "check_model",
    "hypervolume_reference",
    "hypervolume_trace",
]

CHECK_ROWS = 400
"""Most results the final model is refitted to (the latest ones): a report stays cheap."""


@dataclass(frozen=True)
class ObjectiveCheck:
    """The final model of one objective.

    Attributes:
        name: the objective.
        importance: searched parameter -> ``1 / length scale``, normalised to sum to one (a
            categorical parameter counts its shortest choice's length scale).
        length_scales: searched parameter -> fitted length scale, as a share of its range.
        observed: each result's value, in the objective's units, in ``trial_ids`` order.
        loo_mean: the leave-one-out mean at each result, in the objective's units.
        loo_std: the leave-one-out standard deviation of an observation there (noise
            included), in the objective's units.
        trial_ids: the trials, in the order given.
    """

    name: str
    importance: dict[str, float]
    length_scales: dict[str, float]
    observed: list[float]
    loo_mean: list[float]
    loo_std: list[float]
    trial_ids: list[str]

    @property
    def within_two_sd(self) -> int:
        """How many observations lie within ±2σ of their leave-one-out prediction."""
        return sum(
            abs(o - m) <= 2 * s
            for o, m, s in zip(self.observed, self.loo_mean, self.loo_std, strict=True)
        )


@dataclass(frozen=True)
class ModelCheck:
    """The final models of every objective, fitted to ``n`` results (of ``available``)."""

    objectives: list[ObjectiveCheck]
    n: int
    available: int


def check_model(
    spec: CampaignSpec,
    results: Sequence[tuple[str, Mapping[str, ParameterValue], Mapping[str, float]]],
    *,
    max_rows: int = CHECK_ROWS,
) -> ModelCheck | None:
    """Refit the planner's GP of each objective to ``results`` (``(trial_id, parameters,
    values)``, each with every objective's value) and check it (module docstring). Uses
    the latest ``max_rows`` results; None with fewer than three. Deterministic: the torch
    RNG is forked and seeded from ``spec.seed``, on one thread."""
    available = len(results)
    rows = list(results)[-max_rows:]
    if len(rows) < 3:
        return None
    space = SearchSpace(spec.parameters)
    train_X = space.to_unit([parameters for _, parameters, _ in rows])
    cat_levels = {j: len(codes) for j, codes in space.cat_dims.items()} or None
    checks = []
    with torch.random.fork_rng(devices=[]), single_threaded(), tolerated_warnings():
        torch.manual_seed(spec.seed)
        for objective in spec.all_objectives:
            Y = torch.tensor(
                [[values[objective.name] * objective.sign] for _, _, values in rows],
                dtype=torch.double,
            )
            checks.append(_check(objective, space, train_X, Y, cat_levels, rows))
    return ModelCheck(checks, len(rows), available)


def _check(
    objective: Objective,
    space: SearchSpace,
    train_X: torch.Tensor,
    Y: torch.Tensor,
    cat_levels: dict[int, int] | None,
    rows: Sequence[tuple[str, Mapping[str, ParameterValue], Mapping[str, float]]],
) -> ObjectiveCheck:
    fitted = fit_gp(train_X, Y, cat_levels=cat_levels)
    model = fitted.model
    with torch.no_grad():
        scales = model.covar_module.lengthscale.detach().reshape(-1)
        if fitted.encoding is not None:  # one per parameter: a choice's shortest
            scales = torch.stack([scales[cols].min() for cols in fitted.encoding.columns])
        X = fitted.encoding.transform(train_X) if fitted.encoding is not None else train_X
        n = X.shape[0]
        K = model.covar_module(X).to_dense() + model.likelihood.noise.reshape(-1)[0] * torch.eye(
            n, dtype=X.dtype
        )
        y = model.train_targets.reshape(-1) - model.mean_module.constant.reshape(-1)[0]
        K_inv = torch.cholesky_inverse(torch.linalg.cholesky(K))
        precision = K_inv.diagonal()
        mean = model.train_targets.reshape(-1) - (K_inv @ y) / precision
        std = precision.rsqrt()
        scale = fitted.standardize.stdvs.reshape(-1)[0]
        shift = fitted.standardize.means.reshape(-1)[0]
    inverse = [1.0 / float(s) for s in scales]
    total = sum(inverse)
    return ObjectiveCheck(
        name=objective.name,
        importance={
            name: value / total for name, value in zip(space.searched, inverse, strict=True)
        },
        length_scales={
            name: float(s) for name, s in zip(space.searched, scales.tolist(), strict=True)
        },
        observed=[values[objective.name] for _, _, values in rows],
        loo_mean=[objective.sign * float(m * scale + shift) for m in mean],
        loo_std=[float(s * scale) for s in std],
        trial_ids=[trial_id for trial_id, _, _ in rows],
    )


def hypervolume_reference(spec: CampaignSpec, points: Sequence[Sequence[float]]) -> list[float]:
    """The reference point of a hypervolume, in each objective's own units: the campaign's
    ``reference`` where it gives one, otherwise inferred (BoTorch's
    ``infer_reference_point``, as the planner does) from the front of ``points`` (every
    result that counts, one value per objective, in the objectives' units)."""
    from botorch.utils.multi_objective.hypervolume import infer_reference_point
    from botorch.utils.multi_objective.pareto import is_non_dominated

    objectives = spec.all_objectives
    inferred: list[float] = [math.nan] * len(objectives)
    if points:
        Y = torch.tensor(
            [[o.sign * p[i] for i, o in enumerate(objectives)] for p in points],
            dtype=torch.double,
        )
        found = infer_reference_point(Y[is_non_dominated(Y)])
        inferred = [o.sign * float(found[i]) for i, o in enumerate(objectives)]
    return [
        inferred[i] if o.reference is None else float(o.reference) for i, o in enumerate(objectives)
    ]


def hypervolume_trace(
    spec: CampaignSpec, points: Sequence[Sequence[float] | None], reference: Sequence[float]
) -> list[float]:
    """The hypervolume (BoTorch's ``Hypervolume``, exact) of every point so far against
    ``reference`` (each objective's units), after each entry of ``points`` (one value per
    objective, or None for an entry that adds nothing: a failure, a broken constraint)."""
    from botorch.utils.multi_objective.hypervolume import Hypervolume
    from botorch.utils.multi_objective.pareto import is_non_dominated

    objectives = spec.all_objectives
    ref = torch.tensor([o.sign * r for o, r in zip(objectives, reference, strict=True)])
    volume = Hypervolume(ref.to(torch.double))
    kept: list[list[float]] = []
    trace: list[float] = []
    for point in points:
        if point is not None:
            kept.append([o.sign * point[i] for i, o in enumerate(objectives)])
        Y = torch.tensor(kept, dtype=torch.double).reshape(-1, len(objectives))
        Y = Y[Y.gt(ref).all(dim=-1)]
        trace.append(float(volume.compute(Y[is_non_dominated(Y)])) if Y.shape[0] else 0.0)
    return trace
