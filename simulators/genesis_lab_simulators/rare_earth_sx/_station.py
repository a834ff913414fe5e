"""The ``ree-extraction`` station plugin and device drivers: RareEarthSX as Ophyd devices."""

from __future__ import annotations

from genesis_lab_simulators._domain import DetectorDriver, DomainPlugin, SettingDriver
from genesis_lab_simulators.rare_earth_sx._model import RareEarthSX

__all__ = ["DETECTOR_DRIVER", "PLUGIN", "SETTING_DRIVER"]

DESCRIPTION = (
    "Simulated Nd/Pr solvent-extraction cascade (PC88A): settings ree_ph (1-4), "
    "ree_extractant (0.05-1.5 mol/L), ree_oa_ratio (0.2-5), ree_stages (1-20, whole);"
    " detector 'ree' reads ree_purity (% Nd in product) and ree_recovery (% of feed "
    "Nd); fails (third_phase) when the organic is loaded past 80% of capacity."
)

#: The entry point ``ree-extraction`` in the ``genesis_lab.stations`` group.
PLUGIN = DomainPlugin(RareEarthSX, DESCRIPTION)
#: Device drivers ``ree-extraction-setting`` and ``ree-extraction-detector``.
SETTING_DRIVER = SettingDriver(
    RareEarthSX, "ree-extraction: one numeric setting of the simulated laboratory"
)
DETECTOR_DRIVER = DetectorDriver(RareEarthSX, "ree-extraction: the simulated laboratory's detector")
