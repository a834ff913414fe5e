"""The ``lpbf-printer`` station plugin and device drivers: LpbfModel as Ophyd devices."""

from __future__ import annotations

from genesis_lab_simulators._domain import DetectorDriver, DomainPlugin, SettingDriver
from genesis_lab_simulators.lpbf._model import LpbfModel

__all__ = ["DETECTOR_DRIVER", "PLUGIN", "SETTING_DRIVER"]

DESCRIPTION = (
    "Simulated laser powder-bed fusion of 316L: settings lpbf_laser_power (100-400 "
    "W), lpbf_scan_speed (200-2000 mm/s), lpbf_hatch_spacing (50-150 um), "
    "lpbf_layer_thickness (20-80 um); detector 'lpbf' reads lpbf_density (% relative,"
    " lack-of-fusion and keyhole porosity) and lpbf_build_rate (cm3/h); fails "
    "(build_failed) on swelling above 300 J/mm3 or layers thicker than the melt pool."
)

#: The entry point ``lpbf-printer`` in the ``genesis_lab.stations`` group.
PLUGIN = DomainPlugin(LpbfModel, DESCRIPTION)
#: Device drivers ``lpbf-printer-setting`` and ``lpbf-printer-detector``.
SETTING_DRIVER = SettingDriver(
    LpbfModel, "lpbf-printer: one numeric setting of the simulated laboratory"
)
DETECTOR_DRIVER = DetectorDriver(LpbfModel, "lpbf-printer: the simulated laboratory's detector")
