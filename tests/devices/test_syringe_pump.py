"""The SCPI syringe pump driver against the simulated pump, over TCP through pyvisa."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bluesky.plans as bp
import pytest
from bluesky import RunEngine
from bluesky.protocols import Movable, Readable
from ophyd.utils.errors import LimitError

from genesis_lab.station import build_device, load_driver
from genesis_lab_devices._errors import (
    InstrumentFaultError,
    InstrumentRefusedError,
    InstrumentTimeoutError,
)
from genesis_lab_devices.syringe_pump import PUMP_DRIVER, SyringePump
from genesis_lab_simulators.syringe_pump import PumpSimulatorOptions, start_pump

FAST = 60.0


@pytest.fixture
def pump() -> Iterator[SyringePump]:
    with start_pump(PumpSimulatorOptions(time_scale=FAST, loaded_mL=6.0)) as sim:
        device = PUMP_DRIVER.build("pump", {"address": sim.address, "move_timeout_s": 10.0})
        device.sim = sim  # type: ignore[attr-defined]
        yield device
        device.close()


def test_describe_read_units_and_limits(pump: SyringePump) -> None:
    assert isinstance(pump, Movable) and isinstance(pump, Readable)
    description = pump.describe()
    assert set(description) == set(pump.read()) == {"pump_volume", "pump_remaining"}
    assert description["pump_volume"]["units"] == "mL"
    assert description["pump_volume"]["limits"]["control"] == {"low": 0.0, "high": 10.0}
    assert pump.limits == (0.0, 10.0)
    assert pump.rate.limits == (0.01, 60.0)


def test_dispensing_completes_and_reads_back(pump: SyringePump) -> None:
    pump.set(2.5).wait(timeout=10)
    reading = pump.read()
    assert reading["pump_volume"]["value"] == pytest.approx(2.5)
    assert reading["pump_remaining"]["value"] == pytest.approx(3.5)
    assert "SOUR:VOL 2.5" in pump.sim.command_log  # type: ignore[attr-defined]


def test_the_syringe_runs_out_and_a_dispense_beyond_what_is_left_fails_clearly(
    pump: SyringePump,
) -> None:
    pump.set(5.0).wait(timeout=10)
    status = pump.set(8.0)
    with pytest.raises(InstrumentRefusedError, match=r"syringe empty: 1\.000 mL left") as caught:
        status.wait(timeout=5)
    assert caught.value.code == -221
    assert pump.position == pytest.approx(5.0)  # the plunger did not move


def test_a_volume_outside_the_syringe_is_refused_before_anything_is_sent(
    pump: SyringePump,
) -> None:
    with pytest.raises(LimitError):
        pump.set(12.0)
    assert not [c for c in pump.sim.command_log if c.startswith("SOUR:VOL ")]  # type: ignore[attr-defined]


def test_a_stalled_plunger_fails_the_status() -> None:
    with start_pump(PumpSimulatorOptions(time_scale=FAST, stall_at=[1])) as sim:
        pump = PUMP_DRIVER.build("pump", {"address": sim.address, "move_timeout_s": 5.0})
        try:
            with pytest.raises(InstrumentFaultError, match="STALLED") as caught:
                pump.set(4.0).wait(timeout=10)
            assert caught.value.address == sim.address
            assert 0.0 < pump.position < 4.0
        finally:
            pump.close()


def test_a_slow_dispense_fails_with_a_timeout_within_its_limit() -> None:
    with start_pump(PumpSimulatorOptions(time_scale=1.0, rate_mL_per_min=0.1)) as sim:
        pump = PUMP_DRIVER.build("pump", {"address": sim.address, "move_timeout_s": 0.3})
        try:
            with pytest.raises(InstrumentTimeoutError, match=r"not finished within 0\.3 s"):
                pump.set(5.0).wait(timeout=10)
        finally:
            pump.close()


def test_stock_plans_run_with_the_pump(
    run_engine: RunEngine, pump: SyringePump, documents: Any
) -> None:
    run_engine(bp.count([pump]), documents)
    run_engine(bp.scan([pump], pump, 0.5, 1.5, 3), documents)
    run_engine(bp.list_scan([pump], pump.rate, [3.0, 6.0]), documents)
    documents.validate()
    volumes = [e["data"]["pump_volume"] for e in documents.of("event")[1:4]]
    assert volumes == pytest.approx([0.5, 1.0, 1.5])


def test_the_driver_is_an_entry_point_with_a_standalone_simulator() -> None:
    driver = load_driver("scpi-syringe-pump")
    assert driver.simulator is not None
    with driver.simulator() as settings:
        device = build_device("scpi-syringe-pump", "pump", settings)
        try:
            device.set(1.0).wait(timeout=10)
        finally:
            device.close()
