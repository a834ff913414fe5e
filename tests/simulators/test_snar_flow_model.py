"""The SnAr flow model against values worked from Hone et al.'s published equations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize

import genesis_lab_simulators.snar_flow as snar
from genesis_lab_simulators._domain._model import DomainModel, ExperimentFailed
from genesis_lab_simulators.snar_flow import (
    MAX_STY,
    MAX_STY_SETTINGS,
    MIN_E_FACTOR,
    MIN_E_FACTOR_SETTINGS,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    PARETO_POINTS,
    REFERENCE_POINT,
    SnarFlowModel,
    outlet_concentrations,
    rate_constants,
    readings_from_outlet,
    salt_solubility,
)

TAU, EQUIV, CONC, TEMP = (
    "snar_residence_time",
    "snar_pyrrolidine_equiv",
    "snar_dfnb_conc",
    "snar_temperature",
)


def point(tau: float, equiv: float, conc: float, temp: float) -> dict[str, float]:
    return {TAU: tau, EQUIV: equiv, CONC: conc, TEMP: temp}


def test_all_is_honest() -> None:
    assert sorted(snar.__all__) == sorted(set(snar.__all__))
    for name in snar.__all__:
        assert hasattr(snar, name), name


def test_contract() -> None:
    model = SnarFlowModel()
    assert isinstance(model, DomainModel)
    assert model.name == "snar"
    assert [s.name for s in model.settings] == [TAU, EQUIV, CONC, TEMP]
    assert [s.limits for s in model.settings] == [(0.5, 2.0), (1.0, 5.0), (0.1, 0.5), (30, 120)]
    assert [r.name for r in model.readings] == ["sty", "e_factor"]
    assert "Hone" in model.source
    for s in model.settings:
        assert s.limits is not None and s.limits[0] <= float(s.default) <= s.limits[1]
    readings = model.evaluate(model.defaults())
    assert set(readings) == {"sty", "e_factor"}


def test_rate_constants_by_hand() -> None:
    # At T_ref = 90 degC the exponential is 1: k = 0.6 * k_ref(1e-2 M^-1 s^-1).
    # 0.6*57.9 = 34.74, 0.6*2.70 = 1.62, 0.6*0.865 = 0.519, 0.6*1.63 = 0.978.
    assert rate_constants(90.0) == pytest.approx([34.74, 1.62, 0.519, 0.978], rel=1e-12)
    # k_a at 30 degC: 1/303.15 - 1/363.15 = 0.003298697 - 0.002753683 = 0.000545014 K^-1;
    # Ea/R = 33.3 / 0.008314 = 4005.292 K; exponent -2.182940; exp = 0.112710;
    # k_a = 34.74 * 0.112710 = 3.91555 M^-1 min^-1.
    assert rate_constants(30.0)[0] == pytest.approx(3.91555, rel=1e-4)
    # k_d at 120 degC: 1/393.15 - 1/363.15 = -0.000210125 K^-1; Ea/R = 44.8/0.008314 =
    # 5388.50 K; exponent +1.132272; exp = 3.10265; k_d = 0.978 * 3.10265 = 3.03439.
    assert rate_constants(120.0)[3] == pytest.approx(3.03439, rel=1e-4)
    # Summit's 273.71 K offset leaves k at T_ref unchanged.
    assert rate_constants(90.0, kelvin_offset=273.71) == pytest.approx(
        [34.74, 1.62, 0.519, 0.978], rel=1e-12
    )


def test_readings_by_hand() -> None:
    c = np.array([0.1, 0.5, 0.3, 0.05, 0.05])
    r = readings_from_outlet(c, 1.0)
    # STY = 60 * 210.21 g/mol * 0.3 mol/L / 1 min = 3783.78 kg m^-3 h^-1.
    assert r["sty"] == pytest.approx(3783.78, rel=1e-9)
    # E = (789 + 159.09*0.1 + 71.12*0.5 + 210.21*0.05 + 261.33*0.05) / (210.21*0.3)
    #   = (789 + 15.909 + 35.56 + 10.5105 + 13.0665) / 63.063 = 864.046 / 63.063 = 13.7013
    assert r["e_factor"] == pytest.approx(13.7013, rel=1e-4)
    # No product: STY floored, E-factor capped, as in Summit.
    none = readings_from_outlet(np.array([0.3, 0.6, 0.0, 0.0, 0.0]), 1.0)
    assert none == {"sty": 1e-6, "e_factor": 1e3}


def rk4_reference(tau: float, c1: float, c2: float, temp_c: float) -> np.ndarray:
    """Hone et al.'s scheme integrated independently with fixed-step RK4."""
    t = temp_c + 273.15
    pairs = [(57.9, 33.3), (2.70, 35.3), (0.865, 38.9), (1.63, 44.8)]
    ka, kb, kc, kd = (
        0.6 * kr * math.exp(-ea / 8.314e-3 * (1 / t - 1 / 363.15)) for kr, ea in pairs
    )

    def f(c: np.ndarray) -> np.ndarray:
        ra, rb, rc, rd = ka * c[0] * c[1], kb * c[0] * c[1], kc * c[2] * c[1], kd * c[3] * c[1]
        return np.array([-ra - rb, -ra - rb - rc - rd, ra - rc, rb - rd, rc + rd])

    n = 4000
    h = tau / n
    c = np.array([c1, c2, 0.0, 0.0, 0.0])
    for _ in range(n):
        k1 = f(c)
        k2 = f(c + h / 2 * k1)
        k3 = f(c + h / 2 * k2)
        k4 = f(c + h * k3)
        c = c + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return c


