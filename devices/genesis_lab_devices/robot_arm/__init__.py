"""A sample-handling robot arm driven by SCPI over TCP (entry point ``scpi-robot-arm``)."""

from __future__ import annotations

from genesis_lab_devices.robot_arm._arm import (
    ARM_DRIVER,
    ArmBusyError,
    ArmSettings,
    RobotArm,
    RobotArmDriver,
    UnknownStationError,
    arm_simulator,
)

__all__ = [
    "ARM_DRIVER",
    "ArmBusyError",
    "ArmSettings",
    "RobotArm",
    "RobotArmDriver",
    "UnknownStationError",
    "arm_simulator",
]
