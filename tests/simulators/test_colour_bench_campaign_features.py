"""What the colour bench offers campaigns beyond one continuous objective: a categorical
actuator (the solvent selector), readings for further objectives and outcome constraints,
and a deterministic failure region; and that none of it changes the default bench."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.protocols import Movable, Readable
from bluesky.utils import FailedStatus
from scipy.optimize import minimize

import genesis_lab_simulators.colour_bench as cb
from genesis_lab.station import Station
from genesis_lab.worker import experiment_plan

TARGET = dict(zip(cb.ACTUATOR_NAMES, cb.TARGET_VOLUMES_ML.tolist(), strict=True))
NO_DYE = dict.fromkeys(cb.ACTUATOR_NAMES, 0.0)

Documents = list[tuple[str, dict[str, Any]]]


def experiment(
    engine: RunEngine, station: Station, setpoints: Mapping[str, float | str]
) -> Documents:
    """Run the worker's own experiment plan; return every document it emitted."""
    docs: Documents = []
    plan = experiment_plan(station.actuators, setpoints, station.detectors, {"trial_id": "t1"})
    try:
        engine(plan, lambda name, doc: docs.append((name, doc)))
    except FailedStatus as exc:
        exc.add_note(f"documents so far: {[name for name, _ in docs]}")
        raise
    return docs


def the_event(docs: Documents) -> dict[str, Any]:
    [event] = [doc for name, doc in docs if name == "event"]
    return event


def the_descriptor(docs: Documents) -> dict[str, Any]:
    [descriptor] = [doc for name, doc in docs if name == "descriptor"]
    return descriptor


def pumps(station: Station) -> dict[str, float]:
    return {name: station.actuators[name].position for name in cb.ACTUATOR_NAMES}  # type: ignore[attr-defined]


def best_error(solvent: str, starts: int = 12) -> tuple[float, np.ndarray]:
    """The lowest noise-free colour_error in ``solvent`` over the box (multi-start L-BFGS-B)."""
    rng = np.random.default_rng(0)
    best = None
    for x0 in rng.uniform(*cb.VOLUME_LIMITS_ML, size=(starts, 3)):
        result = minimize(
            lambda v: cb.colour_error(v, solvent=solvent),
            x0,
            bounds=[cb.VOLUME_LIMITS_ML] * 3,
            method="L-BFGS-B",
        )
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    return float(best.fun), best.x


# --- the model ---------------------------------------------------------------------------


def test_water_is_the_reference_and_its_shift_is_the_identity() -> None:
    assert cb.REFERENCE_SOLVENT == cb.SOLVENTS[0] == "water"
    assert np.array_equal(cb.shift_matrix(0.0), np.eye(len(cb.BANDS_NM)))
    for v in ([3.2, 6.1, 1.5], [0.0, 10.0, 4.0], [7.5, 2.0, 9.0]):
        assert np.array_equal(cb.absorbances(v, "water"), cb.absorbances(v))
    red = cb.shift_matrix(0.3)
    assert red[1, 0] == pytest.approx(0.3) and red[1, 1] == pytest.approx(0.7)
    assert red[0, 1] == 0.0  # towards the red: from the shorter band only
    with pytest.raises(ValueError, match="unknown solvent 'toluene'; choose one of: water"):
        cb.absorbances([1.0, 1.0, 1.0], "toluene")


@pytest.mark.parametrize("solvent", cb.SOLVENTS)
def test_only_water_can_match_the_target(solvent: str) -> None:
    error, where = best_error(solvent)
    assert error == pytest.approx(cb.SOLVENT_BEST_ERROR[solvent], abs=0.01)
    if solvent == cb.REFERENCE_SOLVENT:
        assert np.allclose(where, cb.TARGET_VOLUMES_ML, atol=1e-3)
    else:
        # Well above the noise floor of the noisiest campaign (100 * 0.01 * sqrt(4) = 2).
        assert error > 6.0
        assert cb.colour_error(cb.TARGET_VOLUMES_ML, solvent=solvent) > error


