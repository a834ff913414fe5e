"""The ``colour-bench`` station plugin: options model and the factory of its devices."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from genesis_lab.station import Station
from simulators.colour_bench._devices import DyePump, Spectrophotometer
from simulators.colour_bench._model import ACTUATOR_NAMES

__all__ = [
    "DETECTOR_NAME",
    "OBJECTIVE_READING",
    "PLUGIN",
    "ColourBenchOptions",
    "ColourBenchPlugin",
]

#: Ophyd name of the spectrophotometer; its data keys start with ``spectro_``.
DETECTOR_NAME = "spectro"
#: The data key to minimise.
OBJECTIVE_READING = f"{DETECTOR_NAME}_colour_error"


class ColourBenchOptions(BaseModel):
    """Settings of the simulated colour bench (the ``station.options`` of a campaign)."""

    model_config = ConfigDict(extra="forbid")

    noise_std: float = Field(
        default=0.01,
        ge=0.0,
        description="Standard deviation of the Gaussian noise on each absorbance (AU).",
    )
    latency_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Time one measurement takes, i.e. per experiment (s); 0 finishes at once.",
    )
    fault_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Probability that a measurement fails with an injected lamp fault (0..1).",
    )
    seed: int = Field(
        default=0, description="Seed of the noise and fault stream; same seed, same readings."
    )


class ColourBenchPlugin:
    """Builds a fresh colour bench (three dye pumps and a spectrophotometer) per call."""

    description = (
        "Simulated colour-mixing bench: three dye pumps (pump_cyan, pump_magenta, "
        "pump_yellow; 0-10 mL) and a spectrophotometer 'spectro'; minimise "
        "spectro_colour_error (optimum 0.0 at cyan 3.2, magenta 6.1, yellow 1.5 mL)."
    )
    options_model: type[BaseModel] = ColourBenchOptions

    def build(self, options: Any) -> Station:
        """Create the devices from ``options`` (a :class:`ColourBenchOptions` or a dict)."""
        settings = ColourBenchOptions.model_validate(options)
        rng = np.random.default_rng(settings.seed)
        pumps = [DyePump(name=name) for name in ACTUATOR_NAMES]
        spectro = Spectrophotometer(
            name=DETECTOR_NAME,
            pumps=pumps,
            rng=rng,
            noise_std=settings.noise_std,
            latency_s=settings.latency_s,
            fault_rate=settings.fault_rate,
        )
        units = {name: "mL" for name in ACTUATOR_NAMES}
        units.update({key: str(info.get("units", "")) for key, info in spectro.describe().items()})

        def close() -> None:
            for pump in pumps:
                pump.close()
            spectro.close()

        return Station(
            actuators={pump.name: pump for pump in pumps},
            detectors=[spectro],
            units=units,
            close=close,
        )


#: The entry point ``colour-bench`` in the ``genesis_lab.stations`` group.
PLUGIN = ColourBenchPlugin()
