"""The driver under test: where its device comes from, and the kit's deadlines.

The deadlines: a call into the driver is waited for the driver's timeout (its settings'
``timeout_s`` or ``*_timeout_s``, else :data:`DEFAULT_TIMEOUT_S`) plus :data:`GRACE_S`; a
stock Bluesky plan run by the kit (``count``, ``scan``, ``list_scan``, 3 points each) is
halted and fails its check after the plan time-out, :data:`DEFAULT_PLAN_TIMEOUT_S` unless
given (``run_conformance(plan_timeout_s=...)``, ``genesis-lab devices check
--plan-timeout``, ``pytest --genesis-plan-timeout``).

Each check opens a fresh :class:`Session`: the driver's simulator (or one of its simulated
faults) is started, the settings it yields are validated by the driver's
``settings_model``, the device is built, and on leaving the device is closed and the
simulator stopped. With settings given, the device is built against a real instrument and
no simulator is started.

Nothing the kit waits for may block it: every call into the driver that could hang runs
with a deadline (:func:`call_with_deadline`, :func:`wait_status`).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from genesis_lab.spec import parse_key_values
from genesis_lab.station import DeviceDriver, load_driver

__all__ = [
    "DEFAULT_PLAN_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "FAULT_ERROR",
    "FAULT_HANG",
    "GRACE_S",
    "Call",
    "DriverUnderTest",
    "Session",
    "SetupError",
    "call_with_deadline",
    "names_device",
    "parse_settings",
    "plan_timeout",
    "validated_settings",
    "wait_status",
]

#: The driver's timeout when its settings have no ``timeout_s`` field (s).
DEFAULT_TIMEOUT_S = 10.0
#: Added to the driver's timeout before the kit gives up waiting (s).
GRACE_S = 2.0
#: How long one stock plan (3 points: moves, acquisitions, reads) may run before the kit
#: halts it and fails the check, unless a plan time-out is given (s).
DEFAULT_PLAN_TIMEOUT_S = 60.0
#: Simulated fault: every set() and trigger() is accepted but never completes.
FAULT_HANG = "hang"
#: Simulated fault: the instrument answers every command with an error.
FAULT_ERROR = "error"


class SetupError(RuntimeError):
    """The device could not be set up (simulator, settings or build failed)."""


@dataclass(frozen=True)
class Call:
    """The outcome of a call made with a deadline: finished or not, its value or error."""

    finished: bool
    value: Any = None
    error: BaseException | None = None
    elapsed_s: float = 0.0  # how long the call took (until the deadline, if it did not end)


def call_with_deadline(func: Callable[[], Any], timeout_s: float, what: str = "call") -> Call:
    """Run ``func`` on a helper thread; give up waiting after ``timeout_s``.

    A call that never returns leaves its (daemon) thread behind: the driver hangs, and the
    check that made the call fails saying so.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # reported to the caller, whatever it is
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"conformance-{what}", daemon=True)
    began = time.monotonic()
    thread.start()
    thread.join(timeout_s)
    elapsed = time.monotonic() - began
    if thread.is_alive():
        return Call(finished=False, elapsed_s=elapsed)
    return Call(finished=True, value=box.get("value"), error=box.get("error"), elapsed_s=elapsed)


@dataclass(frozen=True)
class StatusOutcome:
    """A Status after waiting for it: done or still pending, and how it ended."""

    done: bool
    success: bool = False
    error: BaseException | None = None


def wait_status(status: Any, timeout_s: float) -> StatusOutcome:
    """Wait up to ``timeout_s`` for a Bluesky Status (``add_callback``, ``success``,
    ``exception()``) to finish; never raises for a failed status."""
    finished = threading.Event()
    status.add_callback(lambda _status: finished.set())
    if not finished.wait(timeout_s):
        return StatusOutcome(done=False)
    success = bool(status.success)
    error: BaseException | None = None
    if not success:
        try:
            error = status.exception()
        except Exception as exc:  # some statuses raise from exception() itself
            error = exc
    return StatusOutcome(done=True, success=success, error=error)


def names_device(error: BaseException | None, device_name: str) -> bool:
    """Whether an error's message (or its cause's) names the device."""
    while error is not None:
        if device_name in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


@dataclass
class Session:
    """One built device, its validated settings and, if simulated, a way to stop the
    simulated instrument early (the disconnect check)."""

    device: Any
    settings: BaseModel
    timeout_s: float
    plan_timeout_s: float = DEFAULT_PLAN_TIMEOUT_S
    _stop_simulator: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def wait_s(self) -> float:
        """How long the kit waits for something the driver's timeout should end."""
        return self.timeout_s + GRACE_S

    @property
    def can_stop_instrument(self) -> bool:
        return self._stop_simulator is not None

    def stop_instrument(self) -> Call:
        """Stop the simulated instrument now (within the driver's timeout), device still
        built; the simulator is not stopped twice."""
        stop, self._stop_simulator = self._stop_simulator, None
        if stop is None:
            raise RuntimeError("no simulator to stop: the device talks to a real instrument")
        return call_with_deadline(stop, self.wait_s, "stop-simulator")


def _device_name(driver_name: str) -> str:
    name = re.sub(r"\W+", "_", driver_name).strip("_").lower() or "device"
    return name if name[0].isalpha() else f"dev_{name}"


