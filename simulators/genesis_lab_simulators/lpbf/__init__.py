"""A simulated laser powder-bed fusion station (316L stainless steel): :class:`LpbfModel`
sets laser power, scan speed, hatch spacing and layer thickness, and reports the relative
density of a test cube (%) and the build rate (cm^3/h); builds at too high an energy density
(swelling) or with layers thicker than the melt pool (delamination) fail. The density model
combines King et al.'s (2014) keyhole criterion, Tang et al.'s (2017) lack-of-fusion
overlap criterion and an over-melting term (see ``_model``); ``OPTIMUM_SETTINGS``,
``OPTIMUM_READINGS``, ``PARETO_POINTS`` and ``REFERENCE_POINT`` are its known optimum and
density/build-rate front.
"""

from __future__ import annotations

from genesis_lab_simulators.lpbf._model import (
    ABSORPTIVITY,
    BEAM_RADIUS_M,
    BUILD_FAILED,
    E_SWELL_J_MM3,
    KEYHOLE_THRESHOLD,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    PARETO_POINTS,
    REFERENCE_POINT,
    LpbfModel,
    build_rate,
    energy_density,
    failure,
    melt_pool_radius_um,
    normalised_enthalpy,
    overlap_index,
    porosity,
)
from genesis_lab_simulators.lpbf._station import DETECTOR_DRIVER, PLUGIN, SETTING_DRIVER

__all__ = [
    "ABSORPTIVITY",
    "BEAM_RADIUS_M",
    "BUILD_FAILED",
    "DETECTOR_DRIVER",
    "E_SWELL_J_MM3",
    "KEYHOLE_THRESHOLD",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PARETO_POINTS",
    "PLUGIN",
    "REFERENCE_POINT",
    "SETTING_DRIVER",
    "LpbfModel",
    "build_rate",
    "energy_density",
    "failure",
    "melt_pool_radius_um",
    "normalised_enthalpy",
    "overlap_index",
    "porosity",
]
