"""Fed-batch penicillin fermentation: a simulated laboratory's physics (pure computation).

:class:`PenicillinModel` is the ODE model of Liang and Lai (2021) exactly as BoTorch's
``Penicillin`` multi-objective test function: seven culture settings (volume, biomass,
temperature, glucose, feed rate, feed concentration, pH) give the penicillin titer
(g/L, maximise), the CO2 evolved (mmol/L, minimise) and the batch time (h, minimise); a
batch ending within two days is a starved culture (``ExperimentFailed``, mode
``culture_failed``). :func:`simulate_batch` runs many batches at once; ``OPTIMUM_SETTINGS``
and ``OPTIMUM_READINGS`` are the best titer found (on a razor-thin sliver),
``ROBUST_OPTIMUM_SETTINGS`` and ``ROBUST_OPTIMUM_READINGS`` the best that survives small
nudges, ``BOTORCH_REF_POINT`` BoTorch's reference point. See ``_model`` for equations,
units, sources and simplifications.
"""

from __future__ import annotations

from genesis_lab_simulators.penicillin._model import (
    BOTORCH_MAX_HV,
    BOTORCH_REF_POINT,
    CO2_REL_NOISE,
    END_OVERFULL,
    END_PRODUCTION_STOPPED,
    END_RUNNING,
    END_SUBSTRATE_SPENT,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    PARETO_CO2_CAPS,
    PARETO_POINTS,
    ROBUST_OPTIMUM_READINGS,
    ROBUST_OPTIMUM_SETTINGS,
    SETTING_NAMES,
    TITER_REL_NOISE,
    BatchResult,
    PenicillinModel,
    simulate_batch,
)
from genesis_lab_simulators.penicillin._station import DETECTOR_DRIVER, PLUGIN, SETTING_DRIVER

__all__ = [
    "BOTORCH_MAX_HV",
    "BOTORCH_REF_POINT",
    "CO2_REL_NOISE",
    "DETECTOR_DRIVER",
    "END_OVERFULL",
    "END_PRODUCTION_STOPPED",
    "END_RUNNING",
    "END_SUBSTRATE_SPENT",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PARETO_CO2_CAPS",
    "PARETO_POINTS",
    "PLUGIN",
    "ROBUST_OPTIMUM_READINGS",
    "ROBUST_OPTIMUM_SETTINGS",
    "SETTING_DRIVER",
    "SETTING_NAMES",
    "TITER_REL_NOISE",
    "BatchResult",
    "PenicillinModel",
    "simulate_batch",
]
