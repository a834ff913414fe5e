"""A simulated bench heater, reached by address like the real one.

The real heater answers text commands (``SETP 80``, ``TEMP?``, ``SETP?``, ``LIM?``) on its
serial line; the simulator answers the same commands in-process and registers itself under
an address ``sim://heater/N`` while it runs. Faults: ``hang`` (a new setpoint is accepted
but never reached), ``error`` (every new setpoint is answered with an error).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SimulatedHeaterInstrument", "connect", "running_simulator"]

_numbers = itertools.count(1)
_lock = threading.Lock()
_running: dict[str, SimulatedHeaterInstrument] = {}


class SimulatedHeaterInstrument:
    """The heater's firmware: limits 20-150 degC, reaches a setpoint at once."""

    def __init__(self, fault: str | None = None) -> None:
        self.fault = fault
        self.setpoint = 20.0
        self.temperature = 20.0
        self.running = True

    def handle(self, command: str) -> str:
        if not self.running:
            raise ConnectionError("no answer: the heater is switched off or unplugged")
        if self.fault == "error" and command.startswith("SETP "):
            return "ERR -300 heater element open circuit"
        if command == "LIM?":
            return "20,150"
        if command == "TEMP?":
            return f"{self.temperature:.4f}"
        if command == "SETP?":
            return f"{self.setpoint:.4f}"
        if command.startswith("SETP "):
            self.setpoint = float(command.split()[1])
            if self.fault != "hang":
                self.temperature = self.setpoint
                return "DONE"
            return "RAMPING"
        return f"ERR -100 unknown command {command!r}"


def connect(address: str) -> SimulatedHeaterInstrument:
    """The heater at ``address``; ConnectionError naming it if nothing answers there."""
    with _lock:
        found = _running.get(address)
    if found is None:
        raise ConnectionError(f"no heater answers at {address}")
    return found


@contextmanager
def running_simulator(fault: str | None = None) -> Iterator[str]:
    """Run a simulated heater; yield its address; switch it off afterwards."""
    address = f"sim://heater/{next(_numbers)}"
    instrument = SimulatedHeaterInstrument(fault)
    with _lock:
        _running[address] = instrument
    try:
        yield address
    finally:
        instrument.running = False
        with _lock:
            _running.pop(address, None)
