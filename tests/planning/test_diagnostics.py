"""The final model's check (issue 16, item 6.6): closed-form leave-one-out equals leaving
each point out of the same GP, importance follows the parameter that matters, the check
is deterministic; and the hypervolume trace is exact."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from genesis_lab.planning import check_model, hypervolume_reference, hypervolume_trace
from genesis_lab.planning._acquisition import single_threaded
from genesis_lab.planning._model import fit_gp
from genesis_lab.spec import CampaignSpec

SPEC = CampaignSpec.model_validate(
    {
        "name": "check",
        "parameters": [
            {"name": "x", "bounds": [0.0, 10.0], "units": "mm"},
            {"name": "z", "bounds": [0.0, 1.0], "units": "mm"},
        ],
        "objective": {"name": "y", "direction": "minimize", "reading": "y"},
        "budget": 20,
        "seed": 11,
        "station": {"plugin": "sim"},
    }
)


def results(n: int) -> list[tuple[str, dict[str, Any], dict[str, float]]]:
    """``y`` depends on ``x`` strongly and on ``z`` hardly at all."""
    generator = torch.Generator().manual_seed(0)
    points = torch.rand(n, 2, generator=generator, dtype=torch.double)
    return [
        (
            f"t{i:04d}",
            {"x": 10 * float(x), "z": float(z)},
            {"y": math.sin(6 * float(x)) + 0.01 * float(z)},
        )
        for i, (x, z) in enumerate(points.tolist())
    ]


@pytest.mark.timeout(120)
def test_leave_one_out_is_the_gp_without_that_point() -> None:
    data = results(12)
    check = check_model(SPEC, data)
    assert check is not None and check.n == 12 and check.available == 12
    [y] = check.objectives
    assert y.trial_ids == [t for t, _, _ in data]
    assert y.observed == [v["y"] for _, _, v in data]
    # the same fit (the same seed), then each point left out by hand
    X = torch.tensor([[p["x"] / 10, p["z"]] for _, p, _ in data], dtype=torch.double)
    Y = -torch.tensor([[v["y"]] for _, _, v in data], dtype=torch.double)  # minimised
    with torch.random.fork_rng(devices=[]), single_threaded():
        torch.manual_seed(SPEC.seed)
        model = fit_gp(X, Y).model
    with torch.no_grad():
        for i in range(12):
            keep = [j for j in range(12) if j != i]
            K = model.covar_module(X[keep]).to_dense() + model.likelihood.noise * torch.eye(11)
            k = model.covar_module(X[keep], X[i : i + 1]).to_dense().reshape(-1)
            prior = float(model.covar_module(X[i : i + 1]).to_dense()) + float(
                model.likelihood.noise
            )
            constant = model.mean_module.constant
            targets = model.train_targets
            mean = constant + k @ torch.linalg.solve(K, targets[keep] - constant)
            var = prior - k @ torch.linalg.solve(K, k)
            stdv = float(model.outcome_transform.stdvs.reshape(-1)[0])
            shift = float(model.outcome_transform.means.reshape(-1)[0])
            assert y.loo_mean[i] == pytest.approx(-(float(mean) * stdv + shift), abs=1e-6)
            assert y.loo_std[i] == pytest.approx(math.sqrt(float(var)) * stdv, abs=1e-6)


@pytest.mark.timeout(120)
def test_importance_follows_the_parameter_that_matters_and_repeats() -> None:
    data = results(15)
    first = check_model(SPEC, data)
    again = check_model(SPEC, data)
    assert first is not None and first == again  # deterministic
    [y] = first.objectives
    assert sum(y.importance.values()) == pytest.approx(1.0)
    assert y.importance["x"] > 0.8 > y.importance["z"]
    assert 0 <= y.within_two_sd <= 15
    assert check_model(SPEC, data[:2]) is None  # too few to check
    capped = check_model(SPEC, data, max_rows=10)
    assert capped is not None and (capped.n, capped.available) == (10, 15)
    assert capped.objectives[0].trial_ids == [t for t, _, _ in data[-10:]]


TWO = CampaignSpec.model_validate(
    {
        "name": "two",
        "parameters": [{"name": "x", "bounds": [0.0, 1.0], "units": "mm"}],
        "objectives": [
            {"name": "a", "direction": "minimize", "reading": "a", "reference": 10.0},
            {"name": "b", "direction": "maximize", "reading": "b"},
        ],
        "budget": 5,
        "station": {"plugin": "sim"},
    }
)


def test_the_hypervolume_trace_is_exact() -> None:
    # a minimised (reference 10), b maximised (reference inferred below 0 or given here)
    reference = [10.0, 0.0]
    points = [[2.0, 2.0], None, [8.0, 8.0], [11.0, 20.0], [5.0, 1.0]]
    # (2, 2): 8 x 2 = 16; (8, 8) adds 2 x 8 - 2 x 2 = 12: 28; (11, 20) lies past a's
    # reference: nothing; (5, 1) is dominated by (2, 2): nothing
    assert hypervolume_trace(TWO, points, reference) == pytest.approx([16, 16, 28, 28, 28])
    inferred = hypervolume_reference(TWO, [[2.0, 2.0], [8.0, 8.0]])
    assert inferred[0] == 10.0  # given
    assert inferred[1] < 2.0  # inferred: worse than every front member's b
