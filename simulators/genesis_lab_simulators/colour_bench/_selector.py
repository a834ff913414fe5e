"""The solvent selector: an actuator that takes one of a fixed set of choices, not a number.

:class:`SolventSelector` is an Ophyd ``Signal`` (Bluesky ``Movable`` and ``Readable``) whose
value is the name of the solvent in the cuvette. ``set(choice)`` returns a Status that is
already finished: successfully for one of ``choices``, otherwise failed with
:class:`UnknownChoiceError` and the selector still on its previous choice. ``describe()``
states ``dtype: string`` and the ``choices`` (event-model's enum key); it declares no
numeric limits, so the worker's envelope leaves the choice to the selector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ophyd import Kind, Signal
from ophyd.status import Status

from genesis_lab_simulators.colour_bench._model import REFERENCE_SOLVENT, SOLVENTS

__all__ = ["SolventSelector", "UnknownChoiceError"]


class UnknownChoiceError(ValueError):
    """A selector was asked for a choice it does not have; nothing was changed."""

    def __init__(self, message: str, *, device: str, value: object, choices: Sequence[str]):
        self.device = device
        self.value = value
        self.choices = tuple(choices)
        super().__init__(message)


class SolventSelector(Signal):
    """Selects the solvent the dyes are dissolved in; its value is the solvent's name.

    Reads as ``{name: {"value": "water", ...}}``; ``set`` takes a string from ``choices``
    and finishes at once (switching solvents takes no simulated time).
    """

    def __init__(
        self,
        *,
        name: str,
        choices: Sequence[str] = SOLVENTS,
        value: str = REFERENCE_SOLVENT,
        **kwargs: Any,
    ) -> None:
        self.choices: tuple[str, ...] = tuple(choices)
        if not self.choices or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"{name}: choices must be distinct and not empty, got {choices!r}")
        kwargs.setdefault("kind", Kind.hinted)
        super().__init__(name=name, value=value, **kwargs)
        self.check_value(value)

    def check_value(self, value: Any) -> None:
        """Refuse anything but one of ``choices``: :class:`UnknownChoiceError`, a ValueError."""
        if not isinstance(value, str) or value not in self.choices:
            raise UnknownChoiceError(
                f"{self.name}: {value!r} is not one of its choices "
                f"({', '.join(self.choices)}); the solvent stays {self.get()!r}",
                device=self.name,
                value=value,
                choices=self.choices,
            )

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Switch to ``value``; the returned Status is finished, or failed if it is no choice."""
        status = Status(self)
        try:
            self.check_value(value)
        except UnknownChoiceError as exc:
            status.set_exception(exc)
            return status
        self.put(value)
        status.set_finished()
        return status

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        description[self.name]["choices"] = list(self.choices)
        return description
