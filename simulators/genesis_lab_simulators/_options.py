"""What every simulated instrument server shares: where it listens, its clock, link faults.

:class:`SimulatorOptions` is the pydantic base of each simulator's options (the instrument
adds its own physics and faults); :class:`RunningSimulator` is a started instrument behind a
:class:`~simulators._tcp_server.LineServer`, a context manager that stops it.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from genesis_lab_simulators._scpi import ScpiInstrument
from genesis_lab_simulators._tcp_server import LineServer, LinkFaults

__all__ = ["RunningSimulator", "SimulatorOptions"]

InstrumentT = TypeVar("InstrumentT", bound=ScpiInstrument)


class SimulatorOptions(BaseModel):
    """Options every simulated instrument server takes."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=0, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    time_scale: float = Field(
        default=1.0,
        gt=0.0,
        description="Simulated seconds per real second (a slow instrument, sped up).",
    )
    seed: int = Field(default=0, description="Seed of the noise and fault draws.")
    drop_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability per command of a dropped link."
    )
    drop_at: list[int] = Field(
        default_factory=list, description="Command numbers (from 1) at which the link drops."
    )
    mute_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability per command of a lost reply."
    )
    mute_at: list[int] = Field(
        default_factory=list, description="Command numbers (from 1) whose reply is lost."
    )
    refuse_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Probability per action (a move, a measurement) that the instrument "
        "refuses it with a hardware error (-240).",
    )
    refuse_at: list[int] = Field(
        default_factory=list, description="Actions (from 1) the instrument refuses."
    )

    def link_faults(self) -> LinkFaults:
        return LinkFaults(
            drop_rate=self.drop_rate,
            drop_at=tuple(self.drop_at),
            mute_rate=self.mute_rate,
            mute_at=tuple(self.mute_at),
            seed=self.seed + 1,
        )


class RunningSimulator(Generic[InstrumentT]):
    """A simulated ``instrument`` served on a real TCP socket; ``close()`` stops the server."""

    def __init__(self, instrument: InstrumentT, options: SimulatorOptions, *, name: str):
        self.instrument = instrument
        instrument.inject_refusals(
            rate=options.refuse_rate, at=options.refuse_at, seed=options.seed + 2
        )
        self.server = LineServer(
            instrument.handle,
            host=options.host,
            port=options.port,
            faults=options.link_faults(),
            name=name,
        )
        self.server.start()

    @property
    def address(self) -> str:
        """VISA resource name of the instrument (``TCPIP::127.0.0.1::PORT::SOCKET``)."""
        return self.server.address

    @property
    def command_log(self) -> list[str]:
        return self.instrument.command_log

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> RunningSimulator[InstrumentT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
