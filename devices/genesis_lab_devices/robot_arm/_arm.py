"""The ``scpi-robot-arm`` driver: a sample-handling robot arm over SCPI (pyvisa).

:class:`RobotArm` is ``Movable`` with string setpoints: ``set("balance")`` moves the arm
(and the sample it holds) to that station; the Status finishes when the arm reports
``IDLE``. Its ``describe()`` declares the stations as ``choices`` of the data key named
like the device (so the worker's envelope refuses any other value before anything moves).
Refused, with the Status failed and nothing moved:

- a second move while one is in flight (:class:`ArmBusyError`, by the driver; the
  instrument refuses it too);
- a station that does not exist (``UnknownStationError``, a ValueError, raised by ``set``);
- carrying a sample to a station that holds one (a collision; the instrument refuses it:
  :class:`~devices._errors.InstrumentRefusedError`).

A stuck axis fails the move with :class:`~devices._errors.InstrumentFaultError`.
``pick()`` and ``place()`` take and leave the sample at the current station. Readings:
``NAME`` (the station, or ``MOVING``) and ``NAME_holding`` (the sample id, or ``NONE``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ophyd.status import Status
from pydantic import BaseModel, Field

from genesis_lab_devices._base import ConnectionSettings, Simulator, build_connected, fault
from genesis_lab_devices._errors import InstrumentError
from genesis_lab_devices._mover import ScpiMover
from genesis_lab_devices._poller import fail_status, finish_status

__all__ = [
    "ARM_DRIVER",
    "ArmBusyError",
    "ArmSettings",
    "RobotArm",
    "RobotArmDriver",
    "UnknownStationError",
    "arm_simulator",
]


class ArmBusyError(InstrumentError, RuntimeError):
    """A move was asked while another was in flight; it was refused and nothing moved."""


class UnknownStationError(ValueError):
    """A station the arm does not know; nothing was sent."""


class RobotArm(ScpiMover):
    """A sample-handling robot arm (see the module docstring)."""

    def connect(self) -> None:
        super().connect()
        self.stations: tuple[str, ...] = tuple(
            s.strip() for s in self.session.query("STAT:LIST?").split(",") if s.strip()
        )

    @property
    def position(self) -> str:
        return self.session.query("POS?").lower()

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Move to the station ``value`` (see the module docstring)."""
        if not isinstance(value, str) or value not in self.stations:
            raise UnknownStationError(
                f"{self.name}: {value!r} is not a station ({', '.join(self.stations)}); "
                "nothing was sent"
            )
        if self.moving:
            # a plain Status: a failed DeviceStatus would stop() the move in flight
            status = Status(self)
            fail_status(
                status,
                ArmBusyError(
                    f"{self.name}: refused a move to {value!r}: a move is in flight "
                    f"(one move at a time) at {self.session.address}",
                    device=self.name,
                    address=self.session.address,
                ),
            )
            return status
        return self._start_move(f"MOVE {value}", f"move to {value}")

    def _instant(self, command: str) -> Status:
        status = Status(self)
        try:
            self.session.write_checked(command)
        except Exception as exc:
            fail_status(status, exc)
        else:
            finish_status(status)
        return status

    def pick(self) -> Status:
        """Take the sample at the current station."""
        return self._instant("PICK")

    def place(self) -> Status:
        """Leave the sample in hand at the current station (refused if it holds one)."""
        return self._instant("PLACE")

    def read(self) -> dict[str, dict[str, Any]]:
        now = time.time()
        return {
            self.name: {"value": self.position, "timestamp": now},
            f"{self.name}_holding": {"value": self.session.query("HOLD?"), "timestamp": now},
        }

    def describe(self) -> dict[str, dict[str, Any]]:
        source = f"SCPI:{self.session.address}"
        return {
            self.name: {
                "source": f"{source}:POS?",
                "dtype": "string",
                "shape": [],
                "choices": list(self.stations),
            },
            f"{self.name}_holding": {"source": f"{source}:HOLD?", "dtype": "string", "shape": []},
        }

    @property
    def hints(self) -> dict[str, list[str]]:
        return {"fields": [self.name]}


class ArmSettings(ConnectionSettings):
    """Settings of the ``scpi-robot-arm`` driver."""

    move_timeout_s: float = Field(
        default=30.0, gt=0.0, description="A move not done by then fails (s)."
    )
    poll_s: float = Field(default=0.02, gt=0.0, description="Interval between status reads (s).")


@contextmanager
def arm_simulator(
    settings: Mapping[str, Any] | None = None, **options: Any
) -> Iterator[dict[str, Any]]:
    """Start a simulated robot arm (20x real time; ``options``: see
    ``genesis_lab_simulators.robot_arm.ArmSimulatorOptions``); yield settings that reach it, updated
    with ``settings``."""
    from genesis_lab_simulators.robot_arm import ArmSimulatorOptions, start_arm

    options.setdefault("time_scale", 20.0)
    with start_arm(ArmSimulatorOptions(**options)) as sim:
        yield {"address": sim.address, **(settings or {})}


class RobotArmDriver:
    """Builds a :class:`RobotArm`."""

    description = (
        "Sample-handling robot arm over SCPI (pyvisa): Movable with named stations as "
        "choices (rack, balance, spectrometer, hotplate), one move at a time, collisions "
        "refused; reads the station and the sample held"
    )
    settings_model: type[BaseModel] = ArmSettings

    def __init__(self) -> None:
        short = {"move_timeout_s": 0.5}
        self.simulator_faults: dict[str, Simulator] = {
            # a blocked axis: every move is accepted and would take an hour
            "hang": fault(arm_simulator, short, move_time_s=3600.0, time_scale=1.0),
            # an axis sticks at every move and the arm reports STUCK
            "error": fault(arm_simulator, short, stuck_rate=1.0),
        }

    def simulator(self) -> Any:
        return arm_simulator()

    def build(self, name: str, settings: Any) -> RobotArm:
        s = ArmSettings.model_validate(settings)
        return build_connected(
            lambda session: RobotArm(
                name=name, session=session, move_timeout_s=s.move_timeout_s, poll_s=s.poll_s
            ),
            s,
            name,
        )


#: Entry point ``scpi-robot-arm``.
ARM_DRIVER = RobotArmDriver()
