"""One model step: fit a GP to the history, maximise qLogNEI, return the next points.

Everything here works in the unit cube ``[0, 1]^d`` and in double precision, maximising;
the step also reports what the fitted model says about the points it chose (``ModelStep``).
The torch random state is forked and seeded from the caller's seed, so the same history
gives the same points and the caller's global RNG is left untouched.
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import cast

import torch
from scipy.optimize import OptimizeWarning
from torch import Tensor
from torch.quasirandom import SobolEngine

from ._model import FittedGP, fit_gp
from ._outcomes import FEASIBLE_LEVEL, ModelTargets

# linear_operator and gpytorch decorate functions with ``torch.jit.script`` at import, which
# torch 2.13 deprecates with a DeprecationWarning we cannot act on; silence exactly that one,
# only while BoTorch is imported, so the package imports cleanly under ``-W error``.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
    )
    from botorch.acquisition import AcquisitionFunction
    from botorch.acquisition.logei import (
        qLogNoisyExpectedImprovement,
        qLogProbabilityOfFeasibility,
    )
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.exceptions.errors import CandidateGenerationError, OptimizationGradientError
    from botorch.exceptions.warnings import (
        BadInitialCandidatesWarning,
        NumericsWarning,
        OptimizationWarning,
    )
    from botorch.models import ModelListGP
    from botorch.models.model import Model
    from botorch.optim import optimize_acqf
    from botorch.optim.optimize_mixed import optimize_acqf_mixed_alternating
    from botorch.posteriors import GPyTorchPosterior, PosteriorList
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch import settings as gpytorch_settings
    from linear_operator.utils.errors import NanError, NotPSDError
    from linear_operator.utils.warnings import NumericalWarning

__all__ = [
    "MC_SAMPLES",
    "MODEL_FAILURES",
    "ModelStep",
    "derive_seed",
    "propose_by_model",
    "read_posterior",
    "single_threaded",
    "tolerated_warnings",
]

logger = logging.getLogger(__name__)

MC_SAMPLES = 128
"""Quasi-Monte Carlo samples of the posterior used to estimate qLogNEI."""

MODEL_FAILURES: tuple[type[Exception], ...] = (
    CandidateGenerationError,
    OptimizationGradientError,
    NanError,
    NotPSDError,
)
"""Numerical failures of the model step; a planner may fall back to a space-filling point."""

# Warnings that fitting and optimising may legitimately raise on awkward data: a GP fit or
# an acquisition optimisation that did not converge, jitter added to a covariance matrix.
# They are logged, not raised. Anything else (a deprecation, InputDataWarning) is a bug in
# how the planner calls BoTorch and is re-emitted to the caller unchanged.
_TOLERATED: tuple[type[Warning], ...] = (
    OptimizationWarning,
    BadInitialCandidatesWarning,
    NumericsWarning,
    RuntimeWarning,  # includes linear_operator's NumericalWarning (jitter)
)


@dataclass(frozen=True)
class ModelStep:
    """The points one model step chose and what the fitted model says about them.

    All in the model's frame: unit-cube inputs and each objective *as maximised* (negated
    for a minimised objective), but with the ``Standardize`` outcome scaling undone.

    Attributes:
        X: ``q x d`` double tensor of the chosen points in the unit cube.
        mean: ``q x m`` posterior mean at ``X`` of each modelled output, in the order of
            ``train_Y``'s columns, then the feasibility model's if there is one.
        std: ``q x m`` posterior standard deviation at ``X`` of the latent functions (no
            observation noise).
        acq_value: the acquisition value of the ``q`` points jointly: qLogNEI (log expected
            improvement) or, for a Pareto search, qLogNEHVI (log hypervolume improvement).
        lengthscales: ``d`` fitted ARD length scales of the first objective's model, in
            unit-cube units.
        noise_std: fitted observation-noise standard deviation of the first objective.
        num_observations: number of results the GP was fitted on (``n``).
        hyperparameters: each fitted model's hyperparameters, in output order, for the next
            step's ``warm_starts``.
    """

    X: Tensor
    mean: Tensor
    std: Tensor
    acq_value: float
    lengthscales: Tensor
    noise_std: float
    num_observations: int
    hyperparameters: tuple[dict[str, Tensor], ...] = ()


def derive_seed(seed: int, count: int) -> int:
    """A seed in ``[0, 2**63)`` from the planner's seed and its proposal count, well mixed."""
    digest = hashlib.blake2b(f"{seed}:{count}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch's CPU kernels on one thread inside the block, then restore the count.

    The matrices of a lab campaign are tiny (tens of points), so a second intra-op thread
    only adds synchronisation, and on a busy machine oversubscription makes a fit several
    times slower. One thread also makes the floating-point reductions, hence the
    proposals, independent of the host's thread count.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def tolerated_warnings() -> Iterator[None]:
    """Log the warnings in ``_TOLERATED`` raised inside the block; re-emit any other."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            for category in _TOLERATED:
                warnings.simplefilter("always", category)
            yield
    finally:
        for w in caught:
            if issubclass(w.category, NumericalWarning):  # jitter added: routine, near-duplicates
                logger.debug("planner model step: %s: %s", w.category.__name__, w.message)
            elif issubclass(w.category, _TOLERATED):
                logger.warning("planner model step: %s: %s", w.category.__name__, w.message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def propose_by_model(
    train_X: Tensor,
    train_Y: Tensor,
    X_pending: Tensor | None,
    *,
    q: int,
    num_restarts: int,
    raw_samples: int,
    seed: int,
    discrete_dims: Mapping[int, Sequence[float]] | None = None,
    cat_dims: Mapping[int, Sequence[float]] | None = None,
    inequality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
    equality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
    targets: ModelTargets | None = None,
    warm_starts: Sequence[Mapping[str, Tensor] | None] = (),
) -> ModelStep:
    """Fit GPs and return the ``q`` points that jointly maximise the acquisition.

    With one objective and nothing else to model: one ``SingleTaskGP`` and qLogNEI.
    Otherwise (``targets``) one GP per column of ``train_Y`` and one for feasibility,
    joined in a ``ModelListGP``: qLogNEI of the objective (or of the weighted sum of the
    objectives) with the outcome limits and feasibility as sample constraints, or, for a
    Pareto search, qLogNEHVI with the same constraints and a reference point.

    Args:
        train_X: ``n x d`` double tensor of observed points in the unit cube, ``n >= 2``.
        train_Y: ``n x m`` double tensor of observed outcomes: the objectives, to be
            *maximised*, then the outcome-constraint values (``targets``); ``n x 1`` alone.
        X_pending: ``p x d`` double tensor of points in flight (unit cube), or None.
        q: number of points to propose jointly.
        num_restarts: starting points of the gradient-based acquisition optimiser.
        raw_samples: quasi-random points screened to choose those starting points.
        seed: seeds the torch RNG (forked) and the QMC sampler; same inputs, same output.
        discrete_dims: ordered grid columns (integer, discrete) -> their allowed values.
        cat_dims: categorical columns -> their codes; the GP sees them one-hot
            (``CodesToOneHot``), and each reports its shortest choice length scale.
        inequality_constraints: BoTorch's ``(indices, coefficients, rhs)`` meaning
            ``sum(coefficients * X[..., indices]) >= rhs``, on unit-cube columns, or None.
        equality_constraints: the same with ``==``, or None.
        targets: what the columns of ``train_Y`` are and how to use them (``ModelTargets``);
            None: one objective.
        warm_starts: the previous step's ``ModelStep.hyperparameters`` (one per output, in
            the same order), which each fit may start from (``fit_gp``); empty: cold fits.

    With grid or categorical columns the acquisition is maximised by BoTorch's
    ``optimize_acqf_mixed_alternating`` (local search over the grids and categories,
    alternating with L-BFGS-B on the continuous columns), so every point it returns is
    legal; otherwise by ``optimize_acqf``.

    Returns:
        The ``q x d`` new points in the unit cube (``ModelStep.X``), with the fitted
        model's posterior at them, its length scales and noise (``read_posterior``: one
        posterior call after the points are chosen, which cannot change them).

    The inputs are already in the unit cube, so the model needs no ``Normalize`` input
    transform (it would be the identity), and the acquisition optimiser works on a
    well-scaled box whatever the parameters' units.
    """
    d = train_X.shape[-1]
    bounds = torch.zeros(2, d, dtype=torch.double)
    bounds[1] = 1.0
    with torch.random.fork_rng(devices=[]), single_threaded(), tolerated_warnings():
        torch.manual_seed(seed)
        cat_levels = {j: len(codes) for j, codes in cat_dims.items()} if cat_dims else None
        targets = targets or ModelTargets()
        fits = _fit_outputs(train_X, train_Y, targets, cat_levels, warm_starts)
        model = fits[0].model if len(fits) == 1 else ModelListGP(*(fit.model for fit in fits))
        acqf = _acquisition(model, train_X, train_Y, X_pending, targets, seed)
        if discrete_dims or cat_dims:
            with warnings.catch_warnings():
                # With constraints the continuous steps use SLSQP, which does not know the
                # "tol" option BoTorch always passes it; it is ignored, harmlessly.
                warnings.filterwarnings(
                    "ignore", message="Unknown solver options: tol", category=OptimizeWarning
                )
                X, _ = optimize_acqf_mixed_alternating(
                    acq_function=acqf,
                    bounds=bounds,
                    discrete_dims=discrete_dims,
                    cat_dims=cat_dims,
                    q=q,
                    num_restarts=num_restarts,
                    raw_samples=raw_samples,
                    inequality_constraints=inequality_constraints,
                    equality_constraints=equality_constraints,
                )
            # Sequential greedy: the joint value of the batch is read afterwards.
            with torch.no_grad():
                acq_value = acqf(X.detach().reshape(1, q, d))
        else:
            X, acq_value = optimize_acqf(
                acq_function=acqf,
                bounds=bounds,
                q=q,
                num_restarts=num_restarts,
                raw_samples=raw_samples,
                inequality_constraints=inequality_constraints,
                equality_constraints=equality_constraints,
                # L-BFGS-B often ends "ABNORMAL" on a flat acquisition surface near
                # convergence; the best restart is still good, and a retry would double
                # the time of an ask.
                retry_on_optimization_warning=False,
            )
        X = X.detach().reshape(q, d).clamp(0.0, 1.0)
        if targets.feasibility is not None:
            X = _avoid_predicted_failures(acqf, model, X, targets, raw_samples, seed)
        step = read_posterior(model, fits[0], X, acq_value)
        step = replace(step, hyperparameters=tuple(fit.hyperparameters for fit in fits))
        encoding = fits[0].encoding
        if encoding is not None:  # one length scale per parameter: a choice's shortest
            scales = step.lengthscales
            lengthscales = torch.stack([scales[cols].min() for cols in encoding.columns])
            step = replace(step, lengthscales=lengthscales)
        return step


def _avoid_predicted_failures(
    acqf: AcquisitionFunction,
    model: Model,
    X: Tensor,
    targets: ModelTargets,
    raw_samples: int,
    seed: int,
) -> Tensor:
    """Replace each point of ``X`` where the feasibility model predicts failure.

    The constrained acquisition is nearly flat wherever failures are likely, and a gradient
    optimiser started there can end on a point of large expected improvement that is all
    but certain to fail. Such a point (feasibility mean below ``FEASIBLE_LEVEL``) is
    replaced by the best, by acquisition value, of ``raw_samples`` scrambled Sobol points
    that the model expects to succeed; if none is, the point is kept.
    """
    column = targets.feasibility_column
    with torch.no_grad(), gpytorch_settings.debug(False):
        likely = _posterior_mean(model, X)[..., column] >= FEASIBLE_LEVEL
        if bool(likely.all()):
            return X
        pool = SobolEngine(X.shape[-1], scramble=True, seed=seed % 2**31).draw(
            raw_samples, dtype=torch.double
        )
        pool = pool[_posterior_mean(model, pool)[..., column] >= FEASIBLE_LEVEL]
        if pool.shape[0] == 0:
            return X
        ranked = pool[acqf(pool.unsqueeze(-2)).argsort(descending=True)]
    X = X.clone()
    for rank, i in enumerate((~likely).nonzero().flatten().tolist()):
        logger.info("model point likely to fail; using the best point expected to succeed")
        X[i] = ranked[min(rank, ranked.shape[0] - 1)]
    return X


def _posterior_mean(model: Model, X: Tensor) -> Tensor:
    """``model``'s posterior mean at ``X: n x d``, ``n x m``."""
    return cast(GPyTorchPosterior | PosteriorList, model.posterior(X)).mean