def test_less_dye_always_matches_worse_so_dye_and_error_trade_off() -> None:
    def best_with_at_most(total_mL: float) -> float:
        cap = {"type": "ineq", "fun": lambda v: total_mL - v.sum()}
        starts = np.random.default_rng(1).uniform(0.0, total_mL / 3, size=(6, 3))
        return min(
            minimize(cb.colour_error, x0, bounds=[cb.VOLUME_LIMITS_ML] * 3, constraints=[cap]).fun
            for x0 in starts
        )

    front = [best_with_at_most(total) for total in (4.0, 7.0, 10.0, 10.8)]
    assert front[0] > front[1] > front[2] > 0.5  # a genuine front: each mL of dye buys colour
    assert front[3] == pytest.approx(0.0, abs=1e-3)
    assert cb.total_dye(cb.TARGET_VOLUMES_ML) == pytest.approx(10.8)
    assert cb.dye_cost(cb.TARGET_VOLUMES_ML) == pytest.approx(6.49)


def test_transmittance_cost_and_the_failure_region_in_the_model() -> None:
    assert cb.min_transmittance(cb.absorbances([0.0, 0.0, 0.0])) == 100.0
    at_optimum = cb.min_transmittance(cb.TARGET_ABSORBANCES)
    assert at_optimum == pytest.approx(100 * 10 ** -cb.TARGET_ABSORBANCES.max())
    assert 9.0 < at_optimum < 10.0
    grid = np.linspace(*cb.VOLUME_LIMITS_ML, 11)
    darkest = min(cb.min_transmittance(cb.absorbances(v)) for v in itertools.product(*[grid] * 3))
    assert 3.0 < darkest < 3.5
    assert cb.dye_cost([1.0, 0.0, 0.0]) == pytest.approx(cb.DYE_PRICE_EUR_PER_ML[0])
    assert not cb.precipitates([9.0, 9.0, 9.0], None)
    assert cb.precipitates([5.0, 5.0, 5.01], 15.0)
    assert not cb.precipitates([5.0, 5.0, 5.0], 15.0)  # the limit itself is still fine


def test_objective_takes_an_optional_solvent() -> None:
    assert cb.objective(TARGET) == cb.objective({**TARGET, "solvent": "water"}) == 0.0
    assert cb.objective({**TARGET, "solvent": "ethanol"}) > cb.SOLVENT_BEST_ERROR["ethanol"]
    with pytest.raises(ValueError, match="solvent must name a solvent"):
        cb.objective({**TARGET, "solvent": 1.0})


# --- the solvent selector under a real RunEngine -----------------------------------------


def test_selector_is_a_movable_readable_choice_without_limits(make_station: Any) -> None:
    assert "solvent" not in make_station().actuators  # only when the option fits it
    station = make_station(solvent_selector=True)
    selector = station.actuators["solvent"]
    assert isinstance(selector, Movable) and isinstance(selector, Readable)
    assert isinstance(selector, cb.SolventSelector)
    assert station.limits("solvent") is None
    assert selector.read()["solvent"]["value"] == "water"
    description = selector.describe()["solvent"]
    assert (description["dtype"], description["choices"]) == ("string", list(cb.SOLVENTS))
    with pytest.raises(ValueError, match="distinct and not empty"):
        cb.SolventSelector(name="s", choices=[])
    with pytest.raises(cb.UnknownChoiceError, match="'oil' is not one of its choices"):
        cb.SolventSelector(name="s", value="oil")


@pytest.mark.parametrize("solvent", cb.SOLVENTS)
def test_selector_accepts_each_choice_and_only_water_reaches_the_optimum(
    run_engine: RunEngine, make_station: Any, solvent: str
) -> None:
    station = make_station(solvent_selector=True, noise_std=0.0)
    docs = experiment(run_engine, station, {"solvent": solvent, **TARGET})
    data = the_event(docs)["data"]
    assert data["solvent"] == solvent
    assert the_descriptor(docs)["data_keys"]["solvent"]["choices"] == list(cb.SOLVENTS)
    if solvent == "water":
        assert data["spectro_colour_error"] == pytest.approx(0.0, abs=1e-9)
    else:
        assert data["spectro_colour_error"] > cb.SOLVENT_BEST_ERROR[solvent]


@pytest.mark.parametrize("bad", ["toluene", "Water", "", 1.0])
def test_selector_refuses_an_unknown_choice_and_nothing_moves(
    run_engine: RunEngine, make_station: Any, bad: object
) -> None:
    station = make_station(solvent_selector=True)
    experiment(run_engine, station, {"solvent": "ethanol", **NO_DYE})
    with pytest.raises(FailedStatus) as excinfo:
        experiment(run_engine, station, {"solvent": bad, **TARGET})  # type: ignore[dict-item]
    cause = excinfo.value.__cause__
    assert isinstance(cause, cb.UnknownChoiceError) and isinstance(cause, ValueError)
    assert (cause.device, cause.value, cause.choices) == ("solvent", bad, cb.SOLVENTS)
    assert f"{bad!r} is not one of its choices (water, ethanol, glycerol, acetone)" in str(cause)
    assert station.actuators["solvent"].get() == "ethanol"  # type: ignore[attr-defined]
    assert pumps(station) == NO_DYE  # set before the pumps, the refusal stops the plan
    status = station.actuators["solvent"].set(bad)
    assert status.done and not status.success