@pytest.mark.parametrize(
    ("tau", "equiv", "conc", "temp"),
    [(1.0, 2.0, 0.3, 75.0), (2.0, 5.0, 0.5, 120.0), (0.5, 1.0, 0.1, 30.0)],
)
def test_outlet_matches_independent_integration(
    tau: float, equiv: float, conc: float, temp: float
) -> None:
    got = outlet_concentrations(tau, conc, equiv * conc, temp)
    want = rk4_reference(tau, conc, equiv * conc, temp)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize(
    ("tau", "equiv", "conc", "temp"),
    [(0.5, 1.0, 0.1, 30.0), (2.0, 5.0, 0.5, 120.0), (1.3, 2.7, 0.37, 66.0), (2.0, 1.0, 0.5, 120)],
)
def test_mass_balances(tau: float, equiv: float, conc: float, temp: float) -> None:
    c = outlet_concentrations(tau, conc, equiv * conc, temp)
    # The aromatic ring: DFNB + ortho + para + bis = DFNB at the inlet.
    assert c[0] + c[2] + c[3] + c[4] == pytest.approx(conc, rel=1e-7)
    # Pyrrolidine, free or bound: PLDN + ortho + para + 2 bis = PLDN at the inlet.
    assert c[1] + c[2] + c[3] + 2 * c[4] == pytest.approx(equiv * conc, rel=1e-7)
    assert (c >= 0).all()


def test_summit_0_8_5_reproduces_its_para_rate() -> None:
    # Summit up to 0.8.5 writes d[para]/dt = k_a[1][2] - k_d[2][para], so the aromatic total
    # grows at (k_a - k_b)[1][2] while DFNB falls at (k_a + k_b)[1][2]: exactly
    # total = c_DFNB,0 + (k_a - k_b) / (k_a + k_b) * (DFNB consumed).
    c = outlet_concentrations(1.0, 0.3, 0.6, 75.0, summit="0.8.5")
    k_a, k_b, _, _ = rate_constants(75.0, kelvin_offset=273.71)
    excess = (k_a - k_b) / (k_a + k_b) * (0.3 - c[0])
    assert c[0] + c[2] + c[3] + c[4] == pytest.approx(0.3 + excess, rel=1e-6)
    assert excess > 0.1
    # And its 273.71 K offset: 1/348.71 - 1/363.71 = 0.00286772 - 0.00274944 = 0.000118281;
    # k_a(75 degC) = 34.74 exp(-4005.292 * 0.000118281) = 34.74 exp(-0.473750) = 34.74 *
    # 0.622670 = 21.6316. With 273.15: 1/348.15 - 1/363.15 = 0.000118642, exponent
    # -0.475196, k_a = 34.74 * 0.621771 = 21.6003.
    assert k_a == pytest.approx(21.6316, rel=1e-4)
    assert rate_constants(75.0)[0] == pytest.approx(21.6003, rel=1e-4)


def test_summit_0_8_8_forms_para_at_k_b_with_its_kelvin_offset() -> None:
    """The latest Summit (0.8.6 to 0.8.8) forms the para product at k_b, so the aromatic
    ring is conserved, with its rate constants at its 273.71 K offset (reference
    temperature included)."""
    summit = outlet_concentrations(1.0, 0.3, 0.6, 75.0, summit="0.8.8")
    assert summit[0] + summit[2] + summit[3] + summit[4] == pytest.approx(0.3, rel=1e-7)
    # Over a tiny time, ortho / para = k_a / k_b at Summit's offset (both at 273.15 K
    # would give the same ratio only if the activation energies were equal: they differ).
    k_a, k_b, _, _ = rate_constants(60.0, kelvin_offset=273.71)
    early = outlet_concentrations(1e-5, 0.3, 0.6, 60.0, summit="0.8.8")
    assert early[2] / early[3] == pytest.approx(k_a / k_b, rel=1e-4)
    ours_a, ours_b, _, _ = rate_constants(60.0)
    assert ours_a / ours_b != pytest.approx(k_a / k_b, rel=1e-6)
    assert summit[2] != pytest.approx(outlet_concentrations(1.0, 0.3, 0.6, 75.0)[2], rel=1e-4)
    with pytest.raises(ValueError, match="summit must be one of"):
        outlet_concentrations(1.0, 0.3, 0.6, 75.0, summit="0.9")