@dataclass
class DriverUnderTest:
    """A driver and where its device is: its simulator (``settings is None``) or the real
    instrument the given settings reach."""

    name: str
    driver: DeviceDriver
    settings: Mapping[str, Any] | None = None
    device_name: str = ""
    plan_timeout_s: float = DEFAULT_PLAN_TIMEOUT_S

    def __post_init__(self) -> None:
        if not self.device_name:
            self.device_name = _device_name(self.name)
        self.plan_timeout_s = plan_timeout(self.plan_timeout_s)

    @classmethod
    def load(
        cls,
        driver: str | DeviceDriver,
        settings: Mapping[str, Any] | None = None,
        *,
        plan_timeout_s: float = DEFAULT_PLAN_TIMEOUT_S,
    ) -> DriverUnderTest:
        """The installed driver named ``driver`` (or a driver object, for a vendor's tests
        before it is installed)."""
        if isinstance(driver, str):
            loaded = load_driver(driver)
            return cls(driver, loaded, settings, plan_timeout_s=plan_timeout_s)
        name = str(getattr(driver, "name", None) or type(driver).__name__)
        return cls(name, driver, settings, plan_timeout_s=plan_timeout_s)

    @property
    def simulated(self) -> bool:
        return self.settings is None

    @property
    def in_process(self) -> bool:
        """The driver says its simulator runs in-process with no connection to drop."""
        return bool(getattr(self.driver, "in_process", False))

    def faults(self) -> Mapping[str, Callable[[], AbstractContextManager[dict[str, Any]]]]:
        """The simulated faults the driver offers (``simulator_faults``); none for a real
        instrument."""
        if not self.simulated:
            return {}
        offered = getattr(self.driver, "simulator_faults", None) or {}
        return dict(offered)

    @contextmanager
    def session(self, fault: str | None = None) -> Iterator[Session]:
        """Start the simulator (or the named simulated fault), build the device, and tear
        both down afterwards; :class:`SetupError` if any step of the set-up fails."""
        with ExitStack() as stack:
            raw, stop = self._instrument(stack, fault)
            settings = self._validated(raw)
            timeout_s = _timeout_of(settings)
            device = _must_return(
                lambda: self.driver.build(self.device_name, settings),
                timeout_s + GRACE_S,
                "build()",
            )
            stack.callback(_close_device, device, timeout_s + GRACE_S)
            yield Session(
                device=device,
                settings=settings,
                timeout_s=timeout_s,
                plan_timeout_s=self.plan_timeout_s,
                _stop_simulator=stop,
            )

    def _instrument(
        self, stack: ExitStack, fault: str | None
    ) -> tuple[Mapping[str, Any], Callable[[], None] | None]:
        if self.settings is not None:
            return self.settings, None
        if fault is not None:
            factory = self.faults()[fault]
        elif self.driver.simulator is None:
            raise SetupError(
                f"driver {self.name!r} has no simulator: give the settings of a real "
                "instrument (--setting key=value)"
            )
        else:
            factory = self.driver.simulator
        inner = ExitStack()
        try:
            raw = inner.enter_context(factory())
        except Exception as exc:
            raise SetupError(
                f"the simulator{f' (fault {fault!r})' if fault else ''} did not start: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        stopped = threading.Event()

        def stop() -> None:
            if not stopped.is_set():
                stopped.set()
                inner.close()

        stack.callback(stop)
        return raw, stop

    def _validated(self, raw: Mapping[str, Any]) -> BaseModel:
        try:
            return validated_settings(self.driver, raw)
        except ValueError as exc:
            raise SetupError(str(exc)) from None


def validated_settings(driver: DeviceDriver, raw: Mapping[str, Any]) -> BaseModel:
    """``raw`` validated by the driver's ``settings_model``; ValueError naming each bad
    setting."""
    try:
        return driver.settings_model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"settings refused by settings_model: {problems}") from None


def parse_settings(items: list[str]) -> dict[str, Any] | None:
    """``["key=value", ...]`` (command-line settings; each value read as YAML, so numbers,
    booleans and lists keep their type) as a dict; None for no items. ValueError naming a
    bad item."""
    return parse_key_values(items, "setting") if items else None


def plan_timeout(seconds: Any) -> float:
    """``seconds`` as a plan time-out: a finite number of seconds above 0; ValueError
    saying so otherwise."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(seconds, bool) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"plan time-out {seconds!r}: expected a number of seconds above 0")
    return value


def _timeout_of(settings: BaseModel) -> float:
    """The longest of the settings' timeouts (fields named ``timeout_s`` or ``*_timeout_s``,
    seconds), or :data:`DEFAULT_TIMEOUT_S` if there is none."""
    found = [
        float(value)
        for key, value in settings.model_dump().items()
        if (key == "timeout_s" or key.endswith("_timeout_s"))
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ]
    return max(found, default=DEFAULT_TIMEOUT_S)


def _close_device(device: Any, timeout_s: float) -> None:
    close = getattr(device, "close", None)
    if not callable(close):
        close = getattr(device, "destroy", None)
    if not callable(close):
        return
    _must_return(close, timeout_s, f"closing the device ({close.__name__}())")


def _must_return(func: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """``func()`` within ``timeout_s``; :class:`SetupError` if it hangs or raises."""
    call = call_with_deadline(func, timeout_s, what)
    if not call.finished:
        raise SetupError(f"{what} did not return within {timeout_s:g} s")
    if call.error is not None:
        raise SetupError(f"{what} raised {type(call.error).__name__}: {call.error}") from call.error
    return call.value
