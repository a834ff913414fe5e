"""Fitting one Gaussian-process model of one outcome: the surrogate every model step uses.

``fit_gp`` takes unit-cube inputs and one column of outcomes and returns a fitted
``SingleTaskGP`` (standardised outputs, categorical columns one-hot) together with the
hyperparameters it settled on, which the next fit of the same outcome may start from
(``warm_start``). Everything is double precision; the caller seeds the RNG.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

# See _acquisition: torch 2.13 deprecates torch.jit.script, which gpytorch uses at import.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
    )
    from botorch.exceptions.errors import ModelFittingError
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.input import InputTransform
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

__all__ = ["CodesToOneHot", "FittedGP", "fit_gp"]

logger = logging.getLogger(__name__)


@dataclass
class FittedGP:
    """A fitted model of one outcome.

    Attributes:
        model: the ``SingleTaskGP``, in eval mode; its posterior is in ``train_Y`` units.
        standardize: its outcome transform (to bring the noise back to ``train_Y`` units).
        encoding: its categorical input transform, or None without categorical columns.
        hyperparameters: the fitted hyperparameters (a state dict), for ``warm_start``.
    """

    model: SingleTaskGP
    standardize: Standardize
    encoding: CodesToOneHot | None
    hyperparameters: dict[str, Tensor]


class CodesToOneHot(InputTransform):
    """Input transform: each categorical code column becomes one-hot columns for the kernel.

    The planner keeps one column per categorical parameter (choice ``i`` of ``k`` at code
    ``i / (k - 1)``), so pending points, the optimiser's local search (``cat_dims``) and
    the records stay compact; the GP sees ``k`` indicator columns instead, so its ARD RBF
    kernel treats every pair of choices as equally far apart (no false order). A
    ``SingleTaskGP`` on one-hot columns fits in a fraction of the time of a
    ``MixedSingleTaskGP`` on small data. Not differentiable in the code columns, which the
    optimiser only changes by discrete moves.

    ``levels`` maps each categorical column of the ``d``-column input to its number of
    choices ``k``; ``columns[j]`` lists the output columns that input column ``j`` becomes.
    """

    def __init__(self, d: int, levels: Mapping[int, int]) -> None:
        super().__init__()
        self.transform_on_train = True
        self.transform_on_eval = True
        self.transform_on_fantasize = True
        self.levels = dict(levels)
        self.columns: list[list[int]] = []
        width = 0
        for j in range(d):
            k = self.levels.get(j, 1)
            self.columns.append(list(range(width, width + k)))
            width += k

    def transform(self, X: Tensor) -> Tensor:
        """``batch x n x d`` codes to ``batch x n x d'`` with one-hot categorical columns."""
        parts: list[Tensor] = []
        for j in range(X.shape[-1]):
            column = X[..., j : j + 1]
            k = self.levels.get(j)
            if k is None:
                parts.append(column)
            else:
                index = (column.detach() * (k - 1)).round().clamp(0, k - 1)
                choices = torch.arange(k, dtype=X.dtype, device=X.device)
                parts.append((index == choices).to(X.dtype))
        return torch.cat(parts, dim=-1)


def fit_gp(
    train_X: Tensor,
    train_Y: Tensor,
    *,
    cat_levels: Mapping[int, int] | None = None,
    warm_start: Mapping[str, Tensor] | None = None,
) -> FittedGP:
    """Fit a ``SingleTaskGP`` to ``train_X: n x d`` (unit cube) and ``train_Y: n x 1``.

    ``cat_levels`` maps each categorical column to its number of choices (the GP sees it
    one-hot, ``CodesToOneHot``). ``warm_start`` is a previous fit's ``hyperparameters`` for
    the same outcome and space; it is accepted and currently ignored. A fit that fails
    leaves the prior hyperparameters (logged).
    """
    d = train_X.shape[-1]
    standardize = Standardize(m=1)
    encoding = CodesToOneHot(d, cat_levels) if cat_levels else None
    model = SingleTaskGP(train_X, train_Y, outcome_transform=standardize, input_transform=encoding)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    try:
        fit_gpytorch_mll(mll)
    except ModelFittingError as error:
        logger.warning("GP fit failed (%s); using the prior hyperparameters", error)
    model.eval()
    hyperparameters = {
        key: value.detach().clone()
        for key, value in model.state_dict().items()
        if not key.startswith(("outcome_transform", "input_transform"))
    }
    return FittedGP(model, standardize, encoding, hyperparameters)