def _fit_outputs(
    train_X: Tensor,
    train_Y: Tensor,
    targets: ModelTargets,
    cat_levels: Mapping[int, int] | None,
    warm_starts: Sequence[Mapping[str, Tensor] | None],
) -> list[FittedGP]:
    """One fitted GP per column of ``train_Y``, then the feasibility model's, if any; output
    ``j`` starts from ``warm_starts[j]`` when there is one."""

    def warm(j: int) -> Mapping[str, Tensor] | None:
        return warm_starts[j] if j < len(warm_starts) else None

    m = train_Y.shape[-1]
    fits = [
        fit_gp(train_X, train_Y[:, j : j + 1], cat_levels=cat_levels, warm_start=warm(j))
        for j in range(m)
    ]
    if targets.feasibility is not None:
        X_tried, ok = targets.feasibility
        fits.append(fit_gp(X_tried, ok.reshape(-1, 1), cat_levels=cat_levels, warm_start=warm(m)))
    return fits


def _none_observed_feasible(train_Y: Tensor, targets: ModelTargets) -> bool:
    """Whether outcome constraints exist and no row of ``train_Y`` satisfies them all."""
    if not targets.outcome_bounds:
        return False
    holds = torch.ones(train_Y.shape[0], dtype=torch.bool)
    for j, (low, high) in enumerate(targets.outcome_bounds):
        column = train_Y[:, targets.n_objectives + j]
        if low is not None:
            holds &= column >= low
        if high is not None:
            holds &= column <= high
    return not bool(holds.any())


