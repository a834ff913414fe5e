"""A domain simulator's devices as device drivers, so the conformance kit checks them.

``DomainDrivers(model_factory).setting`` builds one numeric setting (an actuator);
``.detector`` builds the model's detector with its settings at their defaults. Both are
simulated in-process (``in_process = True``): ``simulator()`` starts nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from genesis_lab_simulators._domain._devices import (
    ChoiceSetting,
    ModelDetector,
    NumericSetting,
    detector_class,
)
from genesis_lab_simulators._domain._model import DomainModel

__all__ = ["DetectorDriver", "SettingDriver"]


class SettingDriverSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    setting: str = Field(default="", description="Which setting (default: the first numeric).")


class DetectorDriverSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    time_scale: float = Field(default=1e6, gt=0, description="Simulated s per real s.")


@contextmanager
def _nothing_to_start() -> Iterator[dict[str, Any]]:
    yield {}


class SettingDriver:
    """One numeric setting of the model as a Movable, Readable actuator."""

    in_process = True
    settings_model: type[BaseModel] = SettingDriverSettings

    def __init__(self, model_factory: Callable[..., DomainModel], description: str) -> None:
        self.model_factory = model_factory
        self.description = description

    def simulator(self) -> Any:
        return _nothing_to_start()

    def build(self, name: str, settings: Any) -> NumericSetting:
        wanted = SettingDriverSettings.model_validate(settings).setting
        numeric = [s for s in self.model_factory().settings if s.limits is not None]
        chosen = [s for s in numeric if s.name == wanted] if wanted else numeric[:1]
        if not chosen:
            names = ", ".join(s.name for s in numeric)
            raise ValueError(f"no numeric setting {wanted!r} (settings: {names})")
        return NumericSetting(dataclasses.replace(chosen[0], name=name))


class DetectorDriver:
    """The model's detector (Triggerable, Readable), its settings at their defaults."""

    in_process = True
    settings_model: type[BaseModel] = DetectorDriverSettings

    def __init__(self, model_factory: Callable[..., DomainModel], description: str) -> None:
        self.model_factory = model_factory
        self.description = description

    def simulator(self) -> Any:
        return _nothing_to_start()

    def build(self, name: str, settings: Any) -> ModelDetector:
        options = DetectorDriverSettings.model_validate(settings)
        model = self.model_factory()
        actuators = {
            s.name: NumericSetting(s) if s.choices is None else ChoiceSetting(s)
            for s in model.settings
        }
        return detector_class(model)(
            name=name,
            model=model,
            settings=actuators,
            rng=np.random.default_rng(options.seed),
            time_scale=options.time_scale,
            noise=True,
        )
