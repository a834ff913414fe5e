"""The colour bench's devices as device drivers (entry-point group ``genesis_lab.devices``).

So the conformance kit (``genesis-lab devices check``) and lab files reach them like any
vendor's driver:

- ``colour-bench-pump``: one :class:`DyePump` (mL, limits enforced, Status timeout);
- ``colour-bench-spectrophotometer``: a :class:`Spectrophotometer` triggered with a
  timeout, reading a cuvette;
- ``colour-bench-solvent-selector``: a :class:`SolventSelector` (choices).

Standalone (the default) the spectrophotometer's cuvette holds fixed dye volumes set by its
settings (``cuvette_ml``, ``solvent``). With the setting ``cuvette: NAME`` on the pumps
(and their ``dye``), the selector and the spectrophotometer, they share one simulated
cuvette (:mod:`._cuvette`): the spectrophotometer measures what those pumps dispensed, in
the solvent that selector chose, which makes a lab file's station a closed loop.

The instruments are simulated in-process (``in_process = True``: there is no connection to
drop), so ``simulator()`` starts nothing and yields the default settings. The pump and the
spectrophotometer offer simulated faults (``simulator_faults``): ``hang`` (a move or
measurement that would take an hour, so the Status must fail at ``timeout_s``) and
``error`` (every move clogs, every measurement loses its lamp).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal

import numpy as np
from ophyd import DeviceStatus
from ophyd.utils.errors import InvalidState
from pydantic import BaseModel, ConfigDict, Field, model_validator

from genesis_lab_simulators.colour_bench._cuvette import (
    Cuvette,
    SolventSource,
    VolumeSource,
    attach_pump,
    attach_selector,
    levels,
    solvent_source,
)
from genesis_lab_simulators.colour_bench._devices import DyePump, Spectrophotometer
from genesis_lab_simulators.colour_bench._model import (
    DYES,
    REFERENCE_SOLVENT,
    SOLVENTS,
    TARGET_VOLUMES_ML,
    VOLUME_LIMITS_ML,
)
from genesis_lab_simulators.colour_bench._selector import SolventSelector

__all__ = [
    "HANG_LATENCY_S",
    "PUMP_DRIVER",
    "SELECTOR_DRIVER",
    "SPECTRO_DRIVER",
    "CuvettePump",
    "CuvetteSelector",
    "PumpDriver",
    "PumpSettings",
    "SelectorDriver",
    "SelectorSettings",
    "SpectroDriver",
    "SpectroSettings",
    "TimedSpectrophotometer",
]

#: The latency of a simulated ``hang``: far beyond any timeout (s).
HANG_LATENCY_S = 3600.0

Simulator = Callable[[], AbstractContextManager[dict[str, Any]]]

_CUVETTE_FIELD = Field(
    default=None,
    min_length=1,
    max_length=64,
    description="Name of the simulated cuvette shared with the other colour-bench devices "
    "naming it (one name per station); None: a device on its own.",
)


def _yields(settings: dict[str, Any]) -> Simulator:
    """A simulator that starts nothing (the device simulates itself) and yields ``settings``."""

    @contextmanager
    def simulator() -> Iterator[dict[str, Any]]:
        yield dict(settings)

    return simulator


class PumpSettings(BaseModel):
    """Settings of one simulated dye pump."""

    model_config = ConfigDict(extra="forbid")

    limits_ml: tuple[float, float] = Field(
        default=VOLUME_LIMITS_ML, description="Volume the pump can dispense, low and high (mL)."
    )
    init_ml: float = Field(default=0.0, description="Volume dispensed at start (mL).")
    latency_s: float = Field(default=0.0, ge=0.0, description="Time one move takes (s).")
    fault_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability a move clogs (0..1)."
    )
    seed: int = Field(default=0, description="Seed of the fault draws.")
    timeout_s: float = Field(
        default=5.0, gt=0.0, description="A move not done by then fails with a timeout (s)."
    )
    cuvette: str | None = _CUVETTE_FIELD
    dye: Literal["cyan", "magenta", "yellow"] | None = Field(
        default=None, description="The stock dye the pump holds (needed with cuvette)."
    )

    @model_validator(mode="after")
    def _inside(self) -> PumpSettings:
        low, high = self.limits_ml
        if not low < high:
            raise ValueError(f"limits_ml must have low < high, got {self.limits_ml}")
        if not low <= self.init_ml <= high:
            raise ValueError(f"init_ml {self.init_ml} is outside limits_ml {self.limits_ml}")
        if self.cuvette is not None and self.dye is None:
            raise ValueError(
                f"cuvette {self.cuvette!r}: say which stock dye the pump holds "
                "(dye: cyan, magenta or yellow)"
            )
        return self


class CuvettePump(DyePump):
    """A :class:`DyePump` dispensing ``dye`` into the shared cuvette named ``cuvette``;
    it leaves the cuvette on ``close()``."""

    def __init__(self, *, cuvette: str, dye: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dye = dye
        self.cuvette: Cuvette = attach_pump(cuvette, self, dye)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.cuvette.detach(self)


class PumpDriver:
    """Driver ``colour-bench-pump``: a simulated syringe pump of stock dye."""

    description = (
        "Simulated dye pump of the colour bench (in-process): volume dispensed in mL, "
        "limits 0-10 mL enforced before moving; optional latency and clogging faults; "
        "dispenses into a shared simulated cuvette with settings cuvette and dye"
    )
    settings_model: type[BaseModel] = PumpSettings
    in_process = True

    def __init__(self) -> None:
        defaults = PumpSettings().model_dump()
        self.simulator: Simulator | None = _yields(defaults)
        self.simulator_faults: dict[str, Simulator] = {
            "hang": _yields({**defaults, "latency_s": HANG_LATENCY_S, "timeout_s": 0.5}),
            "error": _yields({**defaults, "fault_rate": 1.0}),
        }

    def build(self, name: str, settings: Any) -> DyePump:
        """A :class:`DyePump` called ``name`` whose move Status times out at ``timeout_s``."""
        config = PumpSettings.model_validate(settings)
        rng = np.random.default_rng(config.seed) if config.fault_rate > 0.0 else None
        pump: dict[str, Any] = {
            "name": name,
            "limits": config.limits_ml,
            "init_pos": config.init_ml,
            "latency_s": config.latency_s,
            "fault_rate": config.fault_rate,
            "rng": rng,
            "timeout": config.timeout_s,
        }
        if config.cuvette is None or config.dye is None:
            return DyePump(**pump)
        return CuvettePump(cuvette=config.cuvette, dye=config.dye, **pump)


class SpectroSettings(BaseModel):
    """Settings of a simulated spectrophotometer: a cuvette of fixed dye volumes, or the
    shared ``cuvette`` the pumps naming it dispense into."""

    model_config = ConfigDict(extra="forbid")

    cuvette_ml: dict[str, float] = Field(
        default_factory=lambda: dict(zip(DYES, map(float, TARGET_VOLUMES_ML), strict=True)),
        description="Stock dye in the cuvette, by dye (cyan, magenta, yellow; mL, 0-10).",
    )
    solvent: str = Field(default=REFERENCE_SOLVENT, description=f"One of {', '.join(SOLVENTS)}.")
    noise_std: float = Field(default=0.01, ge=0.0, description="Absorbance noise (AU).")
    latency_s: float = Field(default=0.0, ge=0.0, description="Time one measurement takes (s).")
    fault_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability a measurement fails (0..1)."
    )
    seed: int = Field(default=0, description="Seed of the noise and fault draws.")
    timeout_s: float = Field(
        default=5.0, gt=0.0, description="A measurement not done by then fails (s)."
    )
    cuvette: str | None = _CUVETTE_FIELD

    @model_validator(mode="after")
    def _known(self) -> SpectroSettings:
        fixed = sorted({"cuvette_ml", "solvent"} & self.model_fields_set)
        if self.cuvette is not None and fixed:
            raise ValueError(
                f"cuvette {self.cuvette!r}: the pumps and the selector of the shared cuvette "
                f"say what it holds; leave out {' and '.join(fixed)}"
            )
        unknown = sorted(set(self.cuvette_ml) - set(DYES))
        if unknown:
            raise ValueError(f"cuvette_ml: unknown dyes {unknown}; dyes are {', '.join(DYES)}")
        if self.solvent not in SOLVENTS:
            raise ValueError(f"solvent {self.solvent!r} is not one of {', '.join(SOLVENTS)}")
        return self


class TimedSpectrophotometer(Spectrophotometer):
    """A :class:`Spectrophotometer` whose trigger Status fails with a timeout after
    ``timeout_s`` (and stops the measurement) instead of waiting for ever."""

    def __init__(self, *, timeout_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout_s = float(timeout_s)

    def trigger(self) -> DeviceStatus:
        outer = DeviceStatus(self, timeout=self.timeout_s)
        inner = super().trigger()

        def relay(done: Any) -> None:
            try:
                if done.success:
                    outer.set_finished()
                else:
                    outer.set_exception(done.exception())
            except InvalidState:
                pass  # the timeout came first

        inner.add_callback(relay)
        return outer


class SpectroDriver:
    """Driver ``colour-bench-spectrophotometer``: absorbance in four bands of a cuvette."""

    description = (
        "Simulated spectrophotometer of the colour bench (in-process): absorbance at 450, "
        "500, 550, 650 nm (AU), colour error (ΔA×100) and min transmittance (%) of a "
        "cuvette of given dye volumes, or of the shared cuvette its pumps fill (setting "
        "cuvette); optional latency and lamp faults"
    )
    settings_model: type[BaseModel] = SpectroSettings
    in_process = True

    def __init__(self) -> None:
        defaults = SpectroSettings().model_dump()
        self.simulator: Simulator | None = _yields(defaults)
        self.simulator_faults: dict[str, Simulator] = {
            "hang": _yields({**defaults, "latency_s": HANG_LATENCY_S, "timeout_s": 0.5}),
            "error": _yields({**defaults, "fault_rate": 1.0}),
        }

    def build(self, name: str, settings: Any) -> TimedSpectrophotometer:
        config = SpectroSettings.model_validate(settings)
        if config.cuvette is None:  # standalone: its own cuvette of fixed volumes
            pumps: list[VolumeSource] = [
                DyePump(name=f"{name}_cuvette_{dye}", init_pos=config.cuvette_ml.get(dye, 0.0))
                for dye in DYES
            ]
            solvent: SolventSource = SolventSelector(name=f"{name}_solvent", value=config.solvent)
        else:  # what the pumps on the shared cuvette have dispensed, when it measures
            pumps, solvent = levels(config.cuvette), solvent_source(config.cuvette)
        return TimedSpectrophotometer(
            name=name,
            pumps=pumps,
            rng=np.random.default_rng(config.seed),
            noise_std=config.noise_std,
            latency_s=config.latency_s,
            fault_rate=config.fault_rate,
            solvent=solvent,
            timeout_s=config.timeout_s,
        )


class SelectorSettings(BaseModel):
    """Settings of a simulated solvent selector."""

    model_config = ConfigDict(extra="forbid")

    choices: tuple[str, ...] = Field(default=SOLVENTS, description="Solvents it can select.")
    value: str = Field(default=REFERENCE_SOLVENT, description="Solvent selected at start.")
    cuvette: str | None = _CUVETTE_FIELD


class CuvetteSelector(SolventSelector):
    """A :class:`SolventSelector` choosing the solvent of the shared cuvette ``cuvette``;
    it leaves the cuvette on ``close()``."""

    def __init__(self, *, cuvette: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cuvette: Cuvette = attach_selector(cuvette, self)

    def close(self) -> None:
        self.cuvette.detach(self)


class SelectorDriver:
    """Driver ``colour-bench-solvent-selector``: picks one of a fixed set of solvents."""

    description = (
        "Simulated solvent selector of the colour bench (in-process): one of water, ethanol, "
        "glycerol, acetone (choices); switching is instant and cannot hang; chooses the "
        "solvent of a shared cuvette with setting cuvette"
    )
    settings_model: type[BaseModel] = SelectorSettings
    in_process = True

    def __init__(self) -> None:
        self.simulator: Simulator | None = _yields(SelectorSettings().model_dump())

    def build(self, name: str, settings: Any) -> SolventSelector:
        config = SelectorSettings.model_validate(settings)
        if config.cuvette is None:
            return SolventSelector(name=name, choices=config.choices, value=config.value)
        return CuvetteSelector(
            cuvette=config.cuvette, name=name, choices=config.choices, value=config.value
        )


#: Entry point ``colour-bench-pump``.
PUMP_DRIVER = PumpDriver()
#: Entry point ``colour-bench-spectrophotometer``.
SPECTRO_DRIVER = SpectroDriver()
#: Entry point ``colour-bench-solvent-selector``.
SELECTOR_DRIVER = SelectorDriver()
