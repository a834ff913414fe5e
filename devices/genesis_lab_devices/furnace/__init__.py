"""A tube furnace driven by SCPI text over TCP through pyvisa (pyvisa-py).

Drivers (``genesis_lab.devices``): ``scpi-furnace`` (:class:`ScpiFurnace`, Movable in degC)
and ``scpi-film-probe`` (:class:`FilmProbe`, Triggerable, sheet resistance in ohm/sq).
Station plugin (``genesis_lab.stations``): ``furnace-bench``. Simulated instrument:
``genesis_lab_simulators.tube_furnace``.
"""

from __future__ import annotations

from genesis_lab_devices.furnace._device import FilmProbe, ScpiFurnace
from genesis_lab_devices.furnace._driver import (
    FILM_PROBE_DRIVER,
    FURNACE_DRIVER,
    FilmProbeDriver,
    FilmProbeSettings,
    FurnaceDriver,
    FurnaceSettings,
    furnace_simulator,
)
from genesis_lab_devices.furnace._station import (
    FURNACE_BENCH,
    FurnaceBenchOptions,
    FurnaceBenchPlugin,
)

__all__ = [
    "FILM_PROBE_DRIVER",
    "FURNACE_BENCH",
    "FURNACE_DRIVER",
    "FilmProbe",
    "FilmProbeDriver",
    "FilmProbeSettings",
    "FurnaceBenchOptions",
    "FurnaceBenchPlugin",
    "FurnaceDriver",
    "FurnaceSettings",
    "ScpiFurnace",
    "furnace_simulator",
]
