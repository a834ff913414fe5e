"""The CVD film model against Grove's equations worked by hand, its limits, conservation of
silane, its failure region, its noise and its optimum."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import qmc

import genesis_lab_simulators.cvd_film as cvd_film
from genesis_lab_simulators._domain import DomainModel, ExperimentFailed
from genesis_lab_simulators.cvd_film import (
    GROWTH_RATE_MIN,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    UNCONSTRAINED_OPTIMUM_READINGS,
    UNCONSTRAINED_OPTIMUM_SETTINGS,
    CvdFilmModel,
)

K_B_EV = 8.617333262e-5
NAMES = ("cvd_temperature", "cvd_pressure", "cvd_silane_flow", "cvd_carrier_flow")


def point(temperature: float, pressure: float, silane: float, carrier: float) -> dict[str, float]:
    return dict(zip(NAMES, (temperature, pressure, silane, carrier), strict=True))


@pytest.fixture
def model() -> CvdFilmModel:
    return CvdFilmModel()


# -- the contract ------------------------------------------------------------------------


def test_declares_settings_and_readings_with_units(model: CvdFilmModel) -> None:
    assert isinstance(model, DomainModel)
    assert model.name == "cvd"
    assert tuple(s.name for s in model.settings) == NAMES
    for setting in model.settings:
        assert re.fullmatch(r"cvd_[a-z0-9_]+", setting.name)
        assert setting.units and setting.limits is not None and setting.description
        assert setting.limits[0] <= float(setting.default) <= setting.limits[1]
    assert {s.name: s.units for s in model.settings} == {
        "cvd_temperature": "degC",
        "cvd_pressure": "Torr",
        "cvd_silane_flow": "sccm",
        "cvd_carrier_flow": "sccm",
    }
    assert {r.name: r.units for r in model.readings} == {
        "growth_rate": "nm/min",
        "non_uniformity": "%",
    }
    assert "Grove" in model.source
    assert set(model.evaluate(model.defaults())) == {"growth_rate", "non_uniformity"}


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(cvd_film).items()
        if not name.startswith("_") and not isinstance(value, type(cvd_film))
    } - {"annotations"}
    assert sorted(cvd_film.__all__) == sorted(set(cvd_film.__all__))
    assert set(cvd_film.__all__) == public


def test_rejects_missing_or_out_of_range_settings(model: CvdFilmModel) -> None:
    with pytest.raises(ValueError, match="missing setting 'cvd_carrier_flow'"):
        model.evaluate({"cvd_temperature": 650.0, "cvd_pressure": 10.0, "cvd_silane_flow": 50.0})
    with pytest.raises(ValueError, match="outside its limits"):
        model.evaluate(point(1200.0, 10.0, 50.0, 10000.0))
    with pytest.raises(ValueError, match="noise_scale"):
        CvdFilmModel(noise_scale=-1.0)


# -- Grove's equations, worked by hand ---------------------------------------------------


def test_leading_edge_growth_rate_worked_by_hand(model: CvdFilmModel) -> None:
    # 700 degC, 10 Torr, 100 sccm SiH4, 10000 sccm H2; at the leading edge x = 5 cm (xi = 0),
    # where no silane is used up yet and the wafer is at its edge temperature.
    #   T = 973.15 K; dT(10 Torr) = 1.5 * (150 + 3000) / (150 + 3000 * 10/15) = 2.19767 K
    #   T(x0) = 973.15 - 2.19767 = 970.952 K
    #   k_s = 1.34e9 * exp(-1.7 / (8.617333e-5 * 970.952)) = 1.34e9 * 1.49990e-9 = 2.00987 cm/s
    #   D = 0.5 * (973.15 / 273.15)**1.75 * 760 / 10 = 0.5 * 9.23874 * 76 = 351.072 cm^2/s
    #   mu = 8.9e-5 * (973.15 / 300)**0.68 = 1.98112e-4 poise
    #   rho = (10 * 1333.22 dyn/cm^2) * 2.016 / (8.31446e7 * 973.15) = 3.32185e-7 g/cm^3
    #   nu = mu / rho = 596.390 cm^2/s
    #   Q = 10100 / 60 * 76 * 973.15 / 273.15 = 45578.7 cm^3/s; U = Q / (15 * 2.5) = 1215.43 cm/s
    #   delta = sqrt(596.390 * 5 / 1215.43) = 1.56633 cm; h_g = 351.072 / 1.56633 = 224.136 cm/s
    #   C_g = (100 / 10100) * 10 * 133.322 / (1.380649e-23 * 973.15) * 1e-6 = 9.82468e14 cm^-3
    #   k_eff = 2.00987 * 224.136 / (2.00987 + 224.136) = 1.99200 cm/s
    #   G = 1.99200 * 9.82468e14 / 5e22 cm/s = 3.91418e-8 cm/s = 23.4850 nm/min
    profile = model.wafer_profile(point(700.0, 10.0, 100.0, 10000.0))
    assert profile.temperature_K[0] == pytest.approx(970.952, rel=1e-6)
    assert profile.k_s_cm_s[0] == pytest.approx(2.00987, rel=1e-5)
    assert profile.h_g_cm_s[0] == pytest.approx(224.136, rel=1e-5)
    assert profile.silane_cm3[0] == pytest.approx(9.82468e14, rel=1e-5)
    assert profile.growth_rate_nm_min[0] == pytest.approx(23.4850, rel=1e-5)
    # the centre is 2.2 K hotter: faster, despite some silane used up on the way
    centre = profile.growth_rate_nm_min.size // 2
    assert profile.temperature_K[centre] == pytest.approx(973.15)
    assert profile.growth_rate_nm_min[centre] > profile.growth_rate_nm_min[0]


def test_nucleation_onset_and_edge_temperature_worked_by_hand() -> None:
    # P_crit(1073.15 K) = 1 Torr (the reference); P_crit(1173.15 K) = exp(1.0 / 8.617333e-5 *
    # (1/1173.15 - 1/1073.15)) = exp(11604.52 * -7.94303e-5) = exp(-0.921750) = 0.397822 Torr
    assert cvd_film.critical_silane_pressure_torr(1073.15) == pytest.approx(1.0)
    assert cvd_film.critical_silane_pressure_torr(1173.15) == pytest.approx(0.397822, rel=1e-5)
    # dT(P) = 1.5 * 3150 / (150 + 3000 * P / (P + 5)): 1.5 K at infinite pressure,
    # 1.5 * 3150 / (150 + 3000 * 0.5 / 5.5) = 11.1774 K at 0.5 Torr
    assert cvd_film.edge_temperature_drop_K(0.5) == pytest.approx(11.1774, rel=1e-5)
    assert cvd_film.edge_temperature_drop_K(1e9) == pytest.approx(1.5, rel=1e-6)
    drops = [cvd_film.edge_temperature_drop_K(p) for p in (0.5, 1.0, 10.0, 100.0)]
    assert drops == sorted(drops, reverse=True)


# -- limiting cases ----------------------------------------------------------------------


def test_reaction_limited_at_low_temperature_and_pressure(model: CvdFilmModel) -> None:
    # 560-580 degC at 0.5 Torr: h_g is thousands of times k_s, so G = k_s C_g / N at the
    # wafer centre (T = T_s), and the Arrhenius slope of G is Ea - k T (C_g ~ 1/T).
    rates = {}
    for temperature in (560.0, 580.0):
        profile = model.wafer_profile(point(temperature, 0.5, 200.0, 1000.0))
        centre = profile.growth_rate_nm_min.size // 2
        assert np.min(profile.h_g_cm_s / profile.k_s_cm_s) > 1000.0
        T = temperature + 273.15
        k_s = 1.34e9 * math.exp(-1.7 / (K_B_EV * T))
        c_g = (200.0 / 1200.0) * 0.5 * 133.322368 / (1.380649e-23 * T) * 1e-6
        grove = k_s * c_g / 5e22 * 6e8
        assert profile.growth_rate_nm_min[centre] == pytest.approx(grove, rel=2e-3)
        rates[T] = profile.growth_rate_nm_min[centre]
    (t1, g1), (t2, g2) = sorted(rates.items())
    apparent = K_B_EV * math.log(g2 / g1) / (1.0 / t1 - 1.0 / t2)
    assert apparent == pytest.approx(1.7 - K_B_EV * (t1 + t2) / 2.0, rel=5e-3)


def test_growth_scales_with_pressure_only_where_the_surface_reaction_limits(
    model: CvdFilmModel,
) -> None:
    # at a fixed silane fraction, C_g ~ P: reaction-limited G ~ P; transport-limited
    # G ~ h_g C_g ~ (1/P) P, independent of P
    def ratio(temperature: float) -> float:
        low = model.evaluate(point(temperature, 25.0, 5.0, 20000.0))["growth_rate"]
        high = model.evaluate(point(temperature, 50.0, 5.0, 20000.0))["growth_rate"]
        return high / low

    assert ratio(560.0) == pytest.approx(2.0, rel=0.02)
    assert ratio(950.0) < 1.4


def test_transport_limitation_flattens_the_arrhenius_plot(model: CvdFilmModel) -> None:
    def apparent_ea(temperature: float, pressure: float) -> float:
        t1, t2 = temperature + 273.15, temperature + 283.15
        g1 = model.evaluate(point(temperature, pressure, 5.0, 20000.0))["growth_rate"]
        g2 = model.evaluate(point(temperature + 10.0, pressure, 5.0, 20000.0))["growth_rate"]
        return K_B_EV * math.log(g2 / g1) / (1.0 / t1 - 1.0 / t2)

    assert apparent_ea(560.0, 1.0) > 1.5
    assert apparent_ea(930.0, 100.0) < 0.6


def test_temperature_profile_alone_sets_non_uniformity_without_depletion(
    model: CvdFilmModel,
) -> None:
    # 560 degC, 0.5 Torr, 5 sccm in 20000 sccm: no depletion, no transport limit; only
    # the parabolic temperature profile remains, G_i ~ exp(-Ea / k T_i)
    values = point(560.0, 0.5, 5.0, 20000.0)
    xi = np.linspace(0.0, 1.0, 49)
    temperatures = 833.15 - 11.1774 * (2.0 * xi - 1.0) ** 2
    rates = np.exp(-1.7 / (K_B_EV * temperatures))
    expected = 100.0 * np.std(rates, ddof=1) / np.mean(rates)
    assert expected > 5.0  # the 11 K edge drop at 0.5 Torr matters
    assert model.evaluate(values)["non_uniformity"] == pytest.approx(expected, rel=2e-3)


# -- conservation and monotonicity -------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [point(900.0, 5.0, 5.0, 1000.0), point(700.0, 10.0, 100.0, 10000.0), point(950, 100, 5, 1000)],
)
def test_silane_fed_equals_silane_leaving_plus_silicon_deposited(
    model: CvdFilmModel, values: dict[str, float]
) -> None:
    profile = model.wafer_profile(values)
    # feed: Q_p sccm * 2.68678e19 molecules per standard cm^3 / 60 s
    assert profile.feed_molecules_s == pytest.approx(values["cvd_silane_flow"] / 60 * 2.68678e19)
    entering = profile.silane_cm3[0] * profile.gas_flow_cm3_s
    assert entering == pytest.approx(profile.feed_molecules_s, rel=1e-5)
    leaving = profile.silane_cm3[-1] * profile.gas_flow_cm3_s
    growth_cm_s = profile.growth_rate_nm_min / 6e8
    deposited = 15.0 * 5e22 * np.trapezoid(growth_cm_s, profile.position_cm)  # W N integral G
    assert entering - leaving == pytest.approx(deposited, rel=1e-3)
    assert np.all(np.diff(profile.silane_cm3) < 0.0)


def test_heavy_depletion_makes_the_trailing_edge_starve(model: CvdFilmModel) -> None:
    profile = model.wafer_profile(point(950.0, 5.0, 5.0, 1000.0))
    used = 1.0 - profile.silane_cm3[-1] / profile.silane_cm3[0]
    assert used > 0.5
    assert profile.growth_rate_nm_min[-1] < 0.5 * profile.growth_rate_nm_min[0]


def test_more_carrier_flow_means_less_depletion_and_slower_growth(model: CvdFilmModel) -> None:
    used, growth = [], []
    for carrier in (1000.0, 3000.0, 10000.0, 20000.0):
        profile = model.wafer_profile(point(850.0, 20.0, 20.0, carrier))
        used.append(1.0 - profile.silane_cm3[-1] / profile.silane_cm3[0])
        growth.append(model.evaluate(point(850.0, 20.0, 20.0, carrier))["growth_rate"])
    assert used == sorted(used, reverse=True)
    assert growth == sorted(growth, reverse=True)


def test_growth_rate_rises_with_temperature_and_silane_flow(model: CvdFilmModel) -> None:
    by_temperature = [
        model.evaluate(point(t, 5.0, 20.0, 10000.0))["growth_rate"]
        for t in np.linspace(550.0, 950.0, 17)
    ]
    assert np.all(np.diff(by_temperature) > 0.0)
    by_silane = [
        model.evaluate(point(650.0, 10.0, q, 10000.0))["growth_rate"]
        for q in np.linspace(5.0, 200.0, 14)
    ]
    assert np.all(np.diff(by_silane) > 0.0)


# -- the failure region ------------------------------------------------------------------


def test_gas_phase_nucleation_fails_hot_with_much_silane(model: CvdFilmModel) -> None:
    hazy = point(950.0, 100.0, 200.0, 1000.0)  # 16.7 Torr of silane at 950 degC
    with pytest.raises(ExperimentFailed, match="gas-phase nucleation") as failed:
        model.evaluate(hazy)
    assert failed.value.mode == "gas_phase_nucleation"
    with pytest.raises(ExperimentFailed) as failed:
        model.measure(hazy, np.random.default_rng(0))
    assert failed.value.mode == "gas_phase_nucleation"
    assert 60.0 < model.duration_s(hazy) < 3 * 3600.0  # the failed run still took time


def test_nucleation_onset_is_sharp_at_the_critical_partial_pressure(model: CvdFilmModel) -> None:
    # at 900 degC the onset is 0.397822 Torr (worked above); at 10 Torr total that is a
    # silane fraction of 0.0397822, i.e. Q_c = Q_p * (1 / Y - 1)
    silane = 100.0
    for factor, fails in ((0.99, False), (1.01, True)):
        fraction = factor * 0.397822 / 10.0
        values = point(900.0, 10.0, silane, silane * (1.0 / fraction - 1.0))
        if fails:
            with pytest.raises(ExperimentFailed):
                model.evaluate(values)
        else:
            assert model.evaluate(values)["growth_rate"] > 0.0


def test_the_whole_cold_low_pressure_corner_is_feasible(model: CvdFilmModel) -> None:
    for temperature in (550.0, 650.0, 750.0):
        for silane, carrier in ((5.0, 20000.0), (200.0, 1000.0)):
            assert model.evaluate(point(temperature, 0.5, silane, carrier))["growth_rate"] > 0


# -- noise and duration ------------------------------------------------------------------


def test_without_noise_measure_equals_evaluate() -> None:
    quiet = CvdFilmModel(noise_scale=0.0)
    values = point(700.0, 10.0, 100.0, 10000.0)
    measured = quiet.measure(values, np.random.default_rng(1))
    for name, value in quiet.evaluate(values).items():
        assert measured[name] == pytest.approx(value, rel=1e-12)


def test_measurement_noise_has_the_stated_spread(model: CvdFilmModel) -> None:
    # at the optimum: 100 nm/min for 2 min = 200 nm; per point sigma = hypot(0.3, 0.003 * 200)
    # = 0.671 nm. Growth rate: 1 % run-to-run, plus 0.671 / 7 / 2 = 0.048 nm/min from the map
    # mean, so sigma = hypot(1.0, 0.048) = 1.001 nm/min. Non-uniformity: the point noise adds
    # in quadrature, mean sqrt(1.5624**2 + (100 * 0.671 / 200)**2) = 1.598 %, and spreads it
    # by about 100 * 0.671 / 200 / sqrt(48) = 0.0484 %.
    rng = np.random.default_rng(20261129)
    draws = [model.measure(OPTIMUM_SETTINGS, rng) for _ in range(2000)]
    growth = np.array([d["growth_rate"] for d in draws])
    spread = np.array([d["non_uniformity"] for d in draws])
    assert np.mean(growth) == pytest.approx(100.0, abs=0.15)
    assert np.std(growth, ddof=1) == pytest.approx(1.001, rel=0.1)
    assert np.mean(spread) == pytest.approx(1.598, rel=0.02)
    assert np.std(spread, ddof=1) == pytest.approx(0.0484, rel=0.2)
    again = np.random.default_rng(20261129)
    assert model.measure(OPTIMUM_SETTINGS, again) == draws[0]


def test_noise_is_relative_growth_noise_everywhere_it_is_measurable() -> None:
    model = CvdFilmModel(noise_scale=2.0)
    values = point(800.0, 20.0, 50.0, 5000.0)
    true = model.evaluate(values)["growth_rate"]
    rng = np.random.default_rng(7)
    growth = np.array([model.measure(values, rng)["growth_rate"] for _ in range(1000)])
    # noise_scale 2: 2 % run-to-run dominates
    assert np.std(growth, ddof=1) / true == pytest.approx(0.02, rel=0.12)


def test_duration_worked_by_hand_and_within_minutes_to_hours(model: CvdFilmModel) -> None:
    # optimum: 120 s load + (628.686 - 400) / 5 = 45.737 s heating + 120 s stabilising +
    # 200 nm / 100.0001 nm/min = 119.9999 s depositing + 300 s unloading = 705.737 s
    assert model.duration_s(OPTIMUM_SETTINGS) == pytest.approx(705.737, abs=1e-2)
    # slowest: 550 degC, 0.5 Torr, little silane: the deposition stops after 2 h
    slow = point(550.0, 0.5, 5.0, 20000.0)
    assert model.duration_s(slow) == pytest.approx(120 + 30 + 120 + 7200 + 300)
    assert model.duration_s(slow) / 3600.0 == pytest.approx(2.158, abs=1e-3)  # hours
    # 650 degC, 10 Torr, 100 sccm SiH4: 8.5117 nm/min, so 200 / 8.5117 * 60 = 1409.82 s
    # depositing and 120 + 50 + 120 + 1409.82 + 300 = 1999.82 s; less silane, slower growth,
    # longer runs, up to the 2 h stop (5 and 20 sccm)
    durations = [model.duration_s(point(650.0, 10.0, q, 10000.0)) for q in (100.0, 50.0, 20.0, 5.0)]
    assert durations[0] == pytest.approx(1999.82, abs=0.05)
    assert durations == sorted(durations)
    assert durations[-1] == pytest.approx(120 + 50 + 120 + 7200 + 300)


# -- the optimum -------------------------------------------------------------------------

_LOW = np.array([550.0, 0.5, 5.0, 1000.0])
_HIGH = np.array([950.0, 100.0, 200.0, 20000.0])


def _readings(model: CvdFilmModel, x: np.ndarray) -> dict[str, float] | None:
    try:
        return model.evaluate(dict(zip(NAMES, np.clip(x, _LOW, _HIGH).tolist(), strict=True)))
    except ExperimentFailed:
        return None


def test_optimum_constants_match_the_model(model: CvdFilmModel) -> None:
    readings = model.evaluate(OPTIMUM_SETTINGS)
    assert readings["growth_rate"] >= GROWTH_RATE_MIN
    for name, value in OPTIMUM_READINGS.items():
        assert readings[name] == pytest.approx(value, rel=1e-5)
    unconstrained = model.evaluate(UNCONSTRAINED_OPTIMUM_SETTINGS)
    for name, value in UNCONSTRAINED_OPTIMUM_READINGS.items():
        assert unconstrained[name] == pytest.approx(value, rel=1e-5)
    assert unconstrained["growth_rate"] < GROWTH_RATE_MIN  # the constraint binds


def test_a_sobol_scan_finds_nothing_better_than_the_optimum(model: CvdFilmModel) -> None:
    unit = qmc.Sobol(d=4, seed=3).random_base2(m=12)
    best = math.inf
    best_any = math.inf
    for x in _LOW + unit * (_HIGH - _LOW):
        readings = _readings(model, x)
        if readings is None:
            continue
        best_any = min(best_any, readings["non_uniformity"])
        if readings["growth_rate"] >= GROWTH_RATE_MIN:
            best = min(best, readings["non_uniformity"])
    assert best >= OPTIMUM_READINGS["non_uniformity"] - 1e-6
    assert best < 3.0 * OPTIMUM_READINGS["non_uniformity"]  # the scan did reach good regions
    assert best_any >= UNCONSTRAINED_OPTIMUM_READINGS["non_uniformity"] - 1e-6


def test_local_searches_from_many_starts_find_nothing_better(model: CvdFilmModel) -> None:
    def x_of(u: np.ndarray) -> np.ndarray:
        return _LOW + np.clip(u, 0.0, 1.0) * (_HIGH - _LOW)

    def objective(u: np.ndarray) -> float:
        readings = _readings(model, x_of(u))
        return 50.0 if readings is None else readings["non_uniformity"]

    def growth_margin(u: np.ndarray) -> float:
        readings = _readings(model, x_of(u))
        return -1.0 if readings is None else readings["growth_rate"] / GROWTH_RATE_MIN - 1.0

    starts = np.random.default_rng(11).uniform(0.0, 1.0, size=(6, 4))
    starts[:, 0] = np.linspace(0.05, 0.4, 6)  # mostly below the nucleation region
    for start in starts:
        result = minimize(
            objective,
            start,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * 4,
            constraints=[{"type": "ineq", "fun": growth_margin}],
            options={"maxiter": 200, "ftol": 1e-10},
        )
        assert result.success, result.message
        assert growth_margin(result.x) >= -1e-6
        # nothing better, and every start ends at the same (unique) optimum
        assert result.fun == pytest.approx(OPTIMUM_READINGS["non_uniformity"], abs=1e-4)
        for name, value in zip(NAMES, x_of(result.x), strict=True):
            assert value == pytest.approx(OPTIMUM_SETTINGS[name], rel=1e-3)


def test_every_small_step_from_the_optimum_is_worse_or_too_slow(model: CvdFilmModel) -> None:
    centre = np.array([OPTIMUM_SETTINGS[name] for name in NAMES])
    best = OPTIMUM_READINGS["non_uniformity"]
    for i in range(4):
        for sign in (-1.0, 1.0):
            x = centre.copy()
            x[i] = np.clip(x[i] + sign * 0.01 * (_HIGH[i] - _LOW[i]), _LOW[i], _HIGH[i])
            if x[i] == centre[i]:
                continue
            readings = _readings(model, x)
            assert readings is not None
            assert readings["growth_rate"] < GROWTH_RATE_MIN or readings["non_uniformity"] > best
