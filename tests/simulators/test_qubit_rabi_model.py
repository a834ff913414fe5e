"""The qubit X-pulse model against the published equations, worked by hand.

"Ideal" below is a qubit with no decay (T1 = T2 = 1e12 us), an anharmonicity so large that
the Stark shift and the leakage vanish (-1e12 MHz), and perfect readout, so that the
readings are the textbook Rabi formula P = Omega^2/Omega_g^2 sin^2(Omega_g t / 2).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.optimize import minimize

import genesis_lab_simulators.qubit_rabi as qubit_rabi
from genesis_lab_simulators._domain import DomainModel, ExperimentFailed
from genesis_lab_simulators.qubit_rabi import (
    BEST_FIDELITY_READINGS,
    BEST_FIDELITY_SETTINGS,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    READOUT_LOST_ENERGY_MHZ2_NS,
    READOUT_LOST_RABI_MHZ,
    QubitRabiModel,
)

NAMES = ("qubit_rabi_mhz", "qubit_detuning_mhz", "qubit_duration_ns", "qubit_drag")


def point(rabi: float, detuning: float, duration: float, drag: float = 1.0) -> dict[str, float]:
    return dict(zip(NAMES, (rabi, detuning, duration, drag), strict=True))


def ideal(**options: float) -> QubitRabiModel:
    base: dict[str, float] = {
        "t1_us": 1e12,
        "t2_us": 1e12,
        "anharmonicity_mhz": -1e12,
        "readout_error_0to1": 0.0,
        "readout_error_1to0": 0.0,
    }
    base.update(options)
    return QubitRabiModel(**base)  # type: ignore[arg-type]


# -- the contract ---------------------------------------------------------------------


def test_public_names_are_exported():
    assert sorted(qubit_rabi.__all__) == sorted(
        name for name in vars(qubit_rabi) if not name.startswith("_") and name != "annotations"
    )
    for name in qubit_rabi.__all__:
        assert hasattr(qubit_rabi, name)


def test_declares_settings_and_readings_with_units():
    model = QubitRabiModel()
    assert isinstance(model, DomainModel)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", model.name)
    assert tuple(s.name for s in model.settings) == NAMES
    for setting in model.settings:
        assert re.fullmatch(r"qubit_[a-z0-9_]+", setting.name)
        assert setting.limits is not None
        low, high = setting.limits
        assert low <= float(setting.default) <= high
        assert setting.description
    assert {s.units for s in model.settings} == {"MHz", "ns", ""}
    assert [r.name for r in model.readings] == ["excited_population", "gate_fidelity"]
    assert all(r.units == "fraction" for r in model.readings)
    assert "Motzoi" in model.source and "Rabi" in model.source
    readings = model.evaluate(model.defaults())
    assert set(readings) == {"excited_population", "gate_fidelity"}


def test_rejects_unphysical_options():
    for options in (
        {"t1_us": 0.0},
        {"t1_us": 10.0, "t2_us": 25.0},  # T2 > 2 T1 is unphysical
        {"anharmonicity_mhz": 0.0},
        {"shots": 0},
        {"readout_error_0to1": 0.6},
        {"fidelity_rel_noise": -0.1},
    ):
        with pytest.raises(ValueError):
            QubitRabiModel(**options)  # type: ignore[arg-type]


# -- hand-worked points ---------------------------------------------------------------


def test_resonant_pi_pulse_inverts_the_ideal_qubit():
    # f_R = 25 MHz, t = 20 ns: Omega t = 2 pi * 25 MHz * 0.020 us = pi, sin^2(pi/2) = 1.
    readings = ideal().evaluate(point(25.0, 0.0, 20.0))
    assert readings["excited_population"] == pytest.approx(1.0, abs=1e-12)
    # F_coh = 1, D = 1, L = 0: F_pro = 1, F_avg = (2 + 1)/3 = 1.
    assert readings["gate_fidelity"] == pytest.approx(1.0, abs=1e-12)


def test_half_pulse_gives_half_population_and_two_thirds_fidelity_bound():
    # t = 10 ns: Omega t = pi/2, P = sin^2(pi/4) = 0.5. F_pro = 0.5 -> F_avg = (1 + 1)/3.
    readings = ideal().evaluate(point(25.0, 0.0, 10.0))
    assert readings["excited_population"] == pytest.approx(0.5, abs=1e-12)
    assert readings["gate_fidelity"] == pytest.approx(2.0 / 3.0, abs=1e-12)


def test_detuned_rabi_formula():
    # f_R = 3 MHz, delta = 4 MHz: generalised f = sqrt(9 + 16) = 5 MHz, contrast 9/25 = 0.36.
    # t = 100 ns: Omega_g t = 2 pi * 5 * 0.1 = pi, so P = 0.36 * sin^2(pi/2) = 0.36.
    model = ideal()
    assert model.evaluate(point(3.0, 4.0, 100.0))["excited_population"] == pytest.approx(
        0.36, abs=1e-12
    )
    # t = 50 ns: Omega_g t = pi/2, P = 0.36 * 0.5 = 0.18.
    assert model.evaluate(point(3.0, 4.0, 50.0))["excited_population"] == pytest.approx(
        0.18, abs=1e-12
    )
    # The sign of the detuning does not matter.
    assert model.evaluate(point(3.0, -4.0, 50.0))["excited_population"] == pytest.approx(
        0.18, abs=1e-12
    )


def test_readout_assignment_errors():
    # p = e01 (1 - P1) + (1 - e10) P1 with e01 = 0.02, e10 = 0.05:
    # P1 = 1 -> 0.95; P1 = 0.5 -> 0.01 + 0.475 = 0.485; P1 = 0 (t = 0) -> 0.02.
    model = ideal(readout_error_0to1=0.02, readout_error_1to0=0.05)
    assert model.evaluate(point(25.0, 0.0, 20.0))["excited_population"] == pytest.approx(0.95)
    assert model.evaluate(point(25.0, 0.0, 10.0))["excited_population"] == pytest.approx(0.485)
    assert model.evaluate(point(25.0, 0.0, 0.0))["excited_population"] == pytest.approx(0.02)


def test_decay_during_a_pi_pulse():
    # T1 = 50 us, T2 = 40 us: Gamma_R = 1/100 + 1/80 = 0.0225 /us; t = 0.02 us:
    # exp(-0.00045) = 0.9995501012, P = (1 + 0.9995501012)/2 = 0.9997750506.
    # D = (1 + exp(-0.0004) + 2 exp(-0.0005))/4 = (1 + 0.9996000800 + 1.9990002500)/4
    #   = 0.9996500825; F_avg = (2 * 0.9996500825 + 1)/3 = 0.9997667217.
    model = ideal(t1_us=50.0, t2_us=40.0)
    readings = model.evaluate(point(25.0, 0.0, 20.0))
    assert readings["excited_population"] == pytest.approx(0.9997750506, abs=1e-9)
    assert readings["gate_fidelity"] == pytest.approx(0.9997667217, abs=1e-9)


def test_stark_shift_and_leakage_of_a_transmon():
    # f_a = -250 MHz, f_R = 25 MHz: delta_S = -625/(2 * -250) = +1.25 MHz;
    # f_R/f_a = -0.1: L(beta=0) = 0.01/2 + 0.0001/4 = 0.005025, L(beta=1) = 0.000025,
    # L(beta=2) = L(beta=0), L(beta=0.5) = 0.25 * 0.005 + 0.000025 = 0.001275.
    model = QubitRabiModel()
    assert model.stark_shift_mhz(25.0) == pytest.approx(1.25)
    assert model.leakage(25.0, 0.0) == pytest.approx(0.005025)
    assert model.leakage(25.0, 1.0) == pytest.approx(0.000025)
    assert model.leakage(25.0, 2.0) == pytest.approx(0.005025)
    assert model.leakage(25.0, 0.5) == pytest.approx(0.001275)
    # Driving at the Stark-shifted frequency recovers the ideal pi pulse times (1 - L).
    transmon = ideal(anharmonicity_mhz=-250.0)
    for drag, leak in ((0.0, 0.005025), (1.0, 0.000025)):
        p = transmon.evaluate(point(25.0, 1.25, 20.0, drag))["excited_population"]
        assert p == pytest.approx(1.0 - leak, abs=1e-12)
    # Driving at the bare frequency leaves Delta = -1.25 MHz: contrast 625/626.5625.
    p = transmon.evaluate(point(25.0, 0.0, 20.0))["excited_population"]
    assert p < 0.9976 * (1.0 - 0.000025)


# -- limiting cases and what the physics demands --------------------------------------


def test_strong_decay_saturates_at_one_half():
    # T1 = T2 = 0.01 us: Gamma_R = 100 /us, after 0.2 us exp(-20) ~ 2e-9.
    model = ideal(t1_us=0.01, t2_us=0.01)
    for duration in (200.0, 190.0, 175.0):
        p = model.evaluate(point(10.0, 0.0, duration))["excited_population"]
        assert p == pytest.approx(0.5, abs=1e-8)


def test_population_is_symmetric_about_the_stark_shifted_frequency_and_peaks_there():
    model = QubitRabiModel()
    shift = model.stark_shift_mhz(25.0)
    peak = model.evaluate(point(25.0, shift, 20.0))["excited_population"]
    previous = peak
    for offset in (0.5, 1.0, 2.0, 4.0, 8.0):
        up = model.evaluate(point(25.0, shift + offset, 20.0))["excited_population"]
        down = model.evaluate(point(25.0, shift - offset, 20.0))["excited_population"]
        assert up == pytest.approx(down, abs=1e-12)
        assert up < previous
        previous = up


def test_leakage_grows_away_from_beta_one_and_with_drive():
    model = QubitRabiModel()
    fidelities = [
        model.evaluate(point(25.0, 1.25, 20.0, drag))["gate_fidelity"]
        for drag in (1.0, 0.75, 0.5, 0.0, -1.0)
    ]
    assert fidelities == sorted(fidelities, reverse=True)
    leaks = [model.leakage(f, 0.0) for f in (5.0, 10.0, 20.0, 40.0, 75.0)]
    assert leaks == sorted(leaks)
    assert all(0.0 <= leak <= 1.0 for leak in leaks)


def test_shorter_coherence_only_lowers_the_readings():
    good = QubitRabiModel(t1_us=100.0, t2_us=100.0)
    bad = QubitRabiModel(t1_us=5.0, t2_us=3.0)
    x = point(25.0, 1.25, 20.0)
    for name in ("excited_population", "gate_fidelity"):
        assert bad.evaluate(x)[name] < good.evaluate(x)[name]


def test_readings_stay_physical_everywhere():
    model = QubitRabiModel()
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(2000):
        x = point(
            rng.uniform(1.0, 100.0),
            rng.uniform(-10.0, 10.0),
            rng.uniform(2.0, 200.0),
            rng.uniform(-1.0, 2.0),
        )
        try:
            readings = model.evaluate(x)
        except ExperimentFailed:
            continue
        checked += 1
        # Assignment errors bound the fraction read as excited: [e01, 1 - e10].
        assert 0.02 - 1e-12 <= readings["excited_population"] <= 0.95 + 1e-12
        # A qubit average gate fidelity lies in [1/3, 1] (F_pro in [0, 1]).
        assert 1.0 / 3.0 - 1e-12 <= readings["gate_fidelity"] <= 1.0
    assert checked > 500


# -- the failure region ---------------------------------------------------------------


def test_readout_is_lost_for_too_strong_or_too_energetic_pulses():
    model = QubitRabiModel()
    for x in (
        point(READOUT_LOST_RABI_MHZ + 1.0, 0.0, 6.0),  # drive saturates the resonator
        point(95.0, 0.0, 2.0),
        point(50.0, 0.0, 100.0),  # 2500 * 100 = 2.5e5 > 2e5 MHz^2 ns: heating
        point(40.0, 0.0, 200.0),  # 1600 * 200 = 3.2e5
    ):
        with pytest.raises(ExperimentFailed) as failure:
            model.evaluate(x)
        assert failure.value.mode == "readout_lost"
        with pytest.raises(ExperimentFailed):
            model.measure(x, np.random.default_rng(0))
        assert model.duration_s(x) > 0.0


def test_readout_survives_just_inside_the_limits():
    model = QubitRabiModel()
    # At the amplitude limit, and at 50^2 * 79.9 = 199750 MHz^2 ns < 2e5.
    assert READOUT_LOST_ENERGY_MHZ2_NS == 2.0e5
    for x in (point(READOUT_LOST_RABI_MHZ, 0.0, 2.0), point(50.0, 0.0, 79.9), OPTIMUM_SETTINGS):
        readings = model.evaluate(x)
        assert 0.0 < readings["excited_population"] < 1.0
        assert 0.0 < readings["gate_fidelity"] <= 1.0


# -- noise ----------------------------------------------------------------------------


def test_population_has_binomial_shot_noise():
    model = QubitRabiModel(shots=1000)
    x = point(25.0, 1.25, 10.0)  # near a half pulse: the largest shot noise
    p = model.evaluate(x)["excited_population"]
    rng = np.random.default_rng(20240611)
    draws = np.array([model.measure(x, rng)["excited_population"] for _ in range(3000)])
    # Readings are whole shot counts.
    assert np.allclose(draws * 1000, np.round(draws * 1000))
    sigma = math.sqrt(p * (1.0 - p) / 1000)  # ~0.0158
    assert abs(draws.mean() - p) < 5.0 * sigma / math.sqrt(draws.size)
    assert draws.std(ddof=1) == pytest.approx(sigma, rel=0.1)


def test_fewer_shots_are_noisier():
    x = point(25.0, 1.25, 10.0)
    rng = np.random.default_rng(3)
    spread = {}
    for shots in (100, 10_000):
        model = QubitRabiModel(shots=shots)
        spread[shots] = np.std([model.measure(x, rng)["excited_population"] for _ in range(500)])
    # sqrt(10000 / 100) = 10 times; allow a wide margin.
    assert 6.0 < spread[100] / spread[10_000] < 15.0


def test_fidelity_noise_is_relative_on_the_infidelity():
    model = QubitRabiModel(fidelity_rel_noise=0.1)
    x = point(25.0, 1.25, 20.0, 0.5)
    infidelity = 1.0 - model.evaluate(x)["gate_fidelity"]
    rng = np.random.default_rng(11)
    logs = np.log(
        [(1.0 - model.measure(x, rng)["gate_fidelity"]) / infidelity for _ in range(3000)]
    )
    assert abs(logs.mean()) < 5.0 * 0.1 / math.sqrt(logs.size)
    assert logs.std(ddof=1) == pytest.approx(0.1, rel=0.1)
    quiet = QubitRabiModel(fidelity_rel_noise=0.0)
    assert quiet.measure(x, rng)["gate_fidelity"] == pytest.approx(1.0 - infidelity, abs=1e-15)


# -- duration -------------------------------------------------------------------------


def test_duration_is_minutes_and_grows_with_shots_and_pulse_length():
    model = QubitRabiModel()
    short = model.duration_s(point(25.0, 0.0, 20.0))
    long = model.duration_s(point(25.0, 0.0, 200.0))
    assert 60.0 < short < long < 3600.0
    assert QubitRabiModel(shots=10_000).duration_s(point(25.0, 0.0, 20.0)) > short


# -- the optimum ----------------------------------------------------------------------


def _objective(model: QubitRabiModel, key: str, x: np.ndarray) -> float:
    lows = np.array([s.limits[0] for s in model.settings])  # type: ignore[index]
    highs = np.array([s.limits[1] for s in model.settings])  # type: ignore[index]
    if np.any(x < lows) or np.any(x > highs):
        return 1.0
    try:
        return -model.evaluate(dict(zip(NAMES, x, strict=True)))[key]
    except ExperimentFailed:
        return 1.0


@pytest.mark.parametrize(
    ("key", "settings", "readings"),
    [
        ("excited_population", OPTIMUM_SETTINGS, OPTIMUM_READINGS),
        ("gate_fidelity", BEST_FIDELITY_SETTINGS, BEST_FIDELITY_READINGS),
    ],
)
def test_optimum_constants_are_the_best_points(key, settings, readings):
    model = QubitRabiModel()
    at_optimum = model.evaluate(settings)
    for name, value in readings.items():
        assert at_optimum[name] == pytest.approx(value, abs=1e-9)
    best = at_optimum[key]
    # Zero effective detuning and first-order DRAG.
    assert settings["qubit_detuning_mhz"] == pytest.approx(
        model.stark_shift_mhz(settings["qubit_rabi_mhz"]), abs=1e-8
    )
    assert settings["qubit_drag"] == 1.0

    # Multi-start Nelder-Mead over all four settings finds nothing better.
    rng = np.random.default_rng(5)
    starts = [np.array(list(settings.values())) * rng.uniform(0.9, 1.1, 4) for _ in range(4)]
    for _ in range(8):
        rabi = rng.uniform(8.0, 60.0)
        starts.append(
            np.array(
                [
                    rabi,
                    rng.uniform(-3.0, 5.0),
                    rng.uniform(0.7, 1.3) * 500.0 / rabi,
                    rng.uniform(-1.0, 2.0),
                ]
            )
        )
    for start in starts:
        result = minimize(
            lambda x: _objective(model, key, x),
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-13, "maxiter": 4000},
        )
        assert -result.fun <= best + 1e-9

    # A dense grid over Rabi frequency and pulse area, at the best detuning and DRAG.
    for rabi in np.linspace(5.0, 75.0, 141):
        shift = model.stark_shift_mhz(float(rabi))
        t_pi = 500.0 / rabi  # ns: Omega t = pi
        for duration in np.linspace(0.9 * t_pi, 1.1 * t_pi, 41):
            value = model.evaluate(point(float(rabi), shift, float(duration)))[key]
            assert value <= best + 1e-12


def test_population_optimum_is_just_short_of_a_pi_rotation():
    # For fixed Omega, dP/dt = 0 gives tan(Omega t) = -Gamma_R/Omega, so
    # Omega t = pi - atan(Gamma_R/Omega); Gamma_R = 1/(2*50) + 1/(2*40) = 0.0225 /us.
    omega = 2.0 * math.pi * OPTIMUM_SETTINGS["qubit_rabi_mhz"]
    angle = omega * OPTIMUM_SETTINGS["qubit_duration_ns"] * 1e-3
    assert angle == pytest.approx(math.pi - math.atan(0.0225 / omega), abs=1e-7)
    # Error budget at the optimum: decay ~ Gamma_R t / 2 plus residual leakage (f_R/f_a)^4/4,
    # then readout maps P1 ~ 1 - eps to 0.95 - 0.93 eps.
    t_us = OPTIMUM_SETTINGS["qubit_duration_ns"] * 1e-3
    ratio = OPTIMUM_SETTINGS["qubit_rabi_mhz"] / 250.0
    eps = 0.0225 * t_us / 2.0 + ratio**4 / 4.0
    assert OPTIMUM_READINGS["excited_population"] == pytest.approx(0.95 - 0.93 * eps, abs=1e-6)
