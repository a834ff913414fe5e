"""A syringe pump driven by SCPI over TCP through pyvisa (entry point ``scpi-syringe-pump``)."""

from __future__ import annotations

from genesis_lab_devices.syringe_pump._pump import (
    PUMP_DRIVER,
    PumpSettings,
    SyringePump,
    SyringePumpDriver,
    pump_simulator,
)

__all__ = ["PUMP_DRIVER", "PumpSettings", "SyringePump", "SyringePumpDriver", "pump_simulator"]
