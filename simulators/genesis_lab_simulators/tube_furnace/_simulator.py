"""Start a simulated tube furnace on a real TCP socket: options and the running server."""

from __future__ import annotations

from pydantic import Field

from genesis_lab_simulators._options import RunningSimulator, SimulatorOptions
from genesis_lab_simulators.tube_furnace._instrument import FurnaceInstrument

__all__ = ["FurnaceSimulatorOptions", "start_furnace"]


class FurnaceSimulatorOptions(SimulatorOptions):
    """Options of the simulated tube furnace (plus where it listens and its link faults)."""

    noise_K: float = Field(default=0.05, ge=0.0, description="Thermocouple noise (K, 1 sigma).")
    resistance_noise_rel: float = Field(
        default=0.01, ge=0.0, description="Relative noise of the film's sheet resistance."
    )
    drift_K_per_h: float = Field(
        default=0.0, description="Thermocouple drift (K per simulated hour)."
    )
    stuck_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Probability per setpoint change that the heater fails for that move.",
    )
    stuck_at: list[int] = Field(
        default_factory=list, description="Setpoint changes (from 1) at which the heater fails."
    )


def start_furnace(
    options: FurnaceSimulatorOptions | None = None,
) -> RunningSimulator[FurnaceInstrument]:
    """Start a simulated furnace server (on a free port by default); close it when done."""
    opts = options or FurnaceSimulatorOptions()
    instrument = FurnaceInstrument(
        time_scale=opts.time_scale,
        noise_K=opts.noise_K,
        resistance_noise_rel=opts.resistance_noise_rel,
        drift_K_per_h=opts.drift_K_per_h,
        stuck_rate=opts.stuck_rate,
        stuck_at=opts.stuck_at,
        seed=opts.seed,
    )
    return RunningSimulator(instrument, opts, name="furnace")
