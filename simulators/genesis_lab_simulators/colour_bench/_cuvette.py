"""A simulated cuvette shared by the colour bench's drivers: the liquid that connects them.

A lab file builds every device on its own (``genesis_lab.station.build_device``), so the
pumps and the spectrophotometer of a station meet only where they meet on a real bench:
in the cuvette the pumps dispense into and the spectrophotometer reads. The setting
``cuvette: NAME`` of the ``colour-bench-pump``, ``colour-bench-solvent-selector`` and
``colour-bench-spectrophotometer`` drivers names one simulated cuvette of the process:

- a pump joins it (:func:`attach_pump`) and what it has dispensed (its position) is in
  the cuvette; one pump per dye (another is refused with :class:`CuvetteConflictError`);
- a selector joins it (:func:`attach_selector`, at most one) and chooses its solvent
  (water without one);
- a spectrophotometer reads it through :func:`levels` and :func:`solvent_source`, exactly
  as the bench's own spectrophotometer reads its pumps, so it measures what the pumps
  dispensed, now.

A pump or selector leaves on ``close()`` (:meth:`Cuvette.detach`), taking its liquid or
its choice with it; once none is left the name is free, and the next station built on it
starts with an empty cuvette. Use one name per station. The registry of names is the one
process-wide state of the colour bench, deliberately: the simulated liquid is what
separately built devices share. Importing this module creates an empty registry and
starts nothing.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from genesis_lab_simulators.colour_bench._model import DYES, REFERENCE_SOLVENT

__all__ = [
    "Cuvette",
    "CuvetteConflictError",
    "SolventSource",
    "VolumeSource",
    "attach_pump",
    "attach_selector",
    "levels",
    "shared_cuvette",
    "solvent_source",
]


class VolumeSource(Protocol):
    """Something holding a volume of one dye (mL): a pump, or a cuvette's level of it."""

    @property
    def position(self) -> Any: ...


class SolventSource(Protocol):
    """Something naming the solvent in the cuvette: a selector, or the cuvette's solvent."""

    def get(self) -> Any: ...


class CuvetteConflictError(ValueError):
    """A device cannot join a cuvette: its dye already has a pump there, or the cuvette
    already has a solvent selector. Nothing was attached."""

    def __init__(self, message: str, *, cuvette: str, device: str) -> None:
        self.cuvette = cuvette
        self.device = device
        super().__init__(message)


class Cuvette:
    """One simulated cuvette (see the module docstring); made by the first device joining."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._pumps: dict[str, Any] = {}
        self._selector: Any = None

    def volume(self, dye: str) -> float:
        """Stock ``dye`` dispensed into the cuvette (mL): its pump's position, or 0."""
        with self._lock:
            pump = self._pumps.get(dye)
        return 0.0 if pump is None else float(pump.position)

    def volumes(self) -> list[float]:
        """Dye volumes in the cuvette (mL), in ``DYES`` order."""
        return [self.volume(dye) for dye in DYES]

    def solvent(self) -> str:
        """The solvent the attached selector chose; water without a selector."""
        with self._lock:
            selector = self._selector
        return REFERENCE_SOLVENT if selector is None else str(selector.get())

    @property
    def members(self) -> tuple[Any, ...]:
        """The pumps and the selector attached now."""
        with self._lock:
            selector = () if self._selector is None else (self._selector,)
            return (*self._pumps.values(), *selector)

    def _join(self, device: Any, dye: str | None) -> None:
        name = getattr(device, "name", repr(device))
        with self._lock:
            taken = self._pumps.get(dye) if dye is not None else self._selector
            if taken is not None:
                what = f"a {dye} pump" if dye is not None else "a solvent selector"
                raise CuvetteConflictError(
                    f"{name}: cuvette {self.name!r} already has {what} ({taken.name!r}); "
                    "one per cuvette (close the station that built it, or give this device "
                    "another cuvette)",
                    cuvette=self.name,
                    device=name,
                )
            if dye is not None:
                self._pumps[dye] = device
            else:
                self._selector = device

    def detach(self, device: Any) -> None:
        """``device`` leaves the cuvette (its liquid, or its choice, goes with it); the last
        one out frees the name. Safe to call twice."""
        with self._lock:
            self._pumps = {d: p for d, p in self._pumps.items() if p is not device}
            if self._selector is device:
                self._selector = None
        _REGISTRY.release(self)


class _Registry:
    """The cuvettes of this process that have a device attached, by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cuvettes: dict[str, Cuvette] = {}

    def attach(self, name: str, device: Any, dye: str | None) -> Cuvette:
        with self._lock:
            cuvette = self._cuvettes.get(name) or Cuvette(name)
            cuvette._join(device, dye)
            self._cuvettes[name] = cuvette
            return cuvette

    def release(self, cuvette: Cuvette) -> None:
        with self._lock:
            if self._cuvettes.get(cuvette.name) is cuvette and not cuvette.members:
                del self._cuvettes[cuvette.name]

    def get(self, name: str) -> Cuvette | None:
        with self._lock:
            return self._cuvettes.get(name)


_REGISTRY = _Registry()


def attach_pump(name: str, pump: VolumeSource, dye: str) -> Cuvette:
    """Put ``pump`` (dispensing ``dye``) on the cuvette ``name``; :class:`CuvetteConflictError`
    if that dye has a pump there. Call :meth:`Cuvette.detach` when the pump closes."""
    if dye not in DYES:
        raise ValueError(f"a pump's dye must be one of {', '.join(DYES)}, got {dye!r}")
    return _REGISTRY.attach(name, pump, dye)


def attach_selector(name: str, selector: SolventSource) -> Cuvette:
    """Let ``selector`` choose the solvent of the cuvette ``name``;
    :class:`CuvetteConflictError` if it has one. Detach it when it closes."""
    return _REGISTRY.attach(name, selector, None)


def shared_cuvette(name: str) -> Cuvette | None:
    """The cuvette ``name`` if a pump or selector is attached to it now, else None."""
    return _REGISTRY.get(name)


class _Level:
    """The volume of one dye in the cuvette ``name`` now (mL), read like a pump's position."""

    def __init__(self, name: str, dye: str) -> None:
        self.name = name
        self.dye = dye

    @property
    def position(self) -> float:
        cuvette = _REGISTRY.get(self.name)
        return 0.0 if cuvette is None else cuvette.volume(self.dye)


class _Solvent:
    """The solvent in the cuvette ``name`` now, read like a selector."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self) -> str:
        cuvette = _REGISTRY.get(self.name)
        return REFERENCE_SOLVENT if cuvette is None else cuvette.solvent()


def levels(name: str) -> list[VolumeSource]:
    """The dye levels of the cuvette ``name``, in ``DYES`` order (a spectrophotometer's
    ``pumps``); each reads 0 mL while no pump of its dye is attached."""
    return [_Level(name, dye) for dye in DYES]


def solvent_source(name: str) -> SolventSource:
    """The solvent of the cuvette ``name`` (a spectrophotometer's ``solvent``)."""
    return _Solvent(name)
