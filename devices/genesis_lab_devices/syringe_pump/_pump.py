"""The ``scpi-syringe-pump`` driver: a syringe pump over SCPI (pyvisa).

:class:`SyringePump` is ``Movable``: its position is the volume dispensed (mL, limits
``[0, capacity]`` from the instrument); ``set(v)`` dispenses (or withdraws) to ``v`` and
its Status finishes when the pump reports ``IDLE``. A target beyond what the syringe still
holds is refused by the instrument: the Status fails with
:class:`~devices._errors.InstrumentRefusedError` ("syringe empty: ... mL left") and the
plunger does not move. A stalled plunger fails it with
:class:`~devices._errors.InstrumentFaultError`; no end within ``move_timeout_s``, with
:class:`~devices._errors.InstrumentTimeoutError`. Readings: ``NAME_volume`` (hinted) and
``NAME_remaining`` (mL); configuration ``NAME_rate`` (mL/min, itself ``Movable``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ophyd import Component as Cpt
from ophyd import DeviceStatus, Kind
from pydantic import BaseModel, Field

from genesis_lab_devices._base import ConnectionSettings, Simulator, build_connected, fault
from genesis_lab_devices._mover import ScpiMover
from genesis_lab_devices._signals import ScpiReading, ScpiSetting, check_number

__all__ = ["PUMP_DRIVER", "PumpSettings", "SyringePump", "SyringePumpDriver", "pump_simulator"]


class SyringePump(ScpiMover):
    """A syringe pump (see the module docstring)."""

    volume = Cpt(
        ScpiReading, query="MEAS:VOL?", units="mL", limits_query="SOUR:VOL?", kind=Kind.hinted
    )
    remaining = Cpt(ScpiReading, query="MEAS:REM?", units="mL", kind="normal")
    rate = Cpt(ScpiSetting, query="SOUR:RATE?", command="SOUR:RATE", units="mL/min", kind="config")

    egu = "mL"

    def connect(self) -> None:
        super().connect()
        _ = self.volume.limits, self.rate.limits

    @property
    def limits(self) -> tuple[float, float]:
        return self.volume.limits

    @property
    def position(self) -> float:
        return float(self.volume.get())

    def set(self, value: Any, **kwargs: Any) -> DeviceStatus:
        """Dispense to ``value`` mL in all (see the module docstring)."""
        target = check_number(self.name, value, self.limits, self.egu)
        return self._start_move(f"SOUR:VOL {target:.10g}", f"dispensing to {target:g} mL")


class PumpSettings(ConnectionSettings):
    """Settings of the ``scpi-syringe-pump`` driver."""

    move_timeout_s: float = Field(
        default=60.0, gt=0.0, description="A dispense not done by then fails (s)."
    )
    poll_s: float = Field(default=0.02, gt=0.0, description="Interval between status reads (s).")


@contextmanager
def pump_simulator(
    settings: Mapping[str, Any] | None = None, **options: Any
) -> Iterator[dict[str, Any]]:
    """Start a simulated syringe pump (60x real time; ``options``: see
    ``genesis_lab_simulators.syringe_pump.PumpSimulatorOptions``); yield settings that reach it,
    updated with ``settings``."""
    from genesis_lab_simulators.syringe_pump import PumpSimulatorOptions, start_pump

    options.setdefault("time_scale", 60.0)
    with start_pump(PumpSimulatorOptions(**options)) as sim:
        yield {"address": sim.address, **(settings or {})}


class SyringePumpDriver:
    """Builds a :class:`SyringePump`."""

    description = (
        "Syringe pump over SCPI (pyvisa, TCPIP::HOST::PORT::SOCKET): Movable volume "
        "dispensed in mL (limits from the syringe), rate in mL/min; refuses a dispense "
        "beyond what is left; a stalled plunger fails the move"
    )
    settings_model: type[BaseModel] = PumpSettings

    def __init__(self) -> None:
        short = {"move_timeout_s": 0.5}
        self.simulator_faults: dict[str, Simulator] = {
            # the plunger crawls at the pump's slowest rate, in real time: a dispense of a
            # few mL would take hours, so it is accepted and never done in time
            "hang": fault(pump_simulator, short, rate_mL_per_min=0.01, time_scale=1.0),
            # every dispense stalls halfway and the pump reports STALLED
            "error": fault(pump_simulator, short, stall_rate=1.0),
        }

    def simulator(self) -> Any:
        return pump_simulator()

    def build(self, name: str, settings: Any) -> SyringePump:
        s = PumpSettings.model_validate(settings)
        return build_connected(
            lambda session: SyringePump(
                name=name, session=session, move_timeout_s=s.move_timeout_s, poll_s=s.poll_s
            ),
            s,
            name,
        )


#: Entry point ``scpi-syringe-pump``.
PUMP_DRIVER = SyringePumpDriver()
