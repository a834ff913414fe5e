"""Tests of ``fit_gp``: warm starts are used, and large data take the bounded path."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor

from genesis_lab.planning._acquisition import single_threaded, tolerated_warnings
from genesis_lab.planning._model import FIT_ROWS, WARM_FROM_ROWS, fit_gp


def smooth(X: Tensor) -> Tensor:
    """A smooth test function of the unit cube, ``n x d -> n x 1``."""
    return (torch.sin(3.0 * X[:, :1]) + torch.cos(2.0 * X[:, 1:2]) - X[:, 2:3] ** 2).reshape(-1, 1)


def data(n: int, d: int = 3, seed: int = 0, noise: float = 0.01) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=generator, dtype=torch.double)
    Y = smooth(X) + noise * torch.randn(n, 1, generator=generator, dtype=torch.double)
    return X, Y


def lengthscales(fitted_model: object) -> Tensor:
    return fitted_model.model.covar_module.lengthscale.detach().reshape(-1)  # type: ignore[attr-defined]


def test_a_warm_start_is_used_and_needs_fewer_iterations() -> None:
    X, Y = data(31)
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        first = fit_gp(X[:30], Y[:30])
        cold = fit_gp(X, Y)
        warm = fit_gp(X, Y, warm_start=first.hyperparameters, warm_from_rows=0)
    assert not cold.warm_started
    assert warm.warm_started
    assert 0 < warm.iterations < cold.iterations
    # One more observation moves the optimum little: the warm fit lands where the cold one
    # does.
    torch.testing.assert_close(lengthscales(warm), lengthscales(cold), rtol=0.1, atol=0.0)


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_small_data_fit_from_the_prior_whatever_the_warm_start() -> None:
    X, Y = data(WARM_FROM_ROWS - 1)
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        first = fit_gp(X, Y)
        again = fit_gp(X, Y, warm_start=first.hyperparameters)
        at = fit_gp(X[: WARM_FROM_ROWS - 2], Y[: WARM_FROM_ROWS - 2])
        above = fit_gp(*data(WARM_FROM_ROWS), warm_start=at.hyperparameters)
    assert not again.warm_started and again.iterations == first.iterations
    assert above.warm_started


def test_a_warm_start_from_the_same_data_reproduces_the_hyperparameters() -> None:
    X, Y = data(25)
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        first = fit_gp(X, Y)
        again = fit_gp(X, Y, warm_start=first.hyperparameters, warm_from_rows=0)
    assert again.warm_started
    assert again.iterations <= 3
    torch.testing.assert_close(lengthscales(again), lengthscales(first), rtol=1e-3, atol=0.0)


def test_noise_free_data_are_fitted_with_less_noise_than_botorchs_default_floor() -> None:
    X, _ = data(30)
    Y = 100.0 * smooth(X)  # noise-free, wide range
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        fitted = fit_gp(X, Y)
    assert float(fitted.model.likelihood.noise.detach()) < 1e-4  # standardised units
    with torch.no_grad():
        mean = fitted.model.posterior(X).mean
    # The best observed point is the one the model believes best.
    assert int(mean.argmax()) == int(Y.argmax())


def test_a_warm_start_of_another_shape_is_ignored() -> None:
    X4, Y4 = data(12, d=4)
    X3, Y3 = data(12, d=3)
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        other = fit_gp(X4, Y4)
        fitted = fit_gp(X3, Y3, warm_start=other.hyperparameters, warm_from_rows=0)
    assert not fitted.warm_started
    assert fitted.iterations > 0
    assert lengthscales(fitted).shape == (3,)


def test_above_fit_rows_the_hyperparameters_come_from_a_subset_and_the_model_uses_all() -> None:
    X, Y = data(80)
    test_X, _ = data(200, seed=1)
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        fitted = fit_gp(X, Y, fit_rows=30)
    assert (fitted.fit_rows, fitted.condition_rows) == (30, 80)
    assert fitted.model.train_inputs[0].shape[-2] == 80
    with torch.no_grad():
        mean = fitted.model.posterior(test_X).mean
    rmse = float((mean - smooth(test_X)).square().mean().sqrt())
    assert rmse < 0.05 * float(smooth(test_X).std())


def test_the_default_threshold_takes_the_subset_path_just_above_fit_rows() -> None:
    X, Y = data(FIT_ROWS + 8, noise=0.05)
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        fitted = fit_gp(X, Y)
    assert (fitted.fit_rows, fitted.condition_rows) == (FIT_ROWS, FIT_ROWS + 8)
    noise_var = float(fitted.model.likelihood.noise.detach())
    noise_sd = math.sqrt(noise_var) * float(fitted.standardize.stdvs)
    assert 0.025 < noise_sd < 0.1  # the true noise (0.05) is recovered from the subset


def test_above_condition_rows_the_model_is_local_around_the_best_row() -> None:
    X, Y = data(120)
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        fitted = fit_gp(X, Y, fit_rows=40, condition_rows=50)
    kept = fitted.model.train_inputs[0]
    assert (fitted.fit_rows, fitted.condition_rows) == (40, 50)
    assert kept.shape[-2] == 50
    best = X[int(Y.argmax())]
    assert bool(((kept - best).abs().amax(dim=-1) == 0).any())
    # Half the rows are the nearest to the best one: none left out is nearer than those.
    distance = (X - best).square().sum(dim=-1)
    nearest = distance.sort().values[:25]
    kept_distance = (kept - best).square().sum(dim=-1).sort().values[:25]
    torch.testing.assert_close(kept_distance, nearest)
    with torch.no_grad():
        mean = fitted.model.posterior(best.reshape(1, -1)).mean
    assert abs(float(mean) - float(smooth(best.reshape(1, -1)))) < 0.05


def test_categorical_columns_work_on_the_bounded_path() -> None:
    X, Y = data(70)
    X[:, 2] = torch.arange(70, dtype=torch.double).remainder(3) / 2.0  # codes 0, 0.5, 1
    Y = Y + X[:, 2:3]
    with single_threaded(), tolerated_warnings():
        torch.manual_seed(0)
        fitted = fit_gp(X, Y, cat_levels={2: 3}, fit_rows=30, condition_rows=60)
        warm = fit_gp(X, Y, cat_levels={2: 3}, warm_start=fitted.hyperparameters, warm_from_rows=0)
    assert (fitted.fit_rows, fitted.condition_rows) == (30, 60)
    assert warm.warm_started
    assert fitted.encoding is not None


def test_the_planner_warm_starts_each_model_step_from_the_last_one(monkeypatch: Any) -> None:
    from genesis_lab.planning import BayesianPlanner
    from genesis_lab.planning import _acquisition as acquisition
    from genesis_lab.spec import ContinuousParameter, Objective

    space = [ContinuousParameter(name=f"x{i}", bounds=(0.0, 1.0), units="mm") for i in range(3)]
    planner = BayesianPlanner(
        space,
        Objective(name="y", direction="maximize", reading="r"),
        num_restarts=2,
        raw_samples=32,
    )
    X, Y = data(WARM_FROM_ROWS + 5)
    for row, value in zip(X.tolist(), Y.reshape(-1).tolist(), strict=True):
        planner.observe({f"x{i}": v for i, v in enumerate(row)}, {"y": value})
    fits: list[Any] = []
    real = acquisition.fit_gp

    def spy(*args: Any, **kwargs: Any) -> Any:
        fitted = real(*args, **kwargs)
        fits.append(fitted)
        return fitted

    monkeypatch.setattr(acquisition, "fit_gp", spy)
    first = planner.ask()
    planner.tell(first[0].trial_id, {"y": 0.0})
    planner.ask()
    assert [f.warm_started for f in fits] == [False, True]
