"""The ``scpi-furnace`` and ``scpi-film-probe`` drivers (``genesis_lab.devices`` entry points).

Simulated faults (``simulator_faults``, for the conformance kit): the furnace's ``hang`` is
a failed heater (``stuck_rate=1``: every setpoint is accepted and never reached, so the move
times out at ``move_timeout_s``), its ``error`` a refused setpoint (``refuse_rate=1``:
``-240 heater interlock open``). The film probe's ``error`` is a refused measurement
(``-240 film probe contact open``); it offers no ``hang``: a measurement is one query
answered at once, so nothing on the instrument can run on for ever (a reply that never
comes is a VISA timeout, covered by the disconnect check).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, Field

from genesis_lab_devices._base import ConnectionSettings, Simulator, build_connected, fault
from genesis_lab_devices.furnace._device import FilmProbe, ScpiFurnace

__all__ = [
    "FILM_PROBE_DRIVER",
    "FURNACE_DRIVER",
    "FilmProbeDriver",
    "FilmProbeSettings",
    "FurnaceDriver",
    "FurnaceSettings",
    "furnace_simulator",
]

#: Simulated time runs this much faster for the drivers' own simulator (1000 K/s at 10 K/min).
SIMULATOR_TIME_SCALE = 6000.0


class FurnaceSettings(ConnectionSettings):
    """Settings of the ``scpi-furnace`` driver."""

    tolerance_K: float = Field(
        default=1.0, gt=0.0, description="Settled when within this of the setpoint (K)."
    )
    settle_reads: int = Field(default=3, ge=1, description="Reads in a row within tolerance.")
    poll_s: float = Field(default=0.02, gt=0.0, description="Interval between reads (s).")
    move_timeout_s: float = Field(
        default=120.0, gt=0.0, description="A move not settled by then fails (s)."
    )


class FilmProbeSettings(ConnectionSettings):
    """Settings of the ``scpi-film-probe`` driver."""

    measure_timeout_s: float = Field(
        default=10.0, gt=0.0, description="A measurement not done by then fails (s)."
    )


@contextmanager
def furnace_simulator(
    settings: Mapping[str, Any] | None = None, **options: Any
) -> Iterator[dict[str, Any]]:
    """Start a simulated furnace on a free port (``options``: see
    ``genesis_lab_simulators.tube_furnace.FurnaceSimulatorOptions``); yield driver settings
    that reach it, updated with ``settings``."""
    from genesis_lab_simulators.tube_furnace import FurnaceSimulatorOptions, start_furnace

    options.setdefault("time_scale", SIMULATOR_TIME_SCALE)
    with start_furnace(FurnaceSimulatorOptions(**options)) as sim:
        yield {"address": sim.address, "timeout_s": 1.0, **(settings or {})}


class FurnaceDriver:
    """Builds a :class:`ScpiFurnace`."""

    description = (
        "Tube furnace temperature controller over SCPI (pyvisa, TCPIP::HOST::PORT::SOCKET): "
        "Movable setpoint in degC (settles within tolerance, limits from the instrument), "
        "ramp rate in K/min; reads furnace_temperature, furnace_setpoint"
    )
    settings_model: type[BaseModel] = FurnaceSettings

    def __init__(self) -> None:
        short = {"move_timeout_s": 0.5}
        self.simulator_faults: dict[str, Simulator] = {
            "hang": fault(furnace_simulator, short, stuck_rate=1.0),
            "error": fault(furnace_simulator, short, refuse_rate=1.0),
        }

    def simulator(self) -> Any:
        return furnace_simulator()

    def build(self, name: str, settings: Any) -> ScpiFurnace:
        s = FurnaceSettings.model_validate(settings)
        return build_connected(
            lambda session: ScpiFurnace(
                name=name,
                session=session,
                tolerance_K=s.tolerance_K,
                settle_reads=s.settle_reads,
                poll_s=s.poll_s,
                move_timeout_s=s.move_timeout_s,
            ),
            s,
            name,
        )


class FilmProbeDriver:
    """Builds a :class:`FilmProbe`."""

    description = (
        "In-situ four-point film probe of the SCPI tube furnace (pyvisa): Triggerable; "
        "reads probe_sheet_resistance (ohm/sq) and probe_temperature (degC)"
    )
    settings_model: type[BaseModel] = FilmProbeSettings

    def __init__(self) -> None:
        # No "hang": see the module docstring.
        self.simulator_faults: dict[str, Simulator] = {
            "error": fault(furnace_simulator, {"measure_timeout_s": 0.5}, refuse_rate=1.0),
        }

    def simulator(self) -> Any:
        return furnace_simulator()

    def build(self, name: str, settings: Any) -> FilmProbe:
        s = FilmProbeSettings.model_validate(settings)
        return build_connected(
            lambda session: FilmProbe(
                name=name, session=session, measure_timeout_s=s.measure_timeout_s
            ),
            s,
            name,
        )


#: Entry point ``scpi-furnace``.
FURNACE_DRIVER = FurnaceDriver()
#: Entry point ``scpi-film-probe``.
FILM_PROBE_DRIVER = FilmProbeDriver()
