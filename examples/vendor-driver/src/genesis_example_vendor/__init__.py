"""Example vendor package: a bench heater (an Ophyd device) and its genesis-lab driver.

``example-heater`` follows docs/driver-contract.md; ``example-broken-heater`` reads a key
its ``describe()`` does not declare, so ``genesis-lab devices check`` fails it.
"""

from genesis_example_vendor._driver import (
    BROKEN_HEATER_DRIVER,
    HEATER_DRIVER,
    BrokenHeaterDriver,
    HeaterDriver,
    HeaterSettings,
)
from genesis_example_vendor._heater import BrokenHeater, Heater, HeaterError
from genesis_example_vendor._instrument import SimulatedHeaterInstrument

__all__ = [
    "BROKEN_HEATER_DRIVER",
    "HEATER_DRIVER",
    "BrokenHeater",
    "BrokenHeaterDriver",
    "Heater",
    "HeaterDriver",
    "HeaterError",
    "HeaterSettings",
    "SimulatedHeaterInstrument",
]
