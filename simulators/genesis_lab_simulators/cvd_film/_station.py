"""The ``cvd-reactor`` station plugin and device drivers: CvdFilmModel as Ophyd devices."""

from __future__ import annotations

from genesis_lab_simulators._domain import DetectorDriver, DomainPlugin, SettingDriver
from genesis_lab_simulators.cvd_film._model import CvdFilmModel

__all__ = ["DETECTOR_DRIVER", "PLUGIN", "SETTING_DRIVER"]

DESCRIPTION = (
    "Simulated polysilicon CVD from silane in a cold-wall reactor (Grove's model): "
    "settings cvd_temperature (550-950 degC), cvd_pressure (0.5-100 Torr), "
    "cvd_silane_flow (5-200 sccm), cvd_carrier_flow (1000-20000 sccm H2); detector "
    "'cvd' reads cvd_growth_rate (nm/min) and cvd_non_uniformity (%, 49-point line "
    "scan); fails (gas_phase_nucleation) above the critical silane partial pressure."
)

#: The entry point ``cvd-reactor`` in the ``genesis_lab.stations`` group.
PLUGIN = DomainPlugin(CvdFilmModel, DESCRIPTION)
#: Device drivers ``cvd-reactor-setting`` and ``cvd-reactor-detector``.
SETTING_DRIVER = SettingDriver(
    CvdFilmModel, "cvd-reactor: one numeric setting of the simulated laboratory"
)
DETECTOR_DRIVER = DetectorDriver(CvdFilmModel, "cvd-reactor: the simulated laboratory's detector")
