"""A simulated UO2 fuel-pellet sintering laboratory: :class:`UO2Sintering` gives the sintered
density (%TD) on Su and Johnson's master sintering curve, with UO2's published activation
energy, and the grain size (um) from Ainscough's parabolic grain-growth law, for a furnace
program (peak temperature, hold, heating rate), a furnace atmosphere (H2, Ar-5%H2, CO2)
and a Cr2O3 dopant content; too fast a ramp or too much dopant cracks the pellet
(:class:`~simulators._domain.ExperimentFailed`, mode ``'cracked'``). ``OPTIMUM_SETTINGS``
and ``OPTIMUM_READINGS`` give the smallest grain size with the density in
``DENSITY_WINDOW_PCT_TD``; see :mod:`simulators.uo2_sintering._model` for the equations.
"""

from genesis_lab_simulators.uo2_sintering._model import (
    ATMOSPHERES,
    B_DECADES,
    COOLING_RATE_K_PER_MIN,
    CR_DENS,
    CRACK_CR2O3_WT_PCT,
    CRACK_HEATING_RATE_K_PER_MIN,
    D0_UM,
    DENSITY_NOISE_PCT_TD,
    DENSITY_WINDOW_PCT_TD,
    GRAIN_NOISE_REL,
    GREEN_DENSITY_PCT_TD,
    K0_GRAIN_UM2_PER_H,
    LOG10_THETA_MID_H2,
    M_CR,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    QG_OVER_R_K,
    R_GAS,
    RHO_MAX_PCT_TD,
    ROOM_TEMPERATURE_C,
    T_REF_K,
    W_PIN_WT_PCT,
    W_SOL_WT_PCT,
    Atmosphere,
    UO2Sintering,
    compute_optimum,
    grain_growth_time,
    work_of_sintering,
)
from genesis_lab_simulators.uo2_sintering._station import DETECTOR_DRIVER, PLUGIN, SETTING_DRIVER

__all__ = [
    "ATMOSPHERES",
    "B_DECADES",
    "COOLING_RATE_K_PER_MIN",
    "CRACK_CR2O3_WT_PCT",
    "CRACK_HEATING_RATE_K_PER_MIN",
    "CR_DENS",
    "D0_UM",
    "DENSITY_NOISE_PCT_TD",
    "DENSITY_WINDOW_PCT_TD",
    "DETECTOR_DRIVER",
    "GRAIN_NOISE_REL",
    "GREEN_DENSITY_PCT_TD",
    "K0_GRAIN_UM2_PER_H",
    "LOG10_THETA_MID_H2",
    "M_CR",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PLUGIN",
    "QG_OVER_R_K",
    "RHO_MAX_PCT_TD",
    "ROOM_TEMPERATURE_C",
    "R_GAS",
    "SETTING_DRIVER",
    "T_REF_K",
    "W_PIN_WT_PCT",
    "W_SOL_WT_PCT",
    "Atmosphere",
    "UO2Sintering",
    "compute_optimum",
    "grain_growth_time",
    "work_of_sintering",
]
