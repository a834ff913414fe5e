"""The ``snar-reactor`` station plugin and device drivers: SnarFlowModel as Ophyd devices."""

from __future__ import annotations

from genesis_lab_simulators._domain import DetectorDriver, DomainPlugin, SettingDriver
from genesis_lab_simulators.snar_flow._model import SnarFlowModel

__all__ = ["DETECTOR_DRIVER", "PLUGIN", "SETTING_DRIVER"]

DESCRIPTION = (
    "Simulated SnAr flow reactor (2,4-difluoronitrobenzene + pyrrolidine in ethanol, "
    "Hone et al. 2017 kinetics, plug flow): settings snar_residence_time (0.5-2 min),"
    " snar_pyrrolidine_equiv (1-5), snar_dfnb_conc (0.1-0.5 M), snar_temperature "
    "(30-120 degC); detector 'snar' reads snar_sty (kg/m3/h) and snar_e_factor; fails"
    " (clogged) when the fluoride salt exceeds its solubility."
)

#: The entry point ``snar-reactor`` in the ``genesis_lab.stations`` group.
PLUGIN = DomainPlugin(SnarFlowModel, DESCRIPTION)
#: Device drivers ``snar-reactor-setting`` and ``snar-reactor-detector``.
SETTING_DRIVER = SettingDriver(
    SnarFlowModel, "snar-reactor: one numeric setting of the simulated laboratory"
)
DETECTOR_DRIVER = DetectorDriver(SnarFlowModel, "snar-reactor: the simulated laboratory's detector")
