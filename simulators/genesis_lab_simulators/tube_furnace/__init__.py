"""A simulated tube furnace speaking SCPI over TCP, with an in-situ film probe.

:func:`start_furnace` serves a :class:`FurnaceInstrument` on a free port of 127.0.0.1 and
returns a :class:`~simulators._options.RunningSimulator` (``address``, ``command_log``,
``close()``). The driver is ``genesis_lab_devices.furnace`` (entry points ``scpi-furnace`` and
``scpi-film-probe``); the station plugin ``furnace-bench`` puts them together. Known optimum
of the film: ``OPTIMAL_VALUE`` ohm/sq at ``OPTIMAL_TEMPERATURE_C`` and
``BEST_RAMP_K_PER_MIN`` (see ``_model``).
"""

from __future__ import annotations

from genesis_lab_simulators.tube_furnace._instrument import (
    AMBIENT_C,
    RAMP_LIMITS_K_PER_MIN,
    TEMPERATURE_LIMITS_C,
    FurnaceInstrument,
)
from genesis_lab_simulators.tube_furnace._model import (
    BEST_RAMP_K_PER_MIN,
    OPTIMAL_TEMPERATURE_C,
    OPTIMAL_VALUE,
    sheet_resistance,
)
from genesis_lab_simulators.tube_furnace._simulator import FurnaceSimulatorOptions, start_furnace

__all__ = [
    "AMBIENT_C",
    "BEST_RAMP_K_PER_MIN",
    "OPTIMAL_TEMPERATURE_C",
    "OPTIMAL_VALUE",
    "RAMP_LIMITS_K_PER_MIN",
    "TEMPERATURE_LIMITS_C",
    "FurnaceInstrument",
    "FurnaceSimulatorOptions",
    "sheet_resistance",
    "start_furnace",
]
