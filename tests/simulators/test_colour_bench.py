"""The colour-bench simulator: its model, its Ophyd devices under real Bluesky plans, its plugin."""

from __future__ import annotations

import itertools
import time
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.protocols import Movable, Readable, Triggerable
from bluesky.utils import FailedStatus
from ophyd.utils.errors import LimitError

import genesis_lab_simulators.colour_bench as cb
from genesis_lab.errors import StationError
from genesis_lab.spec import StationRef
from genesis_lab.station import Station, StationPlugin, build_station, load_station_plugin

READINGS = [
    "spectro_absorbance_450",
    "spectro_absorbance_500",
    "spectro_absorbance_550",
    "spectro_absorbance_650",
    "spectro_colour_error",
]
NEW_READINGS = ["spectro_min_transmittance", "dosing_total_dye", "dosing_dye_cost"]
TARGET = dict(zip(cb.ACTUATOR_NAMES, cb.TARGET_VOLUMES_ML.tolist(), strict=True))

Documents = list[tuple[str, dict[str, Any]]]


def run(engine: RunEngine, plan: Any) -> Documents:
    docs: Documents = []
    engine(plan, lambda name, doc: docs.append((name, doc)))
    return docs


def events(docs: Documents) -> list[dict[str, Any]]:
    return [doc for name, doc in docs if name == "event"]


def move_to(station: Station, volumes: dict[str, float]) -> Any:
    args: list[Any] = []
    for name, value in volumes.items():
        args.extend([station.actuators[name], value])
    return bps.mv(*args)


def assert_descriptors_match_events(docs: Documents) -> None:
    descriptors = {doc["uid"]: doc for name, doc in docs if name == "descriptor"}
    assert descriptors
    for event in events(docs):
        data_keys = descriptors[event["descriptor"]]["data_keys"]
        assert set(event["data"]) == set(data_keys)
        for key, value in event["data"].items():
            assert data_keys[key]["dtype"] == "number"
            assert isinstance(value, float), key


# --- model -------------------------------------------------------------------------------


def test_optimum_is_zero_at_the_target_volumes() -> None:
    assert cb.colour_error(cb.TARGET_VOLUMES_ML) == pytest.approx(cb.OPTIMAL_VALUE, abs=1e-12)
    assert cb.objective(TARGET) == pytest.approx(0.0, abs=1e-12)
    low, high = cb.VOLUME_LIMITS_ML
    assert all(low < v < high for v in cb.TARGET_VOLUMES_ML)


def test_target_is_the_unique_minimum_on_a_grid() -> None:
    grid = np.linspace(*cb.VOLUME_LIMITS_ML, 11)
    errors = [cb.colour_error(v) for v in itertools.product(grid, grid, grid)]
    assert min(errors) > 1.0  # no grid point (none is the target) comes near zero
    assert max(errors) > 100.0


def test_error_grows_away_from_the_target() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        steps = [cb.colour_error(cb.TARGET_VOLUMES_ML + t * direction) for t in (0.2, 0.6, 1.2)]
        assert 0.0 < steps[0] < steps[1] < steps[2]


