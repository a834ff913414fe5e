"""The ``furnace-bench`` station plugin: a SCPI tube furnace and its film probe.

By default the plugin starts a simulated furnace itself (a real TCP server on a free port
of 127.0.0.1, stopped when the station closes) and connects the drivers to it through
pyvisa; with ``address`` it connects to that instrument instead (a real furnace, or a
simulator started elsewhere). Actuators: ``furnace`` (degC) and ``furnace_ramp_rate``
(K/min); detector: ``probe`` (``probe_sheet_resistance``, ohm/sq: minimise it).
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genesis_lab.station import Station
from genesis_lab_devices.furnace._driver import FilmProbeDriver, FurnaceDriver

__all__ = ["FURNACE_BENCH", "FurnaceBenchOptions", "FurnaceBenchPlugin"]


class FurnaceBenchOptions(BaseModel):
    """Options of the ``furnace-bench`` station (a campaign's ``station.options``)."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(
        default=None,
        description=(
            "VISA resource of the furnace (TCPIP::HOST::PORT::SOCKET). None (default): "
            "start a simulated furnace on a free local port and use that."
        ),
    )
    simulator: dict[str, Any] = Field(
        default_factory=lambda: {"time_scale": 6000.0},
        description=(
            "Options of the simulated furnace when it is started here (time_scale, "
            "noise_K, resistance_noise_rel, drift_K_per_h, stuck_rate, stuck_at, drop_rate, "
            "drop_at, mute_rate, mute_at, seed); see simulators.tube_furnace."
        ),
    )
    timeout_s: float = Field(default=1.0, gt=0.0, description="Timeout of one SCPI call (s).")
    move_timeout_s: float = Field(
        default=60.0, gt=0.0, description="A furnace move not settled by then fails (s)."
    )
    tolerance_K: float = Field(default=1.0, gt=0.0, description="Settling tolerance (K).")


class FurnaceBenchPlugin:
    """Builds a furnace bench (and, by default, the simulated furnace it talks to)."""

    description = (
        "SCPI tube furnace over TCP through pyvisa (simulated unless 'address' is given): "
        "actuators furnace (degC) and furnace_ramp_rate (K/min); detector probe; "
        "minimise probe_sheet_resistance (ohm/sq; simulated optimum ~8.18 at 600 degC, "
        "10 K/min)"
    )
    options_model: type[BaseModel] = FurnaceBenchOptions

    def build(self, options: Any) -> Station:
        opts = FurnaceBenchOptions.model_validate(options)
        stack = contextlib.ExitStack()
        try:
            address = opts.address
            if address is None:
                from genesis_lab_simulators.tube_furnace import (
                    FurnaceSimulatorOptions,
                    start_furnace,
                )

                sim = start_furnace(FurnaceSimulatorOptions.model_validate(opts.simulator))
                stack.callback(sim.close)
                address = sim.address
            furnace = FurnaceDriver().build(
                "furnace",
                {
                    "address": address,
                    "timeout_s": opts.timeout_s,
                    "move_timeout_s": opts.move_timeout_s,
                    "tolerance_K": opts.tolerance_K,
                },
            )
            stack.callback(furnace.close)
            probe = FilmProbeDriver().build(
                "probe", {"address": address, "timeout_s": opts.timeout_s}
            )
            stack.callback(probe.close)
        except BaseException:
            stack.close()
            raise
        actuators: dict[str, Any] = {"furnace": furnace, furnace.ramp_rate.name: furnace.ramp_rate}
        units = {"furnace": "degC", furnace.ramp_rate.name: "K/min"}
        units.update({key: "ohm/sq" for key in probe.describe() if key.endswith("resistance")})
        return Station(actuators=actuators, detectors=[probe], units=units, close=stack.close)


#: Entry point ``furnace-bench`` in ``genesis_lab.stations``.
FURNACE_BENCH = FurnaceBenchPlugin()
