"""The SCPI side of a simulated instrument: parse a line, run a command, queue errors.

:class:`ScpiInstrument` is the base of every simulated instrument in this package. A
subclass registers its commands (``register("SOUR:TEMP", set_fn)``, ``register("SOUR:TEMP?",
query_fn)``); :meth:`ScpiInstrument.handle` is the :data:`~simulators._tcp_server.LineHandler`
a :class:`~simulators._tcp_server.LineServer` calls. Behaviour follows IEEE 488.2 / SCPI
where it matters to a driver:

- headers are case-insensitive; arguments follow one space and are comma-separated;
- a query (header ending in ``?``) gets one reply line; a command gets none;
- an error is pushed on the error queue (``SYST:ERR?`` pops it: ``-222,"Data out of
  range"``; ``0,"No error"`` when empty) and a failed query gets no reply, so a driver
  checks ``SYST:ERR?`` after a setting;
- common commands ``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?`` and ``SYST:ERR?`` exist on all.

Fault (every instrument): :meth:`ScpiInstrument.inject_refusals` makes the instrument
refuse its action commands (those in :attr:`ScpiInstrument.refusals`: a move, a
measurement) with ``-240,"Hardware error; REASON"``, with a probability per action or at
the given action numbers (from 1); nothing happens, and a refused query sends no reply.

Every line received is kept in :attr:`ScpiInstrument.command_log` (so tests can prove what
reached the instrument). Simulated time is ``time_scale`` times the monotonic clock, so
instruments never sleep: the server thread answers at once, and the physics is a function
of time. All state is guarded by one lock (the server thread and test code both touch it).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np

__all__ = ["CommandError", "ScpiInstrument", "number_arg"]

#: SCPI standard error codes used by the simulators.
UNDEFINED_HEADER = -113
DATA_OUT_OF_RANGE = -222
PARAMETER_NOT_ALLOWED = -108
MISSING_PARAMETER = -109
DATA_TYPE_ERROR = -104
EXECUTION_ERROR = -200
SETTINGS_CONFLICT = -221
HARDWARE_ERROR = -240
QUEUE_OVERFLOW = -350

Command = Callable[[Sequence[str]], str | None]


class CommandError(Exception):
    """A command failed: ``code`` and ``text`` go on the instrument's error queue."""

    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f'{code},"{text}"')


def number_arg(args: Sequence[str], index: int = 0, *, name: str = "value") -> float:
    """The ``index``-th argument as a finite number; :class:`CommandError` if it is not."""
    if len(args) <= index:
        raise CommandError(MISSING_PARAMETER, f"Missing parameter; {name}")
    try:
        value = float(args[index])
    except ValueError:
        raise CommandError(DATA_TYPE_ERROR, f"Data type error; {name} {args[index]!r}") from None
    if not math.isfinite(value):
        raise CommandError(DATA_OUT_OF_RANGE, f"Data out of range; {name} {args[index]}")
    return value


class ScpiInstrument:
    """Base of a simulated SCPI instrument. Subclasses call :meth:`register` for commands.

    ``time_scale`` makes simulated time run that many times faster than real time (``now()``
    returns simulated seconds since the instrument was made).
    """

    idn = "genesis-lab,SIMULATED,0,1.0"
    max_errors = 16
    #: Action commands (headers) the instrument refuses when a hardware fault is injected,
    #: each with the reason it gives (:meth:`inject_refusals`).
    refusals: Mapping[str, str] = MappingProxyType({})

    def __init__(self, *, time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic):
        if not time_scale > 0.0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = float(time_scale)
        self._clock = clock
        self._clock_origin = clock()
        self.lock = threading.RLock()
        self._commands: dict[str, Command] = {}
        self._errors: deque[tuple[int, str]] = deque()
        self._log: list[str] = []
        self.actions = 0
        self._refuse_rate = 0.0
        self._refuse_at: tuple[int, ...] = ()
        self._refuse_rng = np.random.default_rng(0)
        self.register("*IDN?", lambda args: self.idn)
        self.register("*RST", lambda args: self.reset())
        self.register("*CLS", lambda args: self._errors.clear())
        self.register("*OPC?", lambda args: "1")
        self.register("SYST:ERR?", lambda args: self._pop_error())

    def now(self) -> float:
        """Simulated seconds since the instrument was made."""
        return (self._clock() - self._clock_origin) * self.time_scale

    def inject_refusals(self, *, rate: float = 0.0, at: Sequence[int] = (), seed: int = 0) -> None:
        """Refuse an action command (one of :attr:`refusals`) with a hardware error, with
        probability ``rate`` per action and at the action numbers ``at`` (from 1)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"refuse rate must be within [0, 1], got {rate}")
        with self.lock:
            self._refuse_rate = float(rate)
            self._refuse_at = tuple(at)
            self._refuse_rng = np.random.default_rng(seed)

    def _refused(self, key: str) -> bool:
        if key not in self.refusals:
            return False
        self.actions += 1
        if self.actions in self._refuse_at:
            return True
        return self._refuse_rate > 0 and bool(self._refuse_rng.random() < self._refuse_rate)

    def register(self, header: str, command: Command) -> None:
        """Make ``header`` (e.g. ``SOUR:TEMP?``) run ``command(args)``."""
        self._commands[header.upper()] = command

    def reset(self) -> None:
        """``*RST``: subclasses return to their power-on state (and call this)."""
        self._errors.clear()

    @property
    def command_log(self) -> list[str]:
        """Every line received, in order (a copy)."""
        with self.lock:
            return list(self._log)

    def push_error(self, code: int, text: str) -> None:
        """Put an error on the queue (the oldest is kept; overflow is reported once)."""
        if len(self._errors) >= self.max_errors:
            self._errors[-1] = (QUEUE_OVERFLOW, "Queue overflow")
            return
        self._errors.append((code, text))

    def _pop_error(self) -> str:
        if not self._errors:
            return '0,"No error"'
        code, text = self._errors.popleft()
        return f'{code},"{text}"'

    def handle(self, line: str) -> str | None:
        """Run one line; the reply for a query, None for a command or a failed query."""
        text = line.strip()
        if not text:
            return None
        header, _, rest = text.partition(" ")
        args = [a.strip() for a in rest.split(",")] if rest.strip() else []
        key = header.upper()
        with self.lock:
            self._log.append(text)
            command = self._commands.get(key)
            if command is None:
                self.push_error(UNDEFINED_HEADER, f"Undefined header; {header}")
                return None
            if self._refused(key):
                self.push_error(HARDWARE_ERROR, f"Hardware error; {self.refusals[key]}")
                return None
            try:
                reply = command(args)
            except CommandError as exc:
                self.push_error(exc.code, exc.text)
                return None
        return reply if key.endswith("?") else None
