"""Simulated laboratory: separating Nd from Pr by solvent extraction (PC88A, chloride feed)
in a countercurrent mixer-settler cascade. :class:`RareEarthSX` is its physical model
(cation-exchange distribution ratios, Kremser cascade; purity and recovery of Nd, a third
phase at high organic loading); the constants give its separation factor, extraction
constants and the known purity-recovery Pareto front.
"""

from genesis_lab_simulators.rare_earth_sx._model import (
    BETA_ND_PR,
    LOG10_K_ND,
    LOG10_K_PR,
    MAX_PURITY_PCT,
    PARETO_HYPERVOLUME,
    PARETO_READINGS,
    PARETO_SETTINGS,
    REFERENCE_POINT,
    RareEarthSX,
    kremser_unextracted,
)
from genesis_lab_simulators.rare_earth_sx._station import DETECTOR_DRIVER, PLUGIN, SETTING_DRIVER

__all__ = [
    "BETA_ND_PR",
    "DETECTOR_DRIVER",
    "LOG10_K_ND",
    "LOG10_K_PR",
    "MAX_PURITY_PCT",
    "PARETO_HYPERVOLUME",
    "PARETO_READINGS",
    "PARETO_SETTINGS",
    "PLUGIN",
    "REFERENCE_POINT",
    "SETTING_DRIVER",
    "RareEarthSX",
    "kremser_unextracted",
]