def test_initial_rates_limit() -> None:
    # Over a tiny time the products are the initial rates times t (second order):
    # [ortho] = k_a c1 c2 t, [para] = k_b c1 c2 t; at 90 degC, 0.3 M and 0.6 M, 1e-5 min:
    # 34.74 * 0.3 * 0.6 * 1e-5 = 6.2532e-5 M and 1.62 * 0.18 * 1e-5 = 2.916e-6 M.
    c = outlet_concentrations(1e-5, 0.3, 0.6, 90.0)
    assert c[2] == pytest.approx(6.2532e-5, rel=1e-3)
    assert c[3] == pytest.approx(2.916e-6, rel=1e-3)
    assert c[2] / c[3] == pytest.approx(34.74 / 1.62, rel=1e-3)
    assert c[4] < 1e-8
    # Zero residence time: nothing reacts.
    assert outlet_concentrations(0.0, 0.3, 0.6, 90.0).tolist() == [0.3, 0.6, 0, 0, 0]


def test_conversion_monotone_in_time_temperature_and_equivalents() -> None:
    def conversion(tau: float, equiv: float, temp: float) -> float:
        return 1 - outlet_concentrations(tau, 0.2, equiv * 0.2, temp)[0] / 0.2

    taus = [conversion(t, 1.0, 30.0) for t in (0.5, 1.0, 1.5, 2.0)]
    temps = [conversion(0.5, 1.0, t) for t in (30.0, 50.0, 70.0, 90.0)]
    equivs = [conversion(0.5, e, 30.0) for e in (1.0, 2.0, 3.0, 5.0)]
    for seq in (taus, temps, equivs):
        assert all(a < b for a, b in itertools.pairwise(seq)), seq
        assert seq[0] > 0 and seq[-1] <= 1


def test_sty_is_product_per_volume_and_time() -> None:
    model = SnarFlowModel()
    v = point(1.0, 2.0, 0.3, 80.0)
    c = model.outlet(v)
    assert model.evaluate(v)["sty"] == pytest.approx(60 * 210.21 * c[2] / 1.0, rel=1e-12)
    # More DFNB in the same solvent: more product per volume and less waste per product.
    readings = [model.evaluate(point(1.0, 2.0, x, 80.0)) for x in (0.1, 0.2, 0.3, 0.4, 0.5)]
    assert all(a["sty"] < b["sty"] for a, b in itertools.pairwise(readings))
    assert all(a["e_factor"] > b["e_factor"] for a, b in itertools.pairwise(readings))


def test_clogging_failure_region() -> None:
    model = SnarFlowModel()
    v = point(2.0, 5.0, 0.5, 30.0)
    with pytest.raises(ExperimentFailed) as info:
        model.evaluate(v)
    assert info.value.mode == "clogged"
    with pytest.raises(ExperimentFailed):
        model.measure(v, np.random.default_rng(0))
    # The salt there exceeds the solubility; without the failure region it gives numbers.
    c = outlet_concentrations(2.0, 0.5, 2.5, 30.0)
    assert c[2] + c[3] + 2 * c[4] > salt_solubility(30.0) == pytest.approx(0.35)
    assert SnarFlowModel(clogging=False).evaluate(v)["sty"] > 0
    # Dilute, or hot: never clogged.
    for tau, equiv, conc, temp in itertools.product(
        (0.5, 2.0), (1.0, 5.0), (0.1, 0.3), (30.0, 120.0)
    ):
        model.evaluate(point(tau, equiv, conc, temp))
    for tau, equiv, temp in itertools.product((0.5, 1.25, 2.0), (1.0, 3.0, 5.0), (55.0, 120.0)):
        model.evaluate(point(tau, equiv, 0.5, temp))
    # Solubility rises with temperature (endothermic dissolution).
    assert salt_solubility(40.0) < salt_solubility(60.0) < salt_solubility(100.0)


