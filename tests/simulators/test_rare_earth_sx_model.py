"""The Nd/Pr solvent-extraction model against the published equations, worked by hand or
recomputed independently here (numpy, stage-by-stage balances), its failure region, its
noise and its Pareto front."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

import genesis_lab_simulators.rare_earth_sx as ree
from genesis_lab_simulators._domain import DomainModel, ExperimentFailed
from genesis_lab_simulators.rare_earth_sx import (
    BETA_ND_PR,
    LOG10_K_ND,
    LOG10_K_PR,
    MAX_PURITY_PCT,
    PARETO_HYPERVOLUME,
    PARETO_READINGS,
    PARETO_SETTINGS,
    REFERENCE_POINT,
    RareEarthSX,
    kremser_unextracted,
)


def point(ph: float, extractant: float, oa: float, stages: float) -> dict[str, float]:
    return {
        "ree_ph": ph,
        "ree_extractant": extractant,
        "ree_oa_ratio": oa,
        "ree_stages": float(stages),
    }


def readings_np(ph, extractant, oa, stages, x=0.75, feed_M=0.10):
    """Independent vectorised model: (purity %, recovery %, loading fraction), straight
    from D = K (C/2)^3 [H+]^-3 and phi = (E - 1) / (E^(N+1) - 1)."""
    ph, extractant, oa, stages = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (ph, extractant, oa, stages))
    )
    k_pr = 10.0**-1.98
    d_pr = k_pr * (extractant / 2.0) ** 3 / (10.0**-ph) ** 3
    d_nd = 1.5 * d_pr

    def unextracted(e):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_e = np.log(e)
            big = log_e * (stages + 1) > 700.0
            phi = np.where(
                big,
                0.0,
                (e - 1.0) / (np.exp(np.minimum(log_e * (stages + 1), 700.0)) - 1.0),
            )
        return np.where(np.abs(e - 1.0) < 1e-9, 1.0 / (stages + 1), phi)

    rec_nd = 1.0 - unextracted(d_nd * oa)
    rec_pr = 1.0 - unextracted(d_pr * oa)
    nd, pr = x * rec_nd, (1.0 - x) * rec_pr
    loading = feed_M * (nd + pr) / oa / (extractant / 6.0)
    return 100.0 * nd / (nd + pr), 100.0 * rec_nd, loading


# -- the contract ----------------------------------------------------------------------


def test_public_names_and_contract():
    for name in ree.__all__:
        assert hasattr(ree, name), name
    model = RareEarthSX()
    assert isinstance(model, DomainModel)
    assert model.name == "ree"
    assert [s.name for s in model.settings] == [
        "ree_ph",
        "ree_extractant",
        "ree_oa_ratio",
        "ree_stages",
    ]
    for s in model.settings:
        assert re.fullmatch(r"ree_[a-z0-9_]+", s.name)
        assert s.limits is not None and s.limits[0] <= float(s.default) <= s.limits[1]
    assert {s.name: s.integer for s in model.settings}["ree_stages"]
    assert [(r.name, r.units) for r in model.readings] == [("purity", "%"), ("recovery", "%")]
    assert "Kremser" in model.source and "Wu" in model.source
    assert set(model.evaluate(model.defaults())) == {"purity", "recovery"}
    for values, message in [
        ({"ree_ph": 1.5, "ree_extractant": 0.5, "ree_oa_ratio": 1.0}, "missing"),
        (point(0.5, 0.5, 1.0, 2), "outside"),
        (point(1.5, 2.0, 1.0, 2), "outside"),
        (point(1.5, 0.5, 1.0, 21), "outside"),
        (point(1.5, 0.5, 1.0, 2.5), "whole"),
    ]:
        with pytest.raises(ValueError, match=message):
            model.evaluate(values)


# -- the equations -----------------------------------------------------------------------


def test_hand_worked_point():
    # pH 1.2, C = 0.5 mol/L, O/A = 1, N = 2:
    # log D_Pr = -1.98 + 3 log10(0.25) + 3 * 1.2 = -1.98 - 1.80618 + 3.6 = -0.18618
    #   D_Pr = 0.65136, D_Nd = 1.5 * D_Pr = 0.97704 (E = D at O/A = 1)
    # N = 2: phi = (E - 1)/(E^3 - 1) = 1/(1 + E + E^2)
    #   Nd: 1 + 0.97704 + 0.95461 = 2.93165 -> phi = 0.34110 -> recovery 65.890 %
    #   Pr: 1 + 0.65136 + 0.42427 = 2.07563 -> phi = 0.48178 -> 51.822 % extracted
    # purity = 0.75 * 0.65890 / (0.75 * 0.65890 + 0.25 * 0.51822)
    #        = 0.49417 / (0.49417 + 0.12956) = 0.79229 -> 79.229 %
    # loading = 0.10 * 0.62373 / 1 / (0.5 / 6) = 0.74848 (< 0.8: no third phase)
    model = RareEarthSX()
    values = point(1.2, 0.5, 1.0, 2)
    out = model.evaluate(values)
    assert out["recovery"] == pytest.approx(65.890, abs=2e-3)
    assert out["purity"] == pytest.approx(79.229, abs=2e-3)
    assert model.loading_fraction(values) == pytest.approx(0.74848, abs=2e-4)
    d_nd, d_pr = model.distribution_ratios(1.2, 0.5)
    assert d_pr == pytest.approx(0.65136, rel=1e-4)
    assert d_nd == pytest.approx(0.97704, rel=1e-4)
    # N = 1: fraction extracted E / (1 + E). pH 1.0, C = 0.3, O/A = 0.5:
    # log D_Nd = log10(1.5) - 1.98 + 3 log10(0.15) + 3 = 0.17609 - 1.98 - 2.47164 + 3
    #          = -1.27555 -> D_Nd = 0.053027, E = 0.026513 -> 2.5829 % extracted
    out = model.evaluate(point(1.0, 0.3, 0.5, 1))
    assert out["recovery"] == pytest.approx(2.5829, abs=1e-3)


def test_slope_analysis_and_separation_factor():
    model = RareEarthSX()
    d1 = model.distribution_ratios(1.5, 0.4)
    d2 = model.distribution_ratios(2.5, 0.4)  # one pH unit: x 10^3
    d3 = model.distribution_ratios(1.5, 0.8)  # twice the extractant: x 2^3
    for i in range(2):
        assert math.log10(d2[i] / d1[i]) == pytest.approx(3.0, abs=1e-12)
        assert math.log2(d3[i] / d1[i]) == pytest.approx(3.0, abs=1e-12)
    assert d1[0] / d1[1] == pytest.approx(BETA_ND_PR, rel=1e-12)
    assert 1.4 <= BETA_ND_PR <= 1.6
    assert LOG10_K_PR == -1.98
    assert pytest.approx(math.log10(1.5) - 1.98) == LOG10_K_ND


def test_kremser_limits():
    for n in (1, 2, 5, 20):
        assert kremser_unextracted(1.0, n) == pytest.approx(1.0 / (n + 1), rel=1e-12)
        # continuous through E = 1 (where the closed form is 0/0)
        assert kremser_unextracted(1.0 + 1e-10, n) == pytest.approx(1.0 / (n + 1), rel=1e-8)
        assert kremser_unextracted(1.0 - 1e-10, n) == pytest.approx(1.0 / (n + 1), rel=1e-8)
        assert kremser_unextracted(1e-12, n) == pytest.approx(1.0, abs=1e-11)
        # large E: (E - 1)/(E^(N+1) - 1) ~ E^-N; E^(N+1) beyond the float range does not overflow
        assert kremser_unextracted(50.0, n) == pytest.approx(
            (49.0 / 50.0) * 50.0**-n / (1 - 50.0 ** -(n + 1)), rel=1e-10
        )
        assert 0.0 <= kremser_unextracted(1e40, n) <= 1e-39
        for e in (0.3, 0.9, 1.7, 4.0):
            assert kremser_unextracted(e, n) == pytest.approx(
                (e - 1) / (e ** (n + 1) - 1), rel=1e-12
            )
    assert kremser_unextracted(2.0, 1) == pytest.approx(1.0 / 3.0)


def test_kremser_matches_stage_by_stage_mass_balance():
    for e, n in [(0.4, 3), (1.0, 4), (2.5, 6), (0.95, 20)]:
        check_cascade(e, n)


def check_cascade(e, n):
    # countercurrent cascade, aqueous 1 -> N, organic N -> 1, y = D x, E = D O/A:
    # stage k: x_{k-1} + E x_{k+1} = x_k + E x_k, with x_0 = 1 (feed), x_{N+1} = 0
    a = np.zeros((n, n))
    b = np.zeros(n)
    for k in range(n):
        a[k, k] = 1.0 + e
        if k > 0:
            a[k, k - 1] = -1.0
        if k < n - 1:
            a[k, k + 1] = -e
    b[0] = 1.0
    x = np.linalg.solve(a, b)
    raffinate = x[-1]
    extract = e * x[0]  # organic leaving stage 1, per aqueous volume
    assert raffinate + extract == pytest.approx(1.0, abs=1e-12)  # mass conserved
    assert kremser_unextracted(e, n) == pytest.approx(raffinate, rel=1e-10)


def test_dilute_limit_reaches_the_separation_factor():
    # E -> 0: fraction extracted ~ E for each element, so the product ratio Nd/Pr is
    # beta x / (1 - x): purity -> 100 * 1.5 * 0.75 / (1.5 * 0.75 + 0.25) = 81.818 %
    assert pytest.approx(100 * 1.125 / 1.375) == MAX_PURITY_PCT
    out = RareEarthSX().evaluate(point(1.0, 0.05, 0.2, 1))
    assert out["purity"] == pytest.approx(MAX_PURITY_PCT, abs=1e-3)
    assert out["recovery"] < 0.01
    # E >> 1 for both: everything extracted, product = feed (75 % Nd), recovery 100 %
    out = RareEarthSX().evaluate(point(4.0, 1.5, 5.0, 20))
    assert out["recovery"] == pytest.approx(100.0, abs=1e-9)
    assert out["purity"] == pytest.approx(75.0, abs=1e-9)
    model = RareEarthSX(feed_nd_fraction=0.5)
    out = model.evaluate(point(1.0, 0.05, 0.2, 1))
    assert out["purity"] == pytest.approx(100 * 1.5 / 2.5, abs=1e-3)


def test_recovery_rises_with_every_setting_and_purity_stays_bracketed():
    model = RareEarthSX()
    base = point(1.1, 0.5, 2.0, 5)

    def recovery(**change):
        return model.evaluate({**base, **change})["recovery"]

    for key, grid in [
        ("ree_ph", np.linspace(1.0, 1.2, 9)),
        ("ree_extractant", np.linspace(0.4, 0.6, 9)),
        ("ree_oa_ratio", np.linspace(1.5, 2.5, 9)),
        ("ree_stages", np.arange(1.0, 21.0)),
    ]:
        r = [recovery(**{key: float(v)}) for v in grid]
        assert all(b > a for a, b in itertools.pairwise(r)), key
    rng = np.random.default_rng(3)
    for _ in range(300):
        values = point(
            rng.uniform(1, 4), rng.uniform(0.05, 1.5), rng.uniform(0.2, 5), rng.integers(1, 21)
        )
        try:
            out = model.evaluate(values)
        except ExperimentFailed:
            continue
        assert 75.0 - 1e-9 <= out["purity"] <= MAX_PURITY_PCT + 1e-9
        assert 0.0 <= out["recovery"] <= 100.0
    # at a fixed Nd recovery (E solved for it), Pr co-extraction falls as N rises
    from scipy.optimize import brentq

    for target in (0.5, 0.9, 0.99):
        purities = []
        for n in (1, 2, 5, 10, 20):
            e = brentq(lambda e, n=n, t=target: 1 - kremser_unextracted(e, n) - t, 1e-9, 1e6)
            pr = 1 - kremser_unextracted(e / BETA_ND_PR, n)
            purities.append(0.75 * target / (0.75 * target + 0.25 * pr))
        assert all(b > a for a, b in itertools.pairwise(purities))


def test_model_agrees_with_independent_vectorised_equations():
    model = RareEarthSX()
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(200):
        ph, c, oa = rng.uniform(1, 2), rng.uniform(0.05, 1.5), rng.uniform(0.2, 5)
        n = int(rng.integers(1, 21))
        purity, recovery, loading = readings_np(ph, c, oa, n)
        if loading > 0.8:
            with pytest.raises(ExperimentFailed):
                model.evaluate(point(ph, c, oa, n))
            continue
        out = model.evaluate(point(ph, c, oa, n))
        assert out["purity"] == pytest.approx(float(purity), rel=1e-9)
        assert out["recovery"] == pytest.approx(float(recovery), rel=1e-9, abs=1e-9)
        checked += 1
    assert checked > 50


# -- failure -------------------------------------------------------------------------


def test_overloaded_organic_forms_a_third_phase():
    model = RareEarthSX()
    # pH 3: E >> 1, all 0.10 mol/L extracted into O/A = 0.5 -> 0.20 mol/L organic, against
    # a capacity of 0.1 / 6 = 0.0167 mol/L: loading 12 > 0.8
    values = point(3.0, 0.1, 0.5, 5)
    assert model.loading_fraction(values) == pytest.approx(12.0, rel=1e-6)
    with pytest.raises(ExperimentFailed) as caught:
        model.evaluate(values)
    assert caught.value.mode == "third_phase"
    with pytest.raises(ExperimentFailed):
        model.measure(values, np.random.default_rng(0))
    # same chemistry, organic capacity 1.5 / 6 = 0.25 mol/L at O/A = 5: 0.02 / 0.25 = 0.08
    assert model.evaluate(point(3.0, 1.5, 5.0, 5))["recovery"] == pytest.approx(100.0)
    # complete extraction: loading = 0.1 / oa / (C / 6) = 0.6 / (C oa); limit 0.8 at C oa = 0.75
    model.evaluate(point(4.0, 0.75, 1.0 + 1e-3, 5))
    with pytest.raises(ExperimentFailed):
        model.evaluate(point(4.0, 0.75, 1.0 - 1e-3, 5))
    lenient = RareEarthSX(max_loading_fraction=1.0)
    lenient.evaluate(point(4.0, 0.75, 0.9, 5))  # loading 0.889 < 1


# -- noise and time ---------------------------------------------------------------------


def test_noise_has_the_stated_spread():
    model = RareEarthSX(noise_rel=0.02, noise_abs_M=0.0)
    values = point(1.1, 0.5, 2.0, 5)
    truth = model.evaluate(values)
    rng = np.random.default_rng(2024)
    draws = [model.measure(values, rng) for _ in range(4000)]
    rec = np.array([d["recovery"] for d in draws])
    pur = np.array([d["purity"] for d in draws])
    # recovery is the Nd assay scaled: sd = 2 % of it
    assert rec.mean() == pytest.approx(truth["recovery"], rel=0.005)
    assert rec.std() == pytest.approx(0.02 * truth["recovery"], rel=0.1)
    # purity p = a / (a + b), independent 2 % errors on a and b:
    # sd(p) ~ p (1 - p) sqrt(2) 0.02 (delta method), in % units
    p = truth["purity"] / 100
    assert pur.mean() == pytest.approx(truth["purity"], abs=0.05)
    assert pur.std() == pytest.approx(100 * p * (1 - p) * math.sqrt(2) * 0.02, rel=0.1)
    values = point(1.1, 0.5, 2.0, 5)
    quiet = RareEarthSX(noise_rel=0.0, noise_abs_M=0.0)
    assert quiet.measure(values, np.random.default_rng(0)) == pytest.approx(quiet.evaluate(values))
    # a trace product (E ~ 5e-5, ~2e-5 mol/L Nd): the 1e-6 mol/L floor dominates the Pr assay
    trace = point(1.0, 0.05, 0.2, 1)
    model = RareEarthSX(noise_rel=0.0, noise_abs_M=1e-6)
    rng = np.random.default_rng(5)
    trace_pur = np.array([model.measure(trace, rng)["purity"] for _ in range(500)])
    assert trace_pur.std() > 1.0  # percent points: trace assays are noisy


def test_duration_is_minutes_to_hours_and_grows_with_stages():
    model = RareEarthSX()
    short = model.duration_s(point(1.5, 0.05, 1.0, 1))
    long = model.duration_s(point(1.5, 1.5, 1.0, 20))
    # 900 + 3 * 1 * (120 + 480 * 1.025) + 1200 = 3936 s
    assert short == pytest.approx(3936.0)
    assert 30 * 60 < short < long < 24 * 3600
    durations = [model.duration_s(point(1.5, 0.5, 1.0, n)) for n in range(1, 21)]
    assert all(b > a for a, b in itertools.pairwise(durations))


# -- the optimum -----------------------------------------------------------------------


def test_pareto_constants_are_the_models_readings():
    model = RareEarthSX()
    assert len(PARETO_SETTINGS) == len(PARETO_READINGS) >= 3
    for s, r in zip(PARETO_SETTINGS, PARETO_READINGS, strict=True):
        assert model.evaluate(s) == pytest.approx(r)
        assert s["ree_stages"] == 20.0
        assert r["purity"] > REFERENCE_POINT["purity"]
        assert r["recovery"] > REFERENCE_POINT["recovery"]
    # sorted by recovery, purity falls: mutually non-dominated
    rec = [r["recovery"] for r in PARETO_READINGS]
    pur = [r["purity"] for r in PARETO_READINGS]
    assert rec == sorted(rec)
    assert all(b < a for a, b in itertools.pairwise(pur))
    # HV = integral of (purity - 74) d(recovery) along the N = 20 curve, by the trapezoid
    # rule over 200,001 points of log10 E_Nd in [-8, 6] (C = 2, pH 1 makes D_Nd = 1e3 K_Nd)
    e = np.geomspace(1e-8, 1e6, 200_001)
    purity, recovery, _ = readings_np(1.0, 2.0, e / (10**LOG10_K_ND * 1e3), 20)
    hv = float(np.trapezoid(purity - REFERENCE_POINT["purity"], recovery))
    assert hv == pytest.approx(PARETO_HYPERVOLUME, abs=0.01)
    assert REFERENCE_POINT == {"purity": 74.0, "recovery": 0.0}


def test_no_feasible_grid_point_beats_the_front():
    # dense grid of the whole box, independent equations, third-phase points dropped
    ph = np.linspace(1.0, 4.0, 91)
    c = np.geomspace(0.05, 1.5, 25)
    oa = np.geomspace(0.2, 5.0, 25)
    n = np.arange(1, 21)
    g = np.meshgrid(ph, c, oa, n, indexing="ij")
    purity, recovery, loading = readings_np(*g)
    ok = loading <= 0.8
    purity, recovery = purity[ok], recovery[ok]
    assert purity.size > 100_000
    for r in PARETO_READINGS:
        better = (purity > r["purity"] + 1e-6) & (recovery >= r["recovery"] - 1e-9)
        assert not better.any(), r
    # the grid's own front comes close to the constant hypervolume, never above it
    order = np.argsort(-recovery)
    best = np.maximum.accumulate(purity[order])  # best purity at recovery >= each
    rec_sorted = recovery[order]
    widths = -np.diff(np.concatenate((rec_sorted, [REFERENCE_POINT["recovery"]])))
    hv_grid = float(np.sum(widths * (best - REFERENCE_POINT["purity"]).clip(min=0)))
    assert hv_grid <= PARETO_HYPERVOLUME + 1e-6
    assert hv_grid > 0.97 * PARETO_HYPERVOLUME
