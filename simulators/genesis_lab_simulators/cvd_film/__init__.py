"""Simulated chemical vapour deposition of a polysilicon film from silane in a horizontal
cold-wall single-wafer reactor, after Grove's model: :class:`CvdFilmModel` sets substrate
temperature, pressure, silane and hydrogen flows, reads the mean growth rate (nm/min) and
the 1-sigma thickness non-uniformity (%), fails by gas-phase nucleation when hot with much
silane, and knows its most uniform film with ``growth_rate >= GROWTH_RATE_MIN``
(``OPTIMUM_SETTINGS``, ``OPTIMUM_READINGS``). See ``_model`` for the equations and sources.
"""

from genesis_lab_simulators.cvd_film._model import (
    CHANNEL_HEIGHT_CM,
    CHANNEL_WIDTH_CM,
    D0_CM2_S,
    DT_REF_K,
    EA_EV,
    GN_E_EV,
    GN_P_REF_TORR,
    GN_T_REF_K,
    GROWTH_RATE_MIN,
    H_GAP_W_M2K,
    H_RAD_W_M2K,
    K0_CM_S,
    LEADING_EDGE_CM,
    MAP_POINTS,
    MAX_DEPOSITION_S,
    N_SI_CM3,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    P_KNUDSEN_TORR,
    UNCONSTRAINED_OPTIMUM_READINGS,
    UNCONSTRAINED_OPTIMUM_SETTINGS,
    WAFER_LENGTH_CM,
    CvdFilmModel,
    WaferProfile,
    critical_silane_pressure_torr,
    edge_temperature_drop_K,
)
from genesis_lab_simulators.cvd_film._station import DETECTOR_DRIVER, PLUGIN, SETTING_DRIVER

__all__ = [
    "CHANNEL_HEIGHT_CM",
    "CHANNEL_WIDTH_CM",
    "D0_CM2_S",
    "DETECTOR_DRIVER",
    "DT_REF_K",
    "EA_EV",
    "GN_E_EV",
    "GN_P_REF_TORR",
    "GN_T_REF_K",
    "GROWTH_RATE_MIN",
    "H_GAP_W_M2K",
    "H_RAD_W_M2K",
    "K0_CM_S",
    "LEADING_EDGE_CM",
    "MAP_POINTS",
    "MAX_DEPOSITION_S",
    "N_SI_CM3",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PLUGIN",
    "P_KNUDSEN_TORR",
    "SETTING_DRIVER",
    "UNCONSTRAINED_OPTIMUM_READINGS",
    "UNCONSTRAINED_OPTIMUM_SETTINGS",
    "WAFER_LENGTH_CM",
    "CvdFilmModel",
    "WaferProfile",
    "critical_silane_pressure_torr",
    "edge_temperature_drop_K",
]
