"""The colour bench: a simulated station mixing cyan, magenta and yellow dye to a target colour.

Actuators (Ophyd names = station keys): ``pump_cyan``, ``pump_magenta``, ``pump_yellow``,
each a :class:`DyePump` dispensing 0–10 mL of stock dye into 20 mL of water.
Detector: ``spectro``, a :class:`Spectrophotometer` whose data keys are
``spectro_absorbance_450``, ``spectro_absorbance_500``, ``spectro_absorbance_550``,
``spectro_absorbance_650`` (AU) and ``spectro_colour_error`` (ΔA×100, the objective: minimise).

Known optimum: ``spectro_colour_error == OPTIMAL_VALUE == 0.0`` at ``TARGET_VOLUMES_ML``
(cyan 3.2, magenta 6.1, yellow 1.5 mL), the unique zero in the box; see ``_model`` for the
physics. Registered as the ``colour-bench`` entry point in ``genesis_lab.stations``.
"""

from __future__ import annotations

from simulators.colour_bench._devices import DyePump, InjectedFaultError, Spectrophotometer
from simulators.colour_bench._model import (
    ABSORPTIVITY,
    ACTUATOR_NAMES,
    BANDS_NM,
    BASE_VOLUME_ML,
    DYES,
    OPTIMAL_VALUE,
    PATHLENGTH_CM,
    STOCK_MM,
    TARGET_ABSORBANCES,
    TARGET_VOLUMES_ML,
    VOLUME_LIMITS_ML,
    absorbances,
    colour_error,
    error_from_absorbances,
    measure,
    objective,
)
from simulators.colour_bench._plugin import (
    DETECTOR_NAME,
    OBJECTIVE_READING,
    PLUGIN,
    ColourBenchOptions,
    ColourBenchPlugin,
)

__all__ = [
    "ABSORPTIVITY",
    "ACTUATOR_NAMES",
    "BANDS_NM",
    "BASE_VOLUME_ML",
    "DETECTOR_NAME",
    "DYES",
    "OBJECTIVE_READING",
    "OPTIMAL_VALUE",
    "PATHLENGTH_CM",
    "PLUGIN",
    "STOCK_MM",
    "TARGET_ABSORBANCES",
    "TARGET_VOLUMES_ML",
    "VOLUME_LIMITS_ML",
    "ColourBenchOptions",
    "ColourBenchPlugin",
    "DyePump",
    "InjectedFaultError",
    "Spectrophotometer",
    "absorbances",
    "colour_error",
    "error_from_absorbances",
    "measure",
    "objective",
]