def test_absorbances_are_well_conditioned_and_physical() -> None:
    assert len(cb.BANDS_NM) >= 3
    assert np.linalg.cond(cb.ABSORPTIVITY) < 5.0
    assert np.allclose(cb.absorbances([0.0, 0.0, 0.0]), 0.0)
    assert np.all(cb.TARGET_ABSORBANCES > 0.1)
    with pytest.raises(ValueError, match="finite and >= 0"):
        cb.absorbances([-1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="3 dye volumes"):
        cb.absorbances([1.0, 2.0])


def test_noise_is_deterministic_per_seed() -> None:
    def draws(seed: int) -> list[float]:
        rng = np.random.default_rng(seed)
        return [cb.colour_error(cb.TARGET_VOLUMES_ML, rng, 0.01) for _ in range(5)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_noise_has_the_configured_std() -> None:
    rng = np.random.default_rng(123)
    samples = np.array([cb.measure(cb.TARGET_VOLUMES_ML, rng, 0.05) for _ in range(2000)])
    residuals = samples - cb.TARGET_ABSORBANCES
    assert np.allclose(residuals.std(axis=0), 0.05, rtol=0.1)
    assert np.allclose(residuals.mean(axis=0), 0.0, atol=0.01)


def test_objective_needs_exactly_the_actuator_names() -> None:
    with pytest.raises(ValueError, match=r"missing \['pump_yellow'\], unknown \['pump_x'\]"):
        cb.objective({"pump_cyan": 1.0, "pump_magenta": 1.0, "pump_x": 1.0})
    with pytest.raises(ValueError, match="pass a numpy Generator"):
        cb.objective(TARGET, noise_std=0.1)


# --- devices under real plans ------------------------------------------------------------


def test_station_shape(make_station: Any) -> None:
    station = make_station()
    assert sorted(station.actuators) == sorted(cb.ACTUATOR_NAMES)
    for name, pump in station.actuators.items():
        assert pump.name == name
        assert isinstance(pump, Movable) and isinstance(pump, Readable)
        assert station.limits(name) == (0.0, 10.0)
        assert pump.describe()[name]["units"] == "mL"
    spectro, dosing = station.detectors
    assert (spectro.name, dosing.name) == ("spectro", "dosing")
    for detector in station.detectors:
        assert isinstance(detector, Triggerable) and isinstance(detector, Readable)
    assert station.readings() == [*READINGS, *NEW_READINGS]
    assert list(spectro.read()) == [*READINGS, "spectro_min_transmittance"]
    assert station.units["spectro_colour_error"] == "ΔA×100"
    assert station.units["spectro_absorbance_450"] == "AU"
    assert station.units["pump_cyan"] == "mL"


def test_count_at_the_target_reads_the_optimum(run_engine: RunEngine, make_station: Any) -> None:
    station = make_station(noise_std=0.0)
    run(run_engine, move_to(station, TARGET))
    docs = run(run_engine, bp.count(station.detectors, num=2))
    assert_descriptors_match_events(docs)
    for event in events(docs):
        assert event["data"]["spectro_colour_error"] == pytest.approx(0.0, abs=1e-9)
        assert event["data"]["spectro_absorbance_550"] == pytest.approx(
            cb.TARGET_ABSORBANCES[cb.BANDS_NM.index(550)]
        )
    descriptor = next(doc for name, doc in docs if name == "descriptor")
    assert descriptor["data_keys"]["spectro_colour_error"]["units"] == "ΔA×100"
    assert descriptor["configuration"]["spectro"]["data"]["spectro_noise_std"] == 0.0


def test_scan_moves_a_pump_and_matches_the_model(run_engine: RunEngine, make_station: Any) -> None:
    station = make_station(noise_std=0.0)
    docs = run(run_engine, bp.scan(station.detectors, station.actuators["pump_cyan"], 0, 10, 5))
    assert_descriptors_match_events(docs)
    rows = events(docs)
    assert [e["data"]["pump_cyan"] for e in rows] == [0.0, 2.5, 5.0, 7.5, 10.0]
    for e in rows:
        expected = cb.colour_error([e["data"]["pump_cyan"], 0.0, 0.0])
        assert e["data"]["spectro_colour_error"] == pytest.approx(expected)


def test_list_scan_with_noise_is_deterministic_per_seed(
    run_engine: RunEngine, make_station: Any
) -> None:
    def errors(seed: int) -> list[float]:
        station = make_station(noise_std=0.02, seed=seed)
        pump = station.actuators["pump_magenta"]
        docs = run(run_engine, bp.list_scan(station.detectors, pump, [0.0, 6.1, 9.0]))
        assert_descriptors_match_events(docs)
        return [e["data"]["spectro_colour_error"] for e in events(docs)]

    assert errors(3) == errors(3)
    assert errors(3) != errors(4)


def test_move_outside_limits_fails_before_moving(run_engine: RunEngine, make_station: Any) -> None:
    station = make_station()
    pump = station.actuators["pump_yellow"]
    run(run_engine, bps.mv(pump, 4.0))
    for bad in (10.5, -0.1, float("nan")):
        with pytest.raises((LimitError, ValueError)):
            run(run_engine, bps.mv(pump, bad))
        assert pump.position == 4.0
    with pytest.raises(LimitError, match=r"pump_yellow: 20\.0 mL is outside"):
        pump.set(20.0)
    assert pump.position == 4.0


def test_latency_still_completes(run_engine: RunEngine, make_station: Any) -> None:
    station = make_station(noise_std=0.0, latency_s=0.05)
    run(run_engine, move_to(station, TARGET))
    started = time.monotonic()
    docs = run(run_engine, bp.count(station.detectors, num=2))
    assert time.monotonic() - started >= 0.1
    assert [e["data"]["spectro_colour_error"] for e in events(docs)] == pytest.approx([0.0, 0.0])


def test_pump_latency_and_fault_injection(run_engine: RunEngine) -> None:
    slow = cb.DyePump(name="pump_slow", latency_s=0.05)
    clogged = cb.DyePump(name="pump_clogged", fault_rate=1.0, rng=np.random.default_rng(0))
    try:
        status = slow.set(2.0)
        assert not status.done
        status.wait(timeout=2)
        assert slow.position == 2.0
        run(run_engine, bps.mv(slow, 3.0))
        assert slow.position == 3.0
        with pytest.raises(FailedStatus) as excinfo:
            run(run_engine, bps.mv(clogged, 5.0))
        assert isinstance(excinfo.value.__cause__, cb.InjectedFaultError)
        assert "clogged (injected fault)" in str(excinfo.value.__cause__)
        assert clogged.position == 0.0
    finally:
        slow.close()
        clogged.close()


def test_stop_abandons_a_measurement_in_flight(make_station: Any) -> None:
    spectro = make_station(latency_s=5.0).detectors[0]
    status = spectro.trigger()
    assert not status.done
    spectro.stop()
    assert status.done and not status.success
    assert "stopped before it finished" in str(status.exception())


@pytest.mark.parametrize("latency_s", [0.0, 0.02])
def test_fault_rate_one_fails_the_plan(
    run_engine: RunEngine, make_station: Any, latency_s: float
) -> None:
    station = make_station(fault_rate=1.0, latency_s=latency_s)
    with pytest.raises(FailedStatus) as excinfo:
        run(run_engine, bp.count(station.detectors))
    cause = excinfo.value.__cause__
    assert isinstance(cause, cb.InjectedFaultError)
    assert cause.device == "spectro"
    assert "spectrophotometer lamp fault (injected)" in str(cause)


# --- plugin --------------------------------------------------------------------------------


def test_plugin_is_registered_and_satisfies_the_contract() -> None:
    plugin = load_station_plugin("colour-bench")
    assert plugin is cb.PLUGIN
    assert isinstance(plugin, StationPlugin)
    assert plugin.options_model is cb.ColourBenchOptions
    defaults = cb.ColourBenchOptions()
    assert (defaults.noise_std, defaults.latency_s, defaults.fault_rate, defaults.seed) == (
        0.01,
        0.0,
        0.0,
        0,
    )
    assert (defaults.solvent_selector, defaults.precipitate_above_ml) == (False, None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"noise": 1}, "option noise: Extra inputs are not permitted"),
        ({"noise_std": -1}, "option noise_std"),
        ({"fault_rate": 1.5}, "option fault_rate"),
        ({"latency_s": "slow"}, "option latency_s"),
        ({"precipitate_above_ml": 0}, "option precipitate_above_ml"),
        ({"solvent_selector": "maybe"}, "option solvent_selector"),
    ],
)
def test_bad_options_raise_station_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(StationError, match=message):
        build_station(StationRef(plugin="colour-bench", options=options))
