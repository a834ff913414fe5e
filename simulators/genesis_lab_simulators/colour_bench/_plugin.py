"""The ``colour-bench`` station plugin: options model and the factory of its devices."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from genesis_lab.station import Envelope, Station
from genesis_lab_simulators.colour_bench._devices import DosingMeter, DyePump, Spectrophotometer
from genesis_lab_simulators.colour_bench._faults import PumpFaults
from genesis_lab_simulators.colour_bench._model import ACTUATOR_NAMES, SOLVENT_ACTUATOR
from genesis_lab_simulators.colour_bench._selector import SolventSelector

__all__ = [
    "DETECTOR_NAME",
    "DOSING_NAME",
    "OBJECTIVE_READING",
    "PLUGIN",
    "ColourBenchOptions",
    "ColourBenchPlugin",
]

#: Ophyd name of the spectrophotometer; its data keys start with ``spectro_``.
DETECTOR_NAME = "spectro"
#: Ophyd name of the dosing meter; its data keys start with ``dosing_``.
DOSING_NAME = "dosing"
#: The data key to minimise.
OBJECTIVE_READING = f"{DETECTOR_NAME}_colour_error"
#: How far a pump may read back from its setpoint (mL): the pumps meter exactly, so any
#: more is a stuck or drifting pump.
PUMP_TOLERANCE_ML = 1e-6


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
    solvent_selector: bool = Field(
        default=False,
        description=(
            "Fit the solvent selector: a categorical actuator 'solvent' (water, ethanol, "
            "glycerol, acetone). Without it the cuvette holds water, as with 'water' chosen."
        ),
    )
    precipitate_above_ml: float | None = Field(
        default=None,
        gt=0.0,
        description=(
            "Failure region: with more than this much dye in all (mL; cyan + magenta + "
            "yellow), the dyes precipitate and the measurement fails, every time. "
            "None (the default): never. The optimum needs 10.8 mL."
        ),
    )
    pump_latency_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Time each pump takes per move (s); the volume changes gradually and "
        "stop() halts it where it is. 0: moves finish at once.",
    )
    faults: PumpFaults = Field(
        default_factory=PumpFaults,
        description="Pump faults, each a probability per move or {probability, at_moves}: "
        "set_error (set() raises), never_complete (the status never finishes), stuck (done, "
        "but not moved), drift (done, drift_ml beyond the setpoint). Off by default.",
    )
    move_timeout_s: float | None = Field(
        default=None,
        gt=0.0,
        description="Seconds a move may take before the worker fails the trial "
        "(None: the worker's default).",
    )


class ColourBenchPlugin:
    """Builds a fresh colour bench per call: three dye pumps, a spectrophotometer, a dosing
    meter, and (option ``solvent_selector``) a solvent selector."""

    description = (
        "Simulated colour-mixing bench: three dye pumps (pump_cyan, pump_magenta, "
        "pump_yellow; 0-10 mL), optionally a solvent selector 'solvent' (water, ethanol, "
        "glycerol, acetone; option solvent_selector), a spectrophotometer 'spectro' and a "
        "dosing meter 'dosing'; minimise spectro_colour_error (optimum 0.0 in water at "
        "cyan 3.2, magenta 6.1, yellow 1.5 mL); trade it off against dosing_total_dye (mL) "
        "or dosing_dye_cost (EUR); bound spectro_min_transmittance (%); option "
        "precipitate_above_ml makes experiments with more dye than that fail."
    )
    options_model: type[BaseModel] = ColourBenchOptions

    def build(self, options: Any) -> Station:
        """Create the devices from ``options`` (a :class:`ColourBenchOptions` or a dict)."""
        settings = ColourBenchOptions.model_validate(options)
        rng = np.random.default_rng(settings.seed)
        pumps = [
            DyePump(
                name=name,
                latency_s=settings.pump_latency_s,
                faults=settings.faults,
                fault_rng=np.random.default_rng([settings.seed, 1000 + index]),
            )
            for index, name in enumerate(ACTUATOR_NAMES)
        ]
        actuators: dict[str, Any] = {pump.name: pump for pump in pumps}
        solvent = SolventSelector(name=SOLVENT_ACTUATOR) if settings.solvent_selector else None
        if solvent is not None:
            actuators[solvent.name] = solvent
        spectro = Spectrophotometer(
            name=DETECTOR_NAME,
            pumps=pumps,
            rng=rng,
            noise_std=settings.noise_std,
            latency_s=settings.latency_s,
            fault_rate=settings.fault_rate,
            solvent=solvent,
            precipitate_above_mL=settings.precipitate_above_ml,
        )
        dosing = DosingMeter(name=DOSING_NAME, pumps=pumps)
        units = {
            key: str(info["units"])
            for device in [*actuators.values(), spectro, dosing]
            for key, info in device.describe().items()
            if info.get("units")
        }

        def close() -> None:
            for pump in pumps:
                pump.close()
            spectro.close()

        envelope = Envelope(
            tolerance={pump.name: PUMP_TOLERANCE_ML for pump in pumps},
            move_timeout_s=settings.move_timeout_s,
        )
        return Station(
            actuators=actuators,
            detectors=[spectro, dosing],
            units=units,
            close=close,
            envelope=envelope,
        )


#: The entry point ``colour-bench`` in the ``genesis_lab.stations`` group.
PLUGIN = ColourBenchPlugin()
