"""The SCPI tube furnace driver against the simulated furnace, over TCP through pyvisa."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import pytest
from bluesky import RunEngine
from bluesky.protocols import Movable, Readable, Stoppable, Triggerable
from bluesky.utils import FailedStatus
from ophyd.utils.errors import LimitError

from genesis_lab.station import build_device, load_driver
from genesis_lab_devices._errors import (
    InstrumentConnectionError,
    InstrumentRefusedError,
    InstrumentTimeoutError,
)
from genesis_lab_devices.furnace import FILM_PROBE_DRIVER, FURNACE_DRIVER, FilmProbe, ScpiFurnace
from genesis_lab_simulators._options import RunningSimulator
from genesis_lab_simulators.tube_furnace import (
    BEST_RAMP_K_PER_MIN,
    OPTIMAL_TEMPERATURE_C,
    OPTIMAL_VALUE,
    FurnaceInstrument,
    FurnaceSimulatorOptions,
    sheet_resistance,
    start_furnace,
)

FAST = 6000.0  # simulated seconds per real second


@pytest.fixture
def sim() -> Iterator[RunningSimulator[FurnaceInstrument]]:
    with start_furnace(FurnaceSimulatorOptions(time_scale=FAST)) as running:
        yield running


@pytest.fixture
def furnace(sim: RunningSimulator[FurnaceInstrument]) -> Iterator[ScpiFurnace]:
    device = FURNACE_DRIVER.build("furnace", {"address": sim.address, "move_timeout_s": 10.0})
    yield device
    device.close()


@pytest.fixture
def probe(sim: RunningSimulator[FurnaceInstrument]) -> Iterator[FilmProbe]:
    device = FILM_PROBE_DRIVER.build("probe", {"address": sim.address})
    yield device
    device.close()


def test_devices_satisfy_the_bluesky_protocols(furnace: ScpiFurnace, probe: FilmProbe) -> None:
    assert isinstance(furnace, Movable) and isinstance(furnace, Readable)
    assert isinstance(furnace, Stoppable)
    assert isinstance(furnace.ramp_rate, Movable)
    assert isinstance(probe, Triggerable) and isinstance(probe, Readable)
    assert furnace.idn.startswith("genesis-lab,TF-1200")


def test_describe_states_units_and_the_limits_the_instrument_reports(
    furnace: ScpiFurnace, sim: RunningSimulator[FurnaceInstrument]
) -> None:
    description = furnace.describe()
    assert set(description) == set(furnace.read()) == {"furnace_temperature", "furnace_setpoint"}
    entry = description["furnace_temperature"]
    assert entry["units"] == "degC" and entry["dtype"] == "number" and entry["shape"] == []
    assert entry["limits"]["control"] == {"low": 20.0, "high": 1200.0}
    assert sim.address in entry["source"]
    assert furnace.limits == (20.0, 1200.0)
    assert furnace.ramp_rate.limits == (0.5, 100.0)
    assert furnace.ramp_rate.describe()["furnace_ramp_rate"]["units"] == "K/min"
    assert "SOUR:TEMP? MAX" in sim.command_log


def test_set_completes_when_the_measured_temperature_settles(
    furnace: ScpiFurnace, sim: RunningSimulator[FurnaceInstrument]
) -> None:
    status = furnace.set(450.0)
    status.wait(timeout=10)
    assert status.success
    reading = furnace.read()
    assert reading["furnace_temperature"]["value"] == pytest.approx(450.0, abs=1.0)
    assert reading["furnace_setpoint"]["value"] == 450.0
    assert "SOUR:TEMP 450" in sim.command_log


@pytest.mark.parametrize("bad", [1500.0, 5.0, float("nan"), float("inf")])
def test_a_setpoint_outside_the_limits_is_refused_before_anything_is_sent(
    furnace: ScpiFurnace, sim: RunningSimulator[FurnaceInstrument], bad: float
) -> None:
    with pytest.raises(LimitError, match="nothing was sent"):
        furnace.set(bad)
    with pytest.raises(TypeError):
        furnace.set("hot")
    assert not [c for c in sim.command_log if c.startswith("SOUR:TEMP ")]


def test_the_instrument_refusing_a_command_fails_the_status_with_its_reason(
    sim: RunningSimulator[FurnaceInstrument],
) -> None:
    ramp_signal = FURNACE_DRIVER.build("furnace", {"address": sim.address}).ramp_rate
    try:
        ramp_signal._limits = (0.0, 1000.0)  # the driver believes wider limits than are true
        status = ramp_signal.set(500.0)
        with pytest.raises(InstrumentRefusedError, match=r"-222") as caught:
            status.wait(timeout=5)
        assert caught.value.address == sim.address
    finally:
        ramp_signal.root.close()


def test_a_stalled_heater_fails_the_status_within_its_timeout() -> None:
    options = FurnaceSimulatorOptions(time_scale=FAST, stuck_at=[1])
    with start_furnace(options) as sim:
        furnace = FURNACE_DRIVER.build("furnace", {"address": sim.address, "move_timeout_s": 0.5})
        try:
            status = furnace.set(600.0)
            with pytest.raises(InstrumentTimeoutError, match="did not settle at 600") as caught:
                status.wait(timeout=10)
            assert caught.value.address == sim.address
            # the fault stalls one move; the next one settles
            furnace.set(300.0).wait(timeout=10)
        finally:
            furnace.close()


def test_a_refused_film_measurement_fails_with_the_instruments_reason() -> None:
    with start_furnace(FurnaceSimulatorOptions(time_scale=FAST, refuse_rate=1.0)) as sim:
        probe = FILM_PROBE_DRIVER.build("probe", {"address": sim.address, "timeout_s": 0.2})
        try:
            # a refused query gets no reply; the driver asks the error queue why
            with pytest.raises(InstrumentRefusedError, match="probe contact open") as caught:
                probe.trigger().wait(timeout=10)
            assert caught.value.code == -240 and caught.value.address == sim.address
        finally:
            probe.close()


def test_a_dropped_link_is_reconnected_once_and_the_move_still_completes() -> None:
    with start_furnace(FurnaceSimulatorOptions(time_scale=FAST, drop_at=[8, 12])) as sim:
        furnace = FURNACE_DRIVER.build(
            "furnace", {"address": sim.address, "timeout_s": 0.3, "move_timeout_s": 10.0}
        )
        try:
            furnace.set(200.0).wait(timeout=10)
            assert furnace.session.reconnects >= 1
            assert sim.server.connections_dropped >= 1
        finally:
            furnace.close()


def test_a_link_that_stays_down_fails_naming_the_address() -> None:
    with start_furnace(FurnaceSimulatorOptions(time_scale=FAST)) as sim:
        furnace = FURNACE_DRIVER.build("furnace", {"address": sim.address, "timeout_s": 0.3})
        try:
            sim.server.faults = type(sim.server.faults)(drop_rate=1.0)
            status = furnace.set(300.0)
            with pytest.raises(InstrumentError_) as caught:
                status.wait(timeout=10)
            assert sim.address in str(caught.value)
        finally:
            furnace.close()


InstrumentError_ = (InstrumentConnectionError, InstrumentTimeoutError)


def test_an_unreachable_instrument_is_reported_with_its_address(unused_port: int) -> None:
    address = f"TCPIP::127.0.0.1::{unused_port}::SOCKET"
    with pytest.raises(InstrumentConnectionError, match=address.replace(":", ".")):
        FURNACE_DRIVER.build("furnace", {"address": address, "timeout_s": 0.3})


def test_stop_holds_the_furnace_and_fails_the_move(
    furnace: ScpiFurnace, sim: RunningSimulator[FurnaceInstrument]
) -> None:
    furnace.ramp_rate.set(1.0).wait(5)  # 100 K per real second: the move takes seconds
    status = furnace.set(1000.0)
    furnace.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        status.wait(timeout=5)
    assert "ABOR" in sim.command_log
    assert sim.instrument.setpoint < 1000.0


def test_thermocouple_drift_moves_the_true_temperature_away_from_the_reading() -> None:
    options = FurnaceSimulatorOptions(time_scale=FAST, drift_K_per_h=20.0, noise_K=0.0)
    with start_furnace(options) as sim:
        furnace = FURNACE_DRIVER.build("furnace", {"address": sim.address})
        try:
            furnace.set(500.0).wait(timeout=10)
            measured = furnace.position
            assert measured == pytest.approx(500.0, abs=1.0)
            assert sim.instrument.true_temperature() < measured - 1.0
        finally:
            furnace.close()


def test_the_film_model_has_its_stated_optimum() -> None:
    best = sheet_resistance(OPTIMAL_TEMPERATURE_C, BEST_RAMP_K_PER_MIN)
    assert best == pytest.approx(OPTIMAL_VALUE)
    for dT, ramp in [(-20, 10.0), (20, 10.0), (0, 8.0), (0, 12.0)]:
        assert sheet_resistance(OPTIMAL_TEMPERATURE_C + dT, ramp) > best


def test_stock_plans_run_with_the_furnace_and_the_probe(
    run_engine: RunEngine, furnace: ScpiFurnace, probe: FilmProbe, documents: Any
) -> None:
    run_engine(bp.count([probe, furnace], num=2), documents)
    run_engine(bp.scan([probe], furnace, 300.0, 700.0, 3), documents)
    run_engine(bp.list_scan([probe], furnace.ramp_rate, [5.0, 10.0, 20.0]), documents)
    documents.validate()
    events = documents.of("event")
    assert len(events) == 2 + 3 + 3
    scanned = [e["data"]["furnace_setpoint"] for e in events[2:5]]
    assert scanned == [300.0, 500.0, 700.0]
    assert all(e["data"]["probe_sheet_resistance"] > 0 for e in events)
    descriptor = documents.of("descriptor")[1]
    assert descriptor["data_keys"]["probe_sheet_resistance"]["units"] == "ohm/sq"
    assert descriptor["data_keys"]["furnace_temperature"]["limits"]["control"]["high"] == 1200.0


def test_the_run_engine_reports_a_stalled_move_as_a_failed_run(run_engine: RunEngine) -> None:
    with start_furnace(FurnaceSimulatorOptions(time_scale=FAST, stuck_at=[1])) as sim:
        furnace = FURNACE_DRIVER.build("furnace", {"address": sim.address, "move_timeout_s": 0.5})
        try:
            with pytest.raises(FailedStatus) as caught:
                run_engine(bps.mv(furnace, 800.0))
            assert isinstance(caught.value.__cause__, InstrumentTimeoutError)
            assert "did not settle at 800" in str(caught.value.__cause__)
        finally:
            furnace.close()


def test_drivers_are_entry_points_and_their_simulators_work_standalone() -> None:
    for name in ("scpi-furnace", "scpi-film-probe"):
        driver = load_driver(name)
        assert driver.simulator is not None
        with driver.simulator() as settings:
            device = build_device(name, name.replace("-", "_"), settings)
            try:
                assert device.describe()
            finally:
                device.close()
