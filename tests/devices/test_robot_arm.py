"""The SCPI robot arm driver against the simulated arm, over TCP through pyvisa."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bluesky.plans as bp
import pytest
from bluesky import RunEngine
from bluesky.protocols import Movable, Readable

from genesis_lab.station import Station, build_device, load_driver
from genesis_lab_devices._errors import InstrumentFaultError, InstrumentRefusedError
from genesis_lab_devices.robot_arm import ARM_DRIVER, ArmBusyError, RobotArm, UnknownStationError
from genesis_lab_simulators.robot_arm import STATIONS, ArmSimulatorOptions, start_arm


@pytest.fixture
def arm() -> Iterator[RobotArm]:
    options = ArmSimulatorOptions(time_scale=20.0, samples={"rack": "S1", "balance": "S2"})
    with start_arm(options) as sim:
        device = ARM_DRIVER.build("arm", {"address": sim.address})
        device.sim = sim  # type: ignore[attr-defined]
        yield device
        device.close()


def test_describe_declares_the_stations_as_choices(arm: RobotArm) -> None:
    assert isinstance(arm, Movable) and isinstance(arm, Readable)
    description = arm.describe()
    assert set(description) == set(arm.read()) == {"arm", "arm_holding"}
    assert description["arm"]["choices"] == list(STATIONS)
    assert description["arm"]["dtype"] == "string"
    station = Station(actuators={"arm": arm}, detectors=[])
    assert station.choices("arm") == STATIONS


def test_a_sample_moves_from_the_rack_to_the_spectrometer(arm: RobotArm) -> None:
    arm.pick().wait(5)
    arm.set("spectrometer").wait(timeout=10)
    arm.place().wait(5)
    assert arm.read()["arm"]["value"] == "spectrometer"
    assert arm.sim.instrument.occupant["spectrometer"] == "S1"  # type: ignore[attr-defined]
    assert arm.read()["arm_holding"]["value"] == "NONE"


def test_one_move_at_a_time(arm: RobotArm) -> None:
    first = arm.set("hotplate")
    second = arm.set("balance")
    with pytest.raises(ArmBusyError, match="one move at a time"):
        second.wait(timeout=5)
    first.wait(timeout=10)
    assert arm.position == "hotplate"
    # the instrument refuses it too, whatever the driver thinks
    arm.session.write_checked("MOVE rack")
    with pytest.raises(InstrumentRefusedError, match="busy"):
        arm.session.write_checked("MOVE balance")


def test_a_collision_is_refused_and_nothing_moves(arm: RobotArm) -> None:
    arm.pick().wait(5)  # S1 from the rack
    status = arm.set("balance")  # S2 is there
    with pytest.raises(InstrumentRefusedError, match="collision: balance holds S2"):
        status.wait(timeout=5)
    assert arm.position == "rack"
    with pytest.raises(UnknownStationError):
        arm.set("oven")


def test_a_stuck_axis_fails_the_move() -> None:
    with start_arm(ArmSimulatorOptions(time_scale=20.0, stuck_at=[1])) as sim:
        arm = ARM_DRIVER.build("arm", {"address": sim.address})
        try:
            with pytest.raises(InstrumentFaultError, match="STUCK"):
                arm.set("balance").wait(timeout=10)
            arm.set("balance").wait(timeout=10)  # the next move goes
        finally:
            arm.close()


def test_stock_plans_run_with_the_arm(run_engine: RunEngine, arm: RobotArm, documents: Any) -> None:
    run_engine(bp.count([arm]), documents)
    run_engine(bp.list_scan([arm], arm, ["hotplate", "spectrometer", "rack"]), documents)
    documents.validate()
    assert [e["data"]["arm"] for e in documents.of("event")] == [
        "rack",
        "hotplate",
        "spectrometer",
        "rack",
    ]


def test_the_driver_is_an_entry_point_with_a_standalone_simulator() -> None:
    driver = load_driver("scpi-robot-arm")
    assert driver.simulator is not None
    with driver.simulator() as settings:
        device = build_device("scpi-robot-arm", "arm", settings)
        try:
            device.set("balance").wait(timeout=10)
        finally:
            device.close()
