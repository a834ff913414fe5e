"""The LPBF model against hand-worked points of its published equations, its limiting cases
and scaling laws, its failure region, its noise and its optimum constants."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from scipy.optimize import minimize

import genesis_lab_simulators.lpbf as lpbf
from genesis_lab_simulators._domain._model import DomainModel, ExperimentFailed
from genesis_lab_simulators.lpbf import (
    BUILD_FAILED,
    E_SWELL_J_MM3,
    KEYHOLE_THRESHOLD,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    PARETO_POINTS,
    REFERENCE_POINT,
    LpbfModel,
    build_rate,
    energy_density,
    melt_pool_radius_um,
    normalised_enthalpy,
    overlap_index,
    porosity,
)

P, V, H, T = (
    "lpbf_laser_power",
    "lpbf_scan_speed",
    "lpbf_hatch_spacing",
    "lpbf_layer_thickness",
)


def point(power: float, speed: float, hatch: float, layer: float) -> dict[str, float]:
    return {P: power, V: speed, H: hatch, T: layer}


def hill(x: float, n: int) -> float:
    return x**n / (1.0 + x**n)


@pytest.fixture
def model() -> LpbfModel:
    return LpbfModel()


# --- contract ------------------------------------------------------------------------------


def test_all_is_honest() -> None:
    assert sorted(lpbf.__all__) == sorted(set(lpbf.__all__))
    for name in lpbf.__all__:
        assert hasattr(lpbf, name), name


def test_settings_and_readings_follow_the_contract(model: LpbfModel) -> None:
    assert isinstance(model, DomainModel)
    assert model.name == "lpbf"
    assert [s.name for s in model.settings] == [P, V, H, T]
    assert [s.units for s in model.settings] == ["W", "mm/s", "um", "um"]
    for setting in model.settings:
        assert re.fullmatch(r"lpbf_[a-z0-9_]+", setting.name)
        assert setting.limits is not None
        assert setting.limits[0] <= float(setting.default) <= setting.limits[1]
    assert [(r.name, r.units) for r in model.readings] == [
        ("density", "%"),
        ("build_rate", "cm^3/h"),
    ]
    assert "King" in model.source and "Tang" in model.source


def test_settings_outside_limits_or_missing_are_refused(model: LpbfModel) -> None:
    with pytest.raises(ValueError, match="outside its limits"):
        model.evaluate(point(500.0, 800.0, 100.0, 40.0))
    with pytest.raises(ValueError, match="missing setting"):
        model.evaluate({P: 200.0, V: 800.0, H: 100.0})
    with pytest.raises(ValueError, match=">= 0"):
        LpbfModel(density_noise_pct=-1.0)


# --- hand-worked points ----------------------------------------------------------------------


def test_default_point_by_hand(model: LpbfModel) -> None:
    # P = 200 W, v = 800 mm/s, h = 100 um, t = 40 um.
    # E = 200 / (800 * 0.1 * 0.04) = 200 / 3.2 = 62.5 J/mm^3.
    # build rate = 800 * 0.1 * 0.04 = 3.2 mm^3/s = 3.2 * 3600 / 1000 = 11.52 cm^3/h.
    # King: h_s = 7900 * 500 * 1700 = 6.715e9 J/m^3;
    #   sqrt(D v sigma^3) = sqrt(5e-6 * 0.8 * (27e-6)^3) = sqrt(7.8732e-20) = 2.80592e-10;
    #   K = 0.4 * 200 / (pi * 6.715e9 * 2.80592e-10) = 80 / 5.91930 = 13.515.
    # Rosenthal: r^2 = 2 * 0.4 * 200 / (pi * e * 7900 * 500 * 1400 * 0.8)
    #   = 160 / 3.77796e10 = 4.23507e-9 m^2, r = 65.08 um (width 130.16 um).
    # Tang: lam = (100 / 130.16)^2 + (40 / 65.08)^2 = 0.59027 + 0.37778 = 0.96805.
    # porosity = 0.05 + 40 hill(0.48403, 6) + 10 hill(13.515 / 45, 6) + 5 hill(0.25, 4)
    #   = 0.05 + 40 * 0.012700 + 10 * 7.3336e-4 + 5 * 0.0038911
    #   = 0.05 + 0.50801 + 0.00733 + 0.01946 = 0.58480 %  ->  density 99.41520 %.
    assert float(energy_density(200, 800, 100, 40)) == pytest.approx(62.5, rel=1e-12)
    assert float(normalised_enthalpy(200, 800)) == pytest.approx(13.515, abs=1e-3)
    assert float(melt_pool_radius_um(200, 800)) == pytest.approx(65.08, abs=1e-2)
    assert float(overlap_index(200, 800, 100, 40)) == pytest.approx(0.96805, abs=1e-4)
    readings = model.evaluate(point(200, 800, 100, 40))
    assert readings["build_rate"] == pytest.approx(11.52, rel=1e-12)
    assert readings["density"] == pytest.approx(99.41520, abs=2e-4)


def test_independent_recomputation_from_the_equations(model: LpbfModel) -> None:
    # The same equations written out again with math only, at three points across the box.
    rho, c, diff, t_m, t_0, absorb, sigma = 7900.0, 500.0, 5e-6, 1700.0, 300.0, 0.4, 27e-6
    for p, v, h, t in [(150, 600, 80, 30), (350, 1500, 120, 50), (300, 400, 140, 70)]:
        e = p / (v * (h / 1000) * (t / 1000))
        k = absorb * p / (math.pi * rho * c * t_m * math.sqrt(diff * v / 1000 * sigma**3))
        r = 1e6 * math.sqrt(2 * absorb * p / (math.pi * math.e * rho * c * (t_m - t_0) * v / 1000))
        lam = (h / (2 * r)) ** 2 + (t / r) ** 2
        phi = 0.05 + 40 * hill(lam / 2, 6) + 10 * hill(k / 45, 6) + 5 * hill(e / 250, 4)
        readings = model.evaluate(point(p, v, h, t))
        assert readings["density"] == pytest.approx(100 - phi, abs=1e-9)
        assert readings["build_rate"] == pytest.approx(v * h * t * 3600 / 1e9, rel=1e-12)


def test_keyhole_threshold_in_power_over_root_speed() -> None:
    # K = 30 at P / sqrt(v[m/s]) = 30 * pi * 6.715e9 * sqrt(5e-6 * 1.9683e-14) / 0.4
    #   = 30 * 6.6164 / 0.4 = 496.2 W/(m/s)^0.5 = 15.69 W/(mm/s)^0.5: e.g. 300 W at 365.6 mm/s.
    speed = (300.0 / 15.69) ** 2
    assert float(normalised_enthalpy(300.0, speed)) == pytest.approx(KEYHOLE_THRESHOLD, rel=2e-3)


# --- limiting cases, scaling laws, monotonicity ----------------------------------------------


def test_melt_pool_energy_balance() -> None:
    # Rosenthal's fast-source limit: the half-disc holds 1/e of the absorbed line energy as
    # heat to the melting point: (pi r^2 / 2) * rho c (T_m - T_0) * e = A P / v.
    for p, v in [(100, 200), (250, 900), (400, 2000)]:
        r = float(melt_pool_radius_um(p, v)) * 1e-6
        stored = math.pi * r**2 / 2 * 7900 * 500 * 1400 * math.e
        assert stored == pytest.approx(0.4 * p / (v / 1000), rel=1e-12)


def test_scaling_laws() -> None:
    # K ~ P / sqrt(v); r^2 ~ P / v; E ~ P / (v h t); the build rate does not depend on P.
    assert float(normalised_enthalpy(200, 1600)) == pytest.approx(
        float(normalised_enthalpy(100, 400)), rel=1e-12
    )
    assert float(melt_pool_radius_um(300, 1200)) == pytest.approx(
        float(melt_pool_radius_um(150, 600)), rel=1e-12
    )
    assert float(energy_density(400, 1000, 100, 40)) == pytest.approx(
        2 * float(energy_density(200, 1000, 100, 40)), rel=1e-12
    )
    assert float(build_rate(1000, 100, 40)) == pytest.approx(
        2 * float(build_rate(500, 100, 40)), rel=1e-12
    )
    # Tang's boundary: hatch W / sqrt(2) and layer D / sqrt(2) give exactly lam = 1.
    r = float(melt_pool_radius_um(200, 800))
    assert float(overlap_index(200, 800, 2 * r / math.sqrt(2), r / math.sqrt(2))) == (
        pytest.approx(1.0, rel=1e-12)
    )


def test_density_rises_with_power_out_of_lack_of_fusion(model: LpbfModel) -> None:
    densities = [model.evaluate(point(p, 2000, 100, 25))["density"] for p in range(100, 401, 20)]
    assert all(b > a for a, b in itertools.pairwise(densities))
    assert densities[0] < 90.0 < 99.0 < densities[-1]


def test_density_falls_into_keyhole_at_low_speed(model: LpbfModel) -> None:
    # P = 400 W, h = 150 um, t = 80 um: lower speed -> larger K -> more keyhole pores (the
    # melt pool is deep enough and E stays below the swelling limit down to 200 mm/s).
    speeds = [200, 250, 300, 350, 400]
    ks = [float(normalised_enthalpy(400, v)) for v in speeds]
    densities = [model.evaluate(point(400, v, 150, 80))["density"] for v in speeds]
    assert ks[0] > KEYHOLE_THRESHOLD
    assert all(b > a for a, b in itertools.pairwise(densities))
    assert densities[0] < 95.0  # 10 hill(54.06 / 45, 6) = 7.5 % keyhole porosity


def test_limits_of_the_density(model: LpbfModel) -> None:
    # Far in the lack-of-fusion region (lam = 7.1) almost the whole 40 % amplitude is lost.
    low = model.evaluate(point(100, 2000, 150, 20))["density"]
    assert 100 - 0.05 - 40 - 10 - 5 <= low < 61.0
    rng = np.random.default_rng(3)
    grid = rng.uniform([100, 200, 50, 20], [400, 2000, 150, 80], size=(20000, 4)).T
    phi = porosity(*grid)
    assert phi.min() >= 0.05
    assert phi.max() <= 0.05 + 40 + 10 + 5


# --- failure region -------------------------------------------------------------------------


def test_swelling_fails_the_build(model: LpbfModel) -> None:
    # P = 300 W, v = 500 mm/s, h = 50 um: E = 300 / (500 * 0.05 * t[mm]) = 300 at t = 40 um.
    assert float(energy_density(300, 500, 50, 40)) == pytest.approx(E_SWELL_J_MM3)
    model.evaluate(point(300, 500, 50, 40))  # at the limit: still builds
    with pytest.raises(ExperimentFailed, match="swelled") as caught:
        model.evaluate(point(300, 500, 50, 39.9))
    assert caught.value.mode == BUILD_FAILED == "build_failed"
    with pytest.raises(ExperimentFailed) as caught:
        model.measure(point(400, 200, 50, 20), np.random.default_rng(0))
    assert caught.value.mode == "build_failed"


def test_layers_thicker_than_the_melt_pool_delaminate(model: LpbfModel) -> None:
    # 100 W at 2000 mm/s: r^2 = 80 / (pi e 5.53e9 * 2) = 8.470e-10 m^2, depth 29.1 um.
    depth = float(melt_pool_radius_um(100, 2000))
    assert depth == pytest.approx(29.10, abs=0.01)
    model.evaluate(point(100, 2000, 100, 29.0))
    with pytest.raises(ExperimentFailed, match="delaminated") as caught:
        model.evaluate(point(100, 2000, 100, 29.2))
    assert caught.value.mode == "build_failed"
    assert model.duration_s(point(100, 2000, 100, 40)) > 0.0  # a failed build still takes time


# --- noise and duration ---------------------------------------------------------------------


def test_density_noise_has_the_stated_spread(model: LpbfModel) -> None:
    rng = np.random.default_rng(12345)
    for values, expected_std in [
        (point(200, 800, 100, 40), math.hypot(0.1, 0.05 * 0.58480)),
        (point(100, 2000, 150, 20), None),
    ]:
        clean = model.evaluate(values)
        std = expected_std or math.hypot(0.1, 0.05 * (100 - clean["density"]))
        assert model.density_std(values) == pytest.approx(std, rel=1e-3)
        draws = [model.measure(values, rng) for _ in range(4000)]
        density = np.array([d["density"] for d in draws])
        # Standard error of a sample std with n = 4000 is ~1.1 %: 10 % is a wide margin.
        assert density.std(ddof=1) == pytest.approx(std, rel=0.10)
        assert abs(density.mean() - clean["density"]) < 5 * std / math.sqrt(4000)
        assert density.max() <= 100.0
        assert {d["build_rate"] for d in draws} == {clean["build_rate"]}
    # the porous cube scatters far more than the dense one
    assert model.density_std(point(100, 2000, 150, 20)) > 10 * model.density_std(
        point(200, 800, 100, 40)
    )


def test_build_rate_noise_when_asked() -> None:
    noisy = LpbfModel(build_rate_noise_rel=0.02)
    rng = np.random.default_rng(7)
    rates = np.array(
        [noisy.measure(point(200, 800, 100, 40), rng)["build_rate"] for _ in range(3000)]
    )
    assert rates.std(ddof=1) / 11.52 == pytest.approx(0.02, rel=0.1)


def test_duration_is_hours_and_falls_with_build_rate(model: LpbfModel) -> None:
    # default: 1800 + 1000 / 3.2 + 250 layers * 8 + 1200 = 5312.5 s
    assert model.duration_s(point(200, 800, 100, 40)) == pytest.approx(5312.5)
    slowest = model.duration_s(point(100, 200, 50, 20))
    fastest = model.duration_s(point(400, 2000, 150, 80))
    assert 3600 < fastest < model.duration_s(point(200, 800, 100, 40)) < slowest < 4 * 3600


# --- the optimum and the Pareto front ------------------------------------------------------


def _feasible_density(p, v, h, t):  # numpy arrays in, densities (or -inf where it fails)
    ok = (energy_density(p, v, h, t) <= E_SWELL_J_MM3) & (t < melt_pool_radius_um(p, v))
    return np.where(ok, 100.0 - porosity(p, v, h, t), -np.inf)


def test_optimum_constants_are_consistent(model: LpbfModel) -> None:
    readings = model.evaluate(OPTIMUM_SETTINGS)
    assert readings["density"] == pytest.approx(OPTIMUM_READINGS["density"], abs=1e-5)
    assert readings["build_rate"] == pytest.approx(OPTIMUM_READINGS["build_rate"], rel=1e-5)


def test_dense_grid_finds_no_better_density() -> None:
    v, h, t = np.meshgrid(
        np.linspace(200, 2000, 61),
        np.linspace(50, 150, 41),
        np.linspace(20, 80, 61),
        indexing="ij",
    )
    best = -np.inf
    for p in np.linspace(100, 400, 31):
        best = max(best, float(_feasible_density(p, v, h, t).max()))
    assert best <= OPTIMUM_READINGS["density"] + 1e-4
    assert best > OPTIMUM_READINGS["density"] - 0.01  # the grid gets close: the top is flat


def test_local_search_finds_no_better_density(model: LpbfModel) -> None:
    low = np.array([100.0, 200.0, 50.0, 20.0])
    span = np.array([300.0, 1800.0, 100.0, 60.0])

    def loss(u):
        x = low + np.clip(u, 0, 1) * span
        return -float(_feasible_density(*x)) if np.isfinite(_feasible_density(*x)) else 1e3

    starts = [
        [0.0, 0.4, 0.0, 0.1],
        [0.5, 0.6, 0.2, 0.2],
        [0.9, 0.9, 0.1, 0.1],
        [0.3, 0.3, 0.5, 0.5],
        [0.1, 0.5, 0.05, 0.08],
    ]
    for u0 in starts:
        result = minimize(loss, u0, method="L-BFGS-B", bounds=[(0, 1)] * 4)
        assert -result.fun <= OPTIMUM_READINGS["density"] + 1e-6


def test_pareto_points_are_consistent_and_mutually_non_dominated(model: LpbfModel) -> None:
    rates, densities = [], []
    for settings, readings in PARETO_POINTS:
        got = model.evaluate(settings)
        assert got["density"] == pytest.approx(readings["density"], abs=1e-5)
        assert got["build_rate"] == pytest.approx(readings["build_rate"], rel=1e-5)
        assert readings["density"] > REFERENCE_POINT["density"]
        assert readings["build_rate"] > REFERENCE_POINT["build_rate"]
        rates.append(readings["build_rate"])
        densities.append(readings["density"])
    assert rates == sorted(rates)
    assert densities == sorted(densities, reverse=True)
    assert PARETO_POINTS[0] == (OPTIMUM_SETTINGS, OPTIMUM_READINGS)


def test_no_build_beats_a_pareto_point_at_its_build_rate() -> None:
    # At each point's build rate b, search (P, v, h) on a grid with t = b / (3.6e-6 v h).
    p, v, h = np.meshgrid(
        np.linspace(100, 400, 41),
        np.linspace(200, 2000, 121),
        np.linspace(50, 150, 101),
        indexing="ij",
    )
    for _, readings in PARETO_POINTS[1:]:
        t = readings["build_rate"] / (3.6e-6 * v * h)
        inside = (t >= 20) & (t <= 80)
        density = np.where(inside, _feasible_density(p, v, h, np.clip(t, 20, 80)), -np.inf)
        best = float(density.max())
        assert best <= readings["density"] + 1e-4
        assert best > readings["density"] - 0.2
