"""The drivers genesis-lab loads from the ``genesis_lab.devices`` entry points."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genesis_example_vendor._heater import BrokenHeater, Heater
from genesis_example_vendor._instrument import running_simulator

__all__ = [
    "BROKEN_HEATER_DRIVER",
    "HEATER_DRIVER",
    "BrokenHeaterDriver",
    "HeaterDriver",
    "HeaterSettings",
]


class HeaterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="Where the heater answers (sim://heater/N for the simulator).")
    timeout_s: float = Field(default=5.0, gt=0, description="A move not done by then fails (s).")


@contextmanager
def _simulated(fault: str | None = None, timeout_s: float = 5.0) -> Iterator[dict[str, Any]]:
    with running_simulator(fault) as address:
        yield {"address": address, "timeout_s": timeout_s}


class HeaterDriver:
    description = "Example bench heater (vendor example): setpoint 20-150 degC; reads temperature"
    settings_model = HeaterSettings
    device_class: type[Heater] = Heater

    def __init__(self) -> None:
        self.simulator = _simulated
        self.simulator_faults = {
            "hang": lambda: _simulated("hang", timeout_s=0.3),
            "error": lambda: _simulated("error", timeout_s=0.3),
        }

    def build(self, name: str, settings: HeaterSettings) -> Heater:
        return self.device_class(name=name, address=settings.address, timeout_s=settings.timeout_s)


class BrokenHeaterDriver(HeaterDriver):
    description = "Example heater with a bug: read() and describe() disagree (fails the kit)"
    device_class = BrokenHeater


HEATER_DRIVER = HeaterDriver()
BROKEN_HEATER_DRIVER = BrokenHeaterDriver()