def test_a_bench_with_the_selector_on_water_reads_as_one_without(
    run_engine: RunEngine, make_station: Any
) -> None:
    plain = make_station(seed=5, noise_std=0.02)
    fitted = make_station(seed=5, noise_std=0.02, solvent_selector=True)
    for volumes in (TARGET, {**TARGET, "pump_cyan": 8.0}):
        without = the_event(experiment(run_engine, plain, volumes))["data"]
        water = the_event(experiment(run_engine, fitted, {"solvent": "water", **volumes}))["data"]
        assert {key: water[key] for key in without} == without


# --- further readings ----------------------------------------------------------------------


def test_new_readings_appear_in_events_with_units(run_engine: RunEngine, make_station: Any) -> None:
    station = make_station(noise_std=0.0)
    docs = experiment(run_engine, station, TARGET)
    data, keys = the_event(docs)["data"], the_descriptor(docs)["data_keys"]
    expected = {
        "spectro_min_transmittance": ("%", cb.min_transmittance(cb.TARGET_ABSORBANCES)),
        "dosing_total_dye": ("mL", 10.8),
        "dosing_dye_cost": ("EUR", 6.49),
    }
    for key, (units, value) in expected.items():
        assert keys[key]["units"] == station.units[key] == units
        assert keys[key]["dtype"] == "number"
        assert data[key] == pytest.approx(value)
    docs = experiment(run_engine, station, NO_DYE)
    assert the_event(docs)["data"]["spectro_min_transmittance"] == 100.0
    assert the_event(docs)["data"]["dosing_total_dye"] == 0.0


def test_defaults_give_the_readings_of_the_bench_before_these_features(
    run_engine: RunEngine, make_station: Any
) -> None:
    # Recorded from the bench as it was before the selector, the new readings and the
    # failure region (seed 7, noise 0.002): the same draws, bit for bit.
    golden = [  # cyan, magenta, yellow (mL), colour_error, absorbance at 550 nm
        ([3.2, 6.1, 1.5], 0.21580359645506866, 1.01526427086794),
        ([0.0, 10.0, 4.0], 61.45802946096571, 1.2960744104923092),
        ([7.5, 2.0, 9.0], 89.32600393346428, 0.6046325704040901),
    ]
    station = make_station(seed=7, noise_std=0.002)
    for volumes, error, a550 in golden:
        setpoints = dict(zip(cb.ACTUATOR_NAMES, volumes, strict=True))
        data = the_event(experiment(run_engine, station, setpoints))["data"]
        assert (data["spectro_colour_error"], data["spectro_absorbance_550"]) == (error, a550)


# --- the failure region --------------------------------------------------------------------


def test_failure_region_fails_every_time_and_nowhere_else(
    run_engine: RunEngine, make_station: Any
) -> None:
    station = make_station(precipitate_above_ml=15.0, noise_std=0.0)
    inside = {"pump_cyan": 5.0, "pump_magenta": 6.0, "pump_yellow": 4.5}  # 15.5 mL
    edge = {"pump_cyan": 5.0, "pump_magenta": 6.0, "pump_yellow": 4.0}  # 15.0 mL
    for _ in range(3):
        with pytest.raises(FailedStatus) as excinfo:
            experiment(run_engine, station, inside)
        cause = excinfo.value.__cause__
        assert isinstance(cause, cb.PrecipitationError)
        assert isinstance(cause, cb.InjectedFaultError)  # fails like the injected fault
        assert (cause.device, cause.total_dye_mL, cause.limit_mL) == ("spectro", 15.5, 15.0)
        assert "the dyes precipitated (15.5 mL of dye in all" in str(cause)
        for volumes in (TARGET, edge, NO_DYE):
            assert the_event(experiment(run_engine, station, volumes))["data"]
    off = make_station(noise_std=0.0)  # off by default: the same experiment succeeds
    assert the_event(experiment(run_engine, off, inside))["data"]["dosing_total_dye"] == 15.5
