"""Which observed experiment to report as the best, when measurements are noisy.

The best *measured* value is biased upwards under noise (the luckiest draw wins). A
planner reports instead the observed point whose model posterior mean is best: the point
the evidence as a whole says is best.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ._model import fit_gp

__all__ = ["recommend_index"]


def recommend_index(
    train_X: Tensor,
    train_Y: Tensor,
    *,
    cat_levels: Mapping[int, int] | None = None,
    warm_start: Mapping[str, Tensor] | None = None,
) -> int:
    """Index of the row of ``train_X: n x d`` (unit cube) with the highest posterior mean
    of a GP fitted to ``train_Y: n x 1`` (to be maximised); the best measured row when
    there are fewer than three observations. ``warm_start`` is passed on to ``fit_gp`` (the
    planner's last fit of the same outcome makes this fit a few iterations long)."""
    if train_X.shape[0] < 3:
        return int(train_Y.reshape(-1).argmax())
    fitted = fit_gp(train_X, train_Y, cat_levels=cat_levels, warm_start=warm_start)
    with torch.no_grad():
        mean = fitted.model.posterior(train_X).mean.reshape(-1)
    return int(mean.argmax())