def test_measurement_noise_has_the_stated_spread() -> None:
    model = SnarFlowModel(noise_rel=0.02)
    v = point(1.0, 2.0, 0.3, 75.0)
    truth = model.evaluate(v)
    rng = np.random.default_rng(12345)
    draws = [model.measure(v, rng) for _ in range(600)]
    sty = np.array([d["sty"] for d in draws])
    e = np.array([d["e_factor"] for d in draws])
    # STY is proportional to one concentration: its relative spread is noise_rel.
    # With 600 draws the sample SD is within ~3 % of the truth; allow 15 %.
    assert np.std(sty, ddof=1) / truth["sty"] == pytest.approx(0.02, rel=0.15)
    assert np.mean(sty) == pytest.approx(truth["sty"], rel=0.005)
    # The E-factor is dominated by the solvent over the product: also about 2 %.
    assert np.std(e, ddof=1) / truth["e_factor"] == pytest.approx(0.02, rel=0.2)
    assert np.mean(e) == pytest.approx(truth["e_factor"], rel=0.01)
    quiet = SnarFlowModel(noise_rel=0.0)
    assert quiet.measure(v, rng) == quiet.evaluate(v)
    with pytest.raises(ValueError):
        SnarFlowModel(noise_rel=-0.1)


def test_duration() -> None:
    model = SnarFlowModel()
    # 25 -> 75 degC at 10 K/min = 5 min, 4 x 1 min residence, 10 min HPLC: 19 min.
    assert model.duration_s(point(1.0, 2.0, 0.3, 75.0)) == pytest.approx(19 * 60)
    assert (
        10 * 60
        < model.duration_s(point(0.5, 1, 0.1, 30.0))
        < model.duration_s(point(2.0, 1, 0.1, 120.0))
        < 60 * 60
    )


def test_optimum_constants_reproduce() -> None:
    model = SnarFlowModel()
    assert OPTIMUM_SETTINGS == MAX_STY_SETTINGS
    best = model.evaluate(MAX_STY_SETTINGS)
    assert best["sty"] == pytest.approx(MAX_STY, rel=1e-6)
    assert best == pytest.approx(OPTIMUM_READINGS, rel=1e-4)
    assert model.evaluate(MIN_E_FACTOR_SETTINGS)["e_factor"] == pytest.approx(
        MIN_E_FACTOR, rel=1e-4
    )
    for settings, readings in PARETO_POINTS:
        assert model.evaluate(settings) == pytest.approx(readings, rel=1e-4)
        assert readings["sty"] > REFERENCE_POINT["sty"]
        assert readings["e_factor"] < REFERENCE_POINT["e_factor"]
    stys = [r["sty"] for _, r in PARETO_POINTS]
    es = [r["e_factor"] for _, r in PARETO_POINTS]
    assert stys == sorted(stys) and es == sorted(es)  # a front: trading one for the other
    assert PARETO_POINTS[0][1]["e_factor"] == pytest.approx(MIN_E_FACTOR)
    assert PARETO_POINTS[-1][1]["sty"] == pytest.approx(MAX_STY)


def _feasible(model: SnarFlowModel, v: dict[str, float]) -> dict[str, float] | None:
    try:
        return model.evaluate(v)
    except ExperimentFailed:
        return None


def test_nothing_on_a_grid_beats_the_optimum_or_dominates_the_front() -> None:
    model = SnarFlowModel()
    grid = itertools.product(
        np.linspace(0.5, 2.0, 5), np.linspace(1.0, 5.0, 5), (0.3, 0.4, 0.5), np.linspace(30, 120, 7)
    )
    results = [r for v in grid if (r := _feasible(model, point(*v))) is not None]
    assert len(results) > 400
    assert max(r["sty"] for r in results) <= MAX_STY * (1 + 1e-4)
    assert min(r["e_factor"] for r in results) >= MIN_E_FACTOR * (1 - 1e-4)
    for _, p in PARETO_POINTS:
        for r in results:
            dominates = r["sty"] > p["sty"] * (1 + 1e-3) and r["e_factor"] < p["e_factor"] * (
                1 - 1e-3
            )
            assert not dominates, (p, r)


def test_local_search_does_not_improve_the_optima() -> None:
    model = SnarFlowModel()
    lo = np.array([0.5, 1.0, 0.1, 30.0])
    hi = np.array([2.0, 5.0, 0.5, 120.0])

    def objective(u: np.ndarray, reading: str, sign: float) -> float:
        r = _feasible(model, point(*(lo + np.clip(u, 0, 1) * (hi - lo))))
        return 1e9 if r is None else sign * r[reading]

    for settings, reading, sign, bound in (
        (MAX_STY_SETTINGS, "sty", -1.0, -MAX_STY),
        (MIN_E_FACTOR_SETTINGS, "e_factor", 1.0, MIN_E_FACTOR),
    ):
        start = (np.array(list(settings.values())) - lo) / (hi - lo)
        for u0 in (start, np.full(4, 0.5), np.array([0.1, 0.2, 0.9, 0.6])):
            res = minimize(
                objective,
                u0,
                args=(reading, sign),
                method="Nelder-Mead",
                options={"xatol": 1e-5, "fatol": 1e-6, "maxfev": 150},
            )
            assert res.fun >= bound - abs(bound) * 1e-4