def _acquisition(
    model: Model,
    train_X: Tensor,
    train_Y: Tensor,
    X_pending: Tensor | None,
    targets: ModelTargets,
    seed: int,
) -> AcquisitionFunction:
    """qLogNEI (one number) or qLogNEHVI (a Pareto front) for ``model``, as ``targets`` says.

    While no result yet satisfies every outcome constraint there is no best feasible value
    to improve on: the step then looks for the feasible region, maximising the probability
    that the constraints hold (qLogProbabilityOfFeasibility), as BoTorch advises."""
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([MC_SAMPLES]), seed=seed)
    constraints = targets.constraints()
    if constraints and _none_observed_feasible(train_Y, targets):
        return qLogProbabilityOfFeasibility(
            model=model,
            constraints=constraints,
            sampler=sampler,
            X_pending=X_pending,
            eta=targets.temperatures(train_Y),
        )
    if targets.pareto:
        return qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=targets.reference_point(train_Y),
            X_baseline=train_X,
            sampler=sampler,
            objective=targets.pareto_objective(),
            constraints=targets.constraints(),
            eta=targets.temperatures(train_Y),
            X_pending=X_pending,
            prune_baseline=True,
        )
    return qLogNoisyExpectedImprovement(
        model=model,
        X_baseline=train_X,
        sampler=sampler,
        objective=targets.scalar_objective(),
        X_pending=X_pending,
        constraints=targets.constraints(),
        eta=targets.temperatures(train_Y),
        prune_baseline=True,
    )


