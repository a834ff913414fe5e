"""A simulated flow-chemistry laboratory: the SnAr reaction of 2,4-difluoronitrobenzene
with pyrrolidine in ethanol in a plug-flow reactor, with the kinetics of Hone et al.
(React. Chem. Eng. 2017) as in Summit's ``SnarBenchmark``. :class:`SnarFlowModel` sets
residence time, pyrrolidine equivalents, DFNB concentration and temperature and reads
space-time yield (maximise) and E-factor (minimise); a high concentration at a low
temperature clogs the line with precipitated salt (failure mode ``'clogged'``).
"""

from genesis_lab_simulators.snar_flow._model import (
    ACTIVATION_ENERGIES_KJ_PER_MOL,
    K_REF_PER_M_MIN,
    MAX_STY,
    MAX_STY_SETTINGS,
    MIN_E_FACTOR,
    MIN_E_FACTOR_SETTINGS,
    MOLAR_MASSES_G_PER_MOL,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    PARETO_POINTS,
    REFERENCE_POINT,
    SALT_SOLUBILITY_30C_M,
    SnarFlowModel,
    outlet_concentrations,
    rate_constants,
    readings_from_outlet,
    salt_solubility,
)
from genesis_lab_simulators.snar_flow._station import DETECTOR_DRIVER, PLUGIN, SETTING_DRIVER

__all__ = [
    "ACTIVATION_ENERGIES_KJ_PER_MOL",
    "DETECTOR_DRIVER",
    "K_REF_PER_M_MIN",
    "MAX_STY",
    "MAX_STY_SETTINGS",
    "MIN_E_FACTOR",
    "MIN_E_FACTOR_SETTINGS",
    "MOLAR_MASSES_G_PER_MOL",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PARETO_POINTS",
    "PLUGIN",
    "REFERENCE_POINT",
    "SALT_SOLUBILITY_30C_M",
    "SETTING_DRIVER",
    "SnarFlowModel",
    "outlet_concentrations",
    "rate_constants",
    "readings_from_outlet",
    "salt_solubility",
]
