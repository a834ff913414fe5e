"""The contract of a simulated laboratory's physical model: settings in, readings out.

A domain simulator (laser powder-bed fusion, fermentation, solvent extraction, ...) is a
:class:`DomainModel`: pure computation, no Ophyd, no threads. It declares its settings
(what the station's actuators set, with units and limits or choices) and its readings (what
its detector reports, with units); :meth:`DomainModel.evaluate` gives the noise-free
readings at a point or raises :class:`ExperimentFailed` in the model's failure region;
:meth:`DomainModel.measure` adds the measurement noise; :meth:`DomainModel.duration_s` is
how long the experiment takes in simulated seconds. :mod:`simulators._domain._devices` turns
any model into Ophyd devices and a station plugin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["DomainModel", "ExperimentFailed", "Reading", "Setting", "SettingValue"]

SettingValue = float | str


class ExperimentFailed(RuntimeError):
    """The experiment fails rather than giving a number (a clogged line, a cracked pellet,
    a lost qubit readout). ``mode`` names the failure, for the record."""

    def __init__(self, message: str, *, mode: str) -> None:
        self.mode = mode
        super().__init__(message)


@dataclass(frozen=True)
class Setting:
    """One thing the experiment sets: a number within ``limits`` (in ``units``; whole
    numbers only if ``integer``) or one of ``choices``. ``default`` is where it starts."""

    name: str
    units: str = ""
    limits: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    integer: bool = False
    default: SettingValue = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        if (self.limits is None) == (self.choices is None):
            raise ValueError(f"setting {self.name!r}: give limits or choices (one of them)")
        if self.limits is not None and not self.limits[0] < self.limits[1]:
            raise ValueError(f"setting {self.name!r}: limits must be (low, high), low < high")


@dataclass(frozen=True)
class Reading:
    """One number the detector reports, in ``units``."""

    name: str
    units: str = ""
    description: str = ""


class DomainModel(ABC):
    """A simulated laboratory's physics. Subclasses set the class attributes and implement
    :meth:`evaluate`; override :meth:`measure` and :meth:`duration_s` for noise and time
    that depend on the point.

    ``settings`` and ``readings`` are tuples of :class:`Setting` and :class:`Reading`.
    ``source`` cites the published model. ``optimum``: the best known settings and readings
    (for regret), when known.
    """

    name: str
    settings: tuple[Setting, ...]
    readings: tuple[Reading, ...]
    source: str = ""

    @abstractmethod
    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        """The noise-free readings at ``values`` (every setting by name), or
        :class:`ExperimentFailed` in a failure region."""

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        """The readings as an instrument reports them: :meth:`evaluate` plus noise drawn
        from ``rng``. The base class adds no noise."""
        return self.evaluate(values)

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        """Simulated seconds the experiment at ``values`` takes. The base: one minute."""
        return 60.0

    def defaults(self) -> dict[str, SettingValue]:
        """Every setting at its default."""
        return {s.name: s.default for s in self.settings}