def read_posterior(model: Model, first: FittedGP, X: Tensor, acq_value: Tensor | None) -> ModelStep:
    """What the fitted ``model`` says about the chosen points ``X: q x d`` (unit cube).

    One posterior call, without gradients, after the points are fixed, so it cannot change
    them. ``first`` is the first objective's fit, whose length scales and noise (brought
    back to ``train_Y`` units through its ``Standardize``) are reported; ``acq_value`` is
    the optimiser's joint acquisition value of ``X``.
    """
    q = X.shape[0]
    # Debug off: gpytorch warns when test points equal the training points, which is
    # harmless for a posterior read.
    with torch.no_grad(), gpytorch_settings.debug(False):
        posterior = cast(
            GPyTorchPosterior | PosteriorList, model.posterior(X)
        )  # Standardize is undone: train_Y units
        mean = posterior.mean.reshape(q, -1)
        std = posterior.variance.clamp_min(0.0).sqrt().reshape(q, -1)
        gp = first.model
        # The likelihood's noise variance is in standardised units; rescale it.
        noise_var = gp.likelihood.noise.reshape(-1)[0] * first.standardize.stdvs[0, 0] ** 2
        lengthscales = gp.covar_module.lengthscale.detach().reshape(-1).clone()
    return ModelStep(
        X=X,
        mean=mean,
        std=std,
        acq_value=math.nan if acq_value is None else float(acq_value.detach().reshape(-1)[0]),
        lengthscales=lengthscales,
        noise_std=float(noise_var.sqrt()),
        num_observations=gp.train_inputs[0].shape[-2],
    )
