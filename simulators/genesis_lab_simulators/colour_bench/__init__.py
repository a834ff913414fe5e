"""The colour bench: a simulated station mixing cyan, magenta and yellow dye to a target colour.

Actuators (Ophyd names = station keys): ``pump_cyan``, ``pump_magenta``, ``pump_yellow``,
each a :class:`DyePump` dispensing 0–10 mL of stock dye into 20 mL of solvent; with the
option ``solvent_selector``, also ``solvent``, a :class:`SolventSelector` taking one of
``SOLVENTS`` (water, ethanol, glycerol, acetone; water by default and without a selector).

Detectors: ``spectro``, a :class:`Spectrophotometer` whose data keys are
``spectro_absorbance_450``, ``spectro_absorbance_500``, ``spectro_absorbance_550``,
``spectro_absorbance_650`` (AU), ``spectro_colour_error`` (ΔA×100, the objective: minimise)
and ``spectro_min_transmittance`` (%, the darkest band's); and ``dosing``, a
:class:`DosingMeter` with ``dosing_total_dye`` (mL) and ``dosing_dye_cost`` (EUR).

Known optimum: ``spectro_colour_error == OPTIMAL_VALUE == 0.0`` at ``TARGET_VOLUMES_ML``
(cyan 3.2, magenta 6.1, yellow 1.5 mL) in water, the unique zero in the box; in any other
solvent the error stays above ``SOLVENT_BEST_ERROR`` (so the categorical optimum is
water). Less dye than the optimum's 10.8 mL always misses the target, so colour_error
against total dye or cost is a genuine Pareto front. Failure region (option
``precipitate_above_ml``, off by default): more dye than that in all and the measurement
fails with :class:`PrecipitationError`, every time. See ``_model`` for the physics.
Registered as the ``colour-bench`` entry point in ``genesis_lab.stations``. Its devices
are also device drivers (``_drivers``); with the setting ``cuvette``, drivers' pumps,
selector and spectrophotometer share one simulated :class:`Cuvette` (``_cuvette``).
"""

from __future__ import annotations

from genesis_lab_simulators.colour_bench._cuvette import (
    Cuvette,
    CuvetteConflictError,
    shared_cuvette,
)
from genesis_lab_simulators.colour_bench._devices import (
    DosingMeter,
    DyePump,
    InjectedFaultError,
    PrecipitationError,
    Spectrophotometer,
)
from genesis_lab_simulators.colour_bench._model import (
    ABSORPTIVITY,
    ACTUATOR_NAMES,
    BANDS_NM,
    BASE_VOLUME_ML,
    DYE_PRICE_EUR_PER_ML,
    DYES,
    OPTIMAL_VALUE,
    PATHLENGTH_CM,
    REFERENCE_SOLVENT,
    SOLVENT_ACTUATOR,
    SOLVENT_BEST_ERROR,
    SOLVENT_SCALE,
    SOLVENT_SHIFT,
    SOLVENTS,
    STOCK_MM,
    TARGET_ABSORBANCES,
    TARGET_VOLUMES_ML,
    VOLUME_LIMITS_ML,
    absorbances,
    colour_error,
    dye_cost,
    error_from_absorbances,
    measure,
    min_transmittance,
    objective,
    precipitates,
    shift_matrix,
    total_dye,
)
from genesis_lab_simulators.colour_bench._plugin import (
    DETECTOR_NAME,
    DOSING_NAME,
    OBJECTIVE_READING,
    PLUGIN,
    ColourBenchOptions,
    ColourBenchPlugin,
)
from genesis_lab_simulators.colour_bench._selector import SolventSelector, UnknownChoiceError

__all__ = [
    "ABSORPTIVITY",
    "ACTUATOR_NAMES",
    "BANDS_NM",
    "BASE_VOLUME_ML",
    "DETECTOR_NAME",
    "DOSING_NAME",
    "DYES",
    "DYE_PRICE_EUR_PER_ML",
    "OBJECTIVE_READING",
    "OPTIMAL_VALUE",
    "PATHLENGTH_CM",
    "PLUGIN",
    "REFERENCE_SOLVENT",
    "SOLVENTS",
    "SOLVENT_ACTUATOR",
    "SOLVENT_BEST_ERROR",
    "SOLVENT_SCALE",
    "SOLVENT_SHIFT",
    "STOCK_MM",
    "TARGET_ABSORBANCES",
    "TARGET_VOLUMES_ML",
    "VOLUME_LIMITS_ML",
    "ColourBenchOptions",
    "ColourBenchPlugin",
    "Cuvette",
    "CuvetteConflictError",
    "DosingMeter",
    "DyePump",
    "InjectedFaultError",
    "PrecipitationError",
    "SolventSelector",
    "Spectrophotometer",
    "UnknownChoiceError",
    "absorbances",
    "colour_error",
    "dye_cost",
    "error_from_absorbances",
    "measure",
    "min_transmittance",
    "objective",
    "precipitates",
    "shared_cuvette",
    "shift_matrix",
    "total_dye",
]
