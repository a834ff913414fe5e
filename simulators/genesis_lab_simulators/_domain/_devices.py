"""Any :class:`~simulators._domain.DomainModel` as Ophyd devices and a station plugin.

- Each numeric setting is an Ophyd ``SoftPositioner`` (Bluesky ``Movable`` and
  ``Readable``) with the setting's limits (enforced before anything moves:
  ``ophyd.utils.LimitError``) and units; a whole-number setting refuses fractions.
- Each categorical setting is a :class:`ChoiceSetting`, an Ophyd ``Signal`` whose
  ``describe()`` declares its ``choices`` (event-model's enum key).
- The detector (:class:`ModelDetector`, an Ophyd ``Device``) reads every setting when
  triggered, runs the model, and publishes its readings (data keys
  ``<detector>_<reading>``, with units) when its Status finishes, after the experiment's
  simulated duration divided by ``time_scale``. In the model's failure region the
  Status fails with the model's :class:`~simulators._domain.ExperimentFailed`.

Timers are ``threading.Timer`` threads that end with the measurement; ``close()`` cancels
and joins them, so no thread outlives the station.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, Kind, Signal
from ophyd.positioner import SoftPositioner
from ophyd.status import Status
from pydantic import BaseModel, ConfigDict, Field

from genesis_lab.station import Station
from genesis_lab_simulators._domain._model import (
    DomainModel,
    ExperimentFailed,
    Setting,
    SettingValue,
)

__all__ = ["ChoiceSetting", "DomainOptions", "DomainPlugin", "ModelDetector", "NumericSetting"]


class NumericSetting(SoftPositioner):
    """A numeric setting of the experiment: position in the setting's units, within its
    limits; ``integer`` settings refuse fractional values."""

    def __init__(self, setting: Setting, **kwargs: Any) -> None:
        assert setting.limits is not None  # a Setting has limits or choices
        self.integer = setting.integer
        low, high = setting.limits
        start = float(setting.default) if isinstance(setting.default, int | float) else low
        super().__init__(
            name=setting.name,
            limits=setting.limits,
            egu=setting.units,
            init_pos=min(max(start, low), high),
            **kwargs,
        )

    def check_value(self, value: Any) -> None:
        super().check_value(value)
        if self.integer and float(value) != round(float(value)):
            raise ValueError(f"{self.name}: takes whole numbers, not {value!r}")


class ChoiceSetting(Signal):
    """A categorical setting: its value is one of ``choices``; ``set`` finishes at once, or
    fails (``ValueError``) for anything else, leaving the value as it was."""

    def __init__(self, setting: Setting, **kwargs: Any) -> None:
        assert setting.choices is not None
        self.choices: tuple[str, ...] = setting.choices
        kwargs.setdefault("kind", Kind.hinted)
        super().__init__(name=setting.name, value=str(setting.default), **kwargs)

    def check_value(self, value: Any) -> None:
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(
                f"{self.name}: {value!r} is not one of {', '.join(self.choices)}; "
                f"it stays {self.get()!r}"
            )

    def set(self, value: Any, **kwargs: Any) -> Status:
        status = Status(self)
        try:
            self.check_value(value)
        except ValueError as exc:
            status.set_exception(exc)
            return status
        self.put(value)
        status.set_finished()
        return status

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        description[self.name]["choices"] = list(self.choices)
        return description


class ModelDetector(Device):
    """Runs the model on the settings' current values when triggered. Subclassed per model
    with one ``Signal`` component per reading (see :func:`detector_class`)."""

    def __init__(
        self,
        *,
        name: str,
        model: DomainModel,
        settings: Mapping[str, NumericSetting | ChoiceSetting],
        rng: np.random.Generator,
        time_scale: float,
        noise: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.model = model
        self.settings = dict(settings)
        self.rng = rng
        self.time_scale = time_scale
        self.noise = noise
        self.experiments = 0
        self.failures = 0
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._units = {f"{name}_{r.name}": r.units for r in model.readings}

    def values(self) -> dict[str, SettingValue]:
        """Every setting's current value, by setting name."""
        values: dict[str, SettingValue] = {}
        for setting in self.model.settings:
            device = self.settings[setting.name]
            raw = device.get() if isinstance(device, ChoiceSetting) else device.position
            values[setting.name] = raw if isinstance(raw, str) else float(raw)
        return values

    def trigger(self) -> DeviceStatus:
        status = DeviceStatus(self)
        values = self.values()
        self.experiments += 1
        try:
            readings = (
                self.model.measure(values, self.rng) if self.noise else self.model.evaluate(values)
            )
        except ExperimentFailed as exc:
            self.failures += 1
            status.set_exception(exc)
            return status
        delay = self.model.duration_s(values) / self.time_scale
        if delay <= 0 or not math.isfinite(delay):
            self._publish(readings, status)
            return status
        timer = threading.Timer(delay, self._finish, args=(readings, status))
        timer.name = f"{self.name}-measurement"
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()
        return status

    def _finish(self, readings: dict[str, float], status: DeviceStatus) -> None:
        with self._lock:
            self._timers.discard(threading.current_thread())
        self._publish(readings, status)

    def _publish(self, readings: Mapping[str, float], status: DeviceStatus) -> None:
        for reading in self.model.readings:
            getattr(self, reading.name).put(float(readings[reading.name]))
        status.set_finished()

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        for key, units in self._units.items():
            if key in description and units:
                description[key]["units"] = units
        return description

    def stop(self, *, success: bool = False) -> None:
        with self._lock:
            timers, self._timers = set(self._timers), set()
        for timer in timers:
            timer.cancel()
        super().stop(success=success)

    def close(self) -> None:
        """Cancel and join every pending measurement."""
        with self._lock:
            timers, self._timers = set(self._timers), set()
        for timer in timers:
            timer.cancel()
            timer.join()


