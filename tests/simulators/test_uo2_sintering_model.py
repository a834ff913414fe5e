"""The UO2 sintering model against the published equations, worked independently.

Theta over a linear ramp has a closed form through the exponential integral E1 (the model
integrates numerically): with u = Q/(R T), integral (1/T) exp(-Q/(R T)) dT = -E1(u) + C,
and integral exp(-Q/(R T)) dT = T exp(-u) - (Q/R) E1(u) + C.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import exp1

import genesis_lab_simulators.uo2_sintering as pkg
from genesis_lab_simulators._domain import DomainModel, ExperimentFailed
from genesis_lab_simulators.uo2_sintering import (
    ATMOSPHERES,
    DENSITY_WINDOW_PCT_TD,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    UO2Sintering,
)

R = 8.314462618
T_ROOM = 298.15


def point(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "uo2_peak_temperature": 1700.0,
        "uo2_hold_time": 4.0,
        "uo2_heating_rate": 5.0,
        "uo2_atmosphere": "H2",
        "uo2_cr2o3": 0.0,
    }
    values.update(changes)
    return values


def theta_closed_form(peak_c: float, hold_h: float, rate: float, q: float) -> float:
    """Theta (s/K): E1 closed form on the ramps (heating at rate, cooling at 5 K/min)."""
    tp = peak_c + 273.15
    ramp = exp1(q / (R * tp)) - exp1(q / (R * T_ROOM))  # integral dT/T exp(-Q/RT)
    return ramp * (60.0 / rate + 60.0 / 5.0) + hold_h * 3600.0 * math.exp(-q / (R * tp)) / tp


def grain_closed_form(peak_c: float, hold_h: float, rate: float, multiplier: float) -> float:
    """Ainscough: D^2 = D0^2 + 2 * 5.24e7 * multiplier * integral exp(-32100/T) dt (h)."""
    tp, a = peak_c + 273.15, 32100.0

    def antiderivative(t: float) -> float:
        return t * math.exp(-a / t) - a * exp1(a / t)

    ramp = antiderivative(tp) - antiderivative(T_ROOM)
    time_h = ramp * (1.0 / (60.0 * rate) + 1.0 / (60.0 * 5.0)) + hold_h * math.exp(-a / tp)
    return math.sqrt(2.0**2 + 2.0 * 5.24e7 * multiplier * time_h)


def density_from_theta(theta: float, log10_mid: float) -> float:
    return 55.0 + (98.5 - 55.0) / (1.0 + math.exp(-(math.log10(theta) - log10_mid) / 0.9))


@pytest.fixture
def model() -> UO2Sintering:
    return UO2Sintering()


def test_contract_and_public_face(model: UO2Sintering) -> None:
    assert isinstance(model, DomainModel)
    assert sorted(pkg.__all__) == sorted(n for n in dir(pkg) if not n.startswith("_"))
    assert model.name == "uo2"
    for s in model.settings:
        assert re.fullmatch(r"uo2_[a-z0-9_]+", s.name)
    assert [r.name for r in model.readings] == ["density", "grain_size"]
    assert {r.units for r in model.readings} == {"%TD", "um"}
    assert set(model.defaults()) == {s.name for s in model.settings}
    assert "Su" in model.source and "Ainscough" in model.source


def test_hold_adds_isothermal_work_of_sintering() -> None:
    # 1700 degC = 1973.15 K; Q/R = 360000/8.314462618 = 43298.0 K; Q/(R T) = 21.9436;
    # exp(-21.9436) = 2.951e-10; / 1973.15 K = 1.4957e-13 1/K; extra 3.5 h = 12600 s
    # -> Delta Theta = 1.8846e-9 s/K.
    long = pkg.work_of_sintering(1700.0, 4.0, 5.0, 360e3)
    short = pkg.work_of_sintering(1700.0, 0.5, 5.0, 360e3)
    assert long - short == pytest.approx(1.8846e-9, rel=1e-4)


def test_ramp_integral_matches_exponential_integral() -> None:
    cases = [(1700.0, 4.0, 5.0, 360e3), (1400.0, 0.5, 1.0, 250e3), (1800.0, 10.0, 12.0, 360e3)]
    for peak, hold, rate, q in cases:
        assert pkg.work_of_sintering(peak, hold, rate, q) == pytest.approx(
            theta_closed_form(peak, hold, rate, q), rel=1e-8
        )
        check_grain_growth_time(peak, hold, rate)


def check_grain_growth_time(peak: float, hold: float, rate: float) -> None:
    tp = peak + 273.15
    a = 32100.0
    ramp = (tp * math.exp(-a / tp) - a * exp1(a / tp)) - (
        T_ROOM * math.exp(-a / T_ROOM) - a * exp1(a / T_ROOM)
    )
    expected = ramp * (1 / (60 * rate) + 1 / 300) + hold * math.exp(-a / tp)
    assert pkg.grain_growth_time(peak, hold, rate) == pytest.approx(expected, rel=1e-8)


def test_standard_cycle_hand_worked(model: UO2Sintering) -> None:
    # Theta = hold 14400 s * 1.4957e-13 = 2.154e-9 plus both ramps (E1 closed form, about
    # 0.33e-9: the heating ramp counts about R T^2/Q / r = 89.9 K / (5/60 K/s) = 1079 s,
    # the cooling ramp as much again) -> log10 Theta = -8.60; (-8.60 + 11.1)/0.9 = 2.77;
    # 55 + 43.5 / (1 + e^-2.77) = 95.9 %TD.
    theta = theta_closed_form(1700.0, 4.0, 5.0, 360e3)
    assert math.log10(theta) == pytest.approx(-8.60, abs=0.01)
    readings = model.evaluate(point())
    assert readings["density"] == pytest.approx(density_from_theta(theta, -11.1), rel=1e-9)
    assert readings["density"] == pytest.approx(95.9, abs=0.05)
    # grain: 2 k = 1.048e8 exp(-32100/1973.15) = 9.0 um2/h; x (4 h + about 0.73 h of
    # ramps, E1 closed form) = 42.6 um2; sqrt(4 + 42.6) = 6.83 um.
    assert readings["grain_size"] == pytest.approx(grain_closed_form(1700, 4, 5, 1.0), rel=1e-8)
    assert readings["grain_size"] == pytest.approx(6.83, abs=0.06)


def test_atmosphere_and_dopant_shift_the_curve(model: UO2Sintering) -> None:
    # CO2: Theta with Q = 250 kJ/mol and midpoint -11.1 - log10(3)
    # + (360e3 - 250e3) / (R * 1973.15 * ln 10) = -11.1 - 0.4771 + 2.9118 = -8.6653.
    v = point(uo2_peak_temperature=1500.0, uo2_atmosphere="CO2", uo2_hold_time=2.0)
    expected_mid = -11.1 - math.log10(3.0) + 110e3 / (R * 1973.15 * math.log(10.0))
    assert expected_mid == pytest.approx(-8.6653, abs=1e-3)
    theta = theta_closed_form(1500.0, 2.0, 5.0, 250e3)
    readings = model.evaluate(v)
    assert readings["density"] == pytest.approx(density_from_theta(theta, expected_mid), 1e-9)
    assert readings["grain_size"] == pytest.approx(grain_closed_form(1500, 2, 5, 2.5), 1e-8)
    # 0.12 wt% Cr2O3 (the solubility) in Ar-5%H2: densification x 1.5, grain growth
    # x 1.2 * 25 = 30.
    v = point(uo2_atmosphere="Ar-5%H2", uo2_cr2o3=0.12)
    mid = -11.1 - math.log10(1.3) - math.log10(1.5)
    readings = model.evaluate(v)
    theta = theta_closed_form(1700.0, 4.0, 5.0, 360e3)
    assert readings["density"] == pytest.approx(density_from_theta(theta, mid), rel=1e-9)
    assert readings["grain_size"] == pytest.approx(grain_closed_form(1700, 4, 5, 30.0), 1e-8)
    # 0.22 wt%: past the solubility, pinning: M = 1 + 24 / (1 + 0.1/0.1) = 13.
    readings = model.evaluate(point(uo2_atmosphere="Ar-5%H2", uo2_cr2o3=0.22))
    assert readings["grain_size"] == pytest.approx(grain_closed_form(1700, 4, 5, 1.2 * 13), 1e-8)


def test_master_sintering_curve_path_independence(model: UO2Sintering) -> None:
    # Same atmosphere, same Theta by different paths -> same density (the MSC's claim),
    # while grain growth (a different activation energy) tells the paths apart.
    target = pkg.work_of_sintering(1600.0, 8.0, 5.0, 360e3)

    def gap(hold: float) -> float:
        return pkg.work_of_sintering(1700.0, hold, 2.0, 360e3) - target

    hold = brentq(gap, 0.0, 10.0, xtol=1e-12)
    a = model.evaluate(point(uo2_peak_temperature=1600.0, uo2_hold_time=8.0))
    b = model.evaluate(point(uo2_peak_temperature=1700.0, uo2_hold_time=hold, uo2_heating_rate=2))
    assert a["density"] == pytest.approx(b["density"], abs=1e-9)
    assert a["grain_size"] != pytest.approx(b["grain_size"], rel=1e-3)


def test_monotonicity_and_bounds(model: UO2Sintering) -> None:
    for atm in ATMOSPHERES:
        by_t = [
            model.evaluate(point(uo2_peak_temperature=t, uo2_atmosphere=atm))
            for t in np.linspace(1400, 1800, 9)
        ]
        by_h = [
            model.evaluate(point(uo2_hold_time=h, uo2_atmosphere=atm))
            for h in np.linspace(0.5, 10, 9)
        ]
        by_r = [
            model.evaluate(point(uo2_heating_rate=r, uo2_atmosphere=atm))
            for r in np.linspace(1, 12, 9)
        ]
        for series, sign in ((by_t, 1), (by_h, 1), (by_r, -1)):
            for key in ("density", "grain_size"):
                steps = np.diff([s[key] for s in series]) * sign
                assert np.all(steps > 0), (atm, key)
        for s in by_t + by_h + by_r:
            assert 55.0 < s["density"] < 98.5 and s["grain_size"] > 2.0
    # Lower oxygen potential sinters slower: at 1400 degC CO2 > Ar-5%H2 > H2.
    dens = [
        model.evaluate(point(uo2_peak_temperature=1400, uo2_atmosphere=a))["density"]
        for a in ("H2", "Ar-5%H2", "CO2")
    ]
    assert dens[0] < dens[1] < dens[2]
    # Cr2O3 coarsens most at its solubility limit and every doped pellet beats undoped.
    grains = [model.evaluate(point(uo2_cr2o3=w))["grain_size"] for w in np.linspace(0, 0.4, 21)]
    assert int(np.argmax(grains)) == 6 and min(grains[1:]) > grains[0]  # 6 * 0.02 = 0.12


def test_cracked_pellets(model: UO2Sintering) -> None:
    model.evaluate(point(uo2_heating_rate=12.0, uo2_cr2o3=0.4))  # on the bounds: intact
    for bad in (point(uo2_heating_rate=12.5), point(uo2_cr2o3=0.45), point(uo2_heating_rate=20)):
        with pytest.raises(ExperimentFailed) as info:
            model.evaluate(bad)
        assert info.value.mode == "cracked"
        with pytest.raises(ExperimentFailed):
            model.measure(bad, np.random.default_rng(0))


def test_bad_input_is_refused(model: UO2Sintering) -> None:
    with pytest.raises(ValueError, match="atmosphere"):
        model.evaluate(point(uo2_atmosphere="air"))
    with pytest.raises(ValueError, match="outside"):
        model.evaluate(point(uo2_peak_temperature=1900.0))
    values = point()
    del values["uo2_cr2o3"]
    with pytest.raises(ValueError, match="missing"):
        model.evaluate(values)
    with pytest.raises(ValueError):
        UO2Sintering(noise_scale=-1.0)


def test_noise_has_the_stated_spread(model: UO2Sintering) -> None:
    rng = np.random.default_rng(20260101)
    clean = model.evaluate(point())
    draws = [model.measure(point(), rng) for _ in range(4000)]
    density = np.array([d["density"] for d in draws])
    log_grain = np.log([d["grain_size"] for d in draws])
    # sd of a 4000-sample sd is about sigma / sqrt(8000) = 1.1 %: 10 % is ~9 sigma.
    assert density.std(ddof=1) == pytest.approx(0.15, rel=0.1)
    assert log_grain.std(ddof=1) == pytest.approx(0.05, rel=0.1)
    assert density.mean() == pytest.approx(clean["density"], abs=0.02)  # 0.15/63 = 0.0024
    assert log_grain.mean() == pytest.approx(math.log(clean["grain_size"]), abs=0.005)
    quiet = UO2Sintering(noise_scale=0.0)
    assert quiet.measure(point(), rng) == quiet.evaluate(point())


def test_duration_is_the_furnace_program(model: UO2Sintering) -> None:
    # 1675 K span: 1675/5 = 335 min up, 4 h hold, 335 min down -> 15.167 h.
    assert model.duration_s(point()) == pytest.approx((335 + 240 + 335) * 60.0)
    assert model.duration_s(point(uo2_heating_rate=1.0)) > model.duration_s(point())


def test_optimum_constants(model: UO2Sintering) -> None:
    readings = model.evaluate(OPTIMUM_SETTINGS)
    assert readings == pytest.approx(OPTIMUM_READINGS, rel=1e-9)
    low, high = DENSITY_WINDOW_PCT_TD
    assert readings["density"] == pytest.approx(low, abs=1e-6)
    best = OPTIMUM_READINGS["grain_size"]
    # Dense grid over every setting: no intact pellet in the window has finer grains.
    grid = itertools.product(
        ATMOSPHERES,
        np.linspace(1400, 1800, 13),
        np.linspace(0.5, 10, 31),
        (1.0, 1.5, 2.0, 4.0, 8.0, 12.0),
        (0.0, 0.02, 0.06, 0.12, 0.3, 0.4),
    )
    feasible = 0
    for atm, t, h, r, w in grid:
        v = point(
            uo2_atmosphere=atm,
            uo2_peak_temperature=t,
            uo2_hold_time=h,
            uo2_heating_rate=r,
            uo2_cr2o3=w,
        )
        out = model.evaluate(v)
        if low <= out["density"] <= high:
            feasible += 1
            assert out["grain_size"] >= best - 1e-6, v
    assert feasible > 1000
    # Locally, along the window's edge: nudging temperature, ramp or dopant inward and
    # re-solving the hold for density = 94.5 only coarsens the grains.
    for dt, dr, dw in ((5, 0, 0), (0, 0.2, 0), (0, 0, 0.005), (5, 0.2, 0.005)):
        v = dict(OPTIMUM_SETTINGS)
        v["uo2_peak_temperature"] = 1400.0 + dt
        v["uo2_heating_rate"] = 1.0 + dr
        v["uo2_cr2o3"] = dw

        def gap(hold: float, v: dict[str, Any] = v) -> float:
            return model.evaluate({**v, "uo2_hold_time": hold})["density"] - low

        v["uo2_hold_time"] = brentq(gap, 0.5, 10.0, xtol=1e-12)
        assert model.evaluate(v)["grain_size"] > best
