"""The ``uo2-furnace`` station plugin and device drivers: UO2Sintering as Ophyd devices."""

from __future__ import annotations

from genesis_lab_simulators._domain import DetectorDriver, DomainPlugin, SettingDriver
from genesis_lab_simulators.uo2_sintering._model import UO2Sintering

__all__ = ["DETECTOR_DRIVER", "PLUGIN", "SETTING_DRIVER"]

DESCRIPTION = (
    "Simulated UO2 fuel-pellet sintering (master sintering curve): settings "
    "uo2_peak_temperature (1400-1800 degC), uo2_hold_time (0.5-10 h), "
    "uo2_heating_rate (1-20 K/min), uo2_atmosphere (H2, Ar-5%H2, CO2), uo2_cr2o3 "
    "(0-0.6 wt%); detector 'uo2' reads uo2_density (%TD) and uo2_grain_size (um); "
    "pellets crack (cracked) above 12 K/min or 0.4 wt% Cr2O3."
)

#: The entry point ``uo2-furnace`` in the ``genesis_lab.stations`` group.
PLUGIN = DomainPlugin(UO2Sintering, DESCRIPTION)
#: Device drivers ``uo2-furnace-setting`` and ``uo2-furnace-detector``.
SETTING_DRIVER = SettingDriver(
    UO2Sintering, "uo2-furnace: one numeric setting of the simulated laboratory"
)
DETECTOR_DRIVER = DetectorDriver(UO2Sintering, "uo2-furnace: the simulated laboratory's detector")