def detector_class(model: DomainModel) -> type[ModelDetector]:
    """A :class:`ModelDetector` subclass with one hinted ``Signal`` per model reading."""
    components = {
        reading.name: Cpt(Signal, value=float("nan"), kind=Kind.hinted)
        for reading in model.readings
    }
    return type(f"{type(model).__name__}Detector", (ModelDetector,), components)


class DomainOptions(BaseModel):
    """The ``station.options`` of a simulated laboratory."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(default=0, description="Seed of the measurement noise.")
    noise: bool = Field(default=True, description="Add the model's measurement noise.")
    time_scale: float = Field(
        default=1e6,
        gt=0,
        description="Simulated seconds per real second: an experiment of duration_s "
        "simulated seconds takes duration_s / time_scale real seconds (1e6: an hour-long "
        "experiment takes 3.6 ms).",
    )
    model: dict[str, Any] = Field(
        default_factory=dict, description="Keyword options of the model (see its docstring)."
    )


class DomainPlugin:
    """A station plugin serving one model: its settings as actuators, one detector named
    after the model."""

    options_model: type[BaseModel] = DomainOptions

    def __init__(self, model_factory: Callable[..., DomainModel], description: str) -> None:
        self.model_factory = model_factory
        self.description = description

    def build(self, options: Any) -> Station:
        settings = DomainOptions.model_validate(options)
        model = self.model_factory(**settings.model)
        actuators: dict[str, NumericSetting | ChoiceSetting] = {
            s.name: NumericSetting(s) if s.choices is None else ChoiceSetting(s)
            for s in model.settings
        }
        detector = detector_class(model)(
            name=model.name,
            model=model,
            settings=actuators,
            rng=np.random.default_rng(settings.seed),
            time_scale=settings.time_scale,
            noise=settings.noise,
        )
        units = {s.name: s.units for s in model.settings if s.units}
        units.update({f"{model.name}_{r.name}": r.units for r in model.readings if r.units})
        return Station(
            actuators=dict(actuators),
            detectors=[detector],
            units=units,
            close=detector.close,
        )
