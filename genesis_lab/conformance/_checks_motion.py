"""Checks of what a device does when commanded: a set completes, limits are refused before
anything moves, a hung instrument times out, a fault and a dropped connection are reported
as failed Statuses naming the device, never as a hang."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bluesky.protocols import Movable, Triggerable

from genesis_lab.conformance._probe import (
    CheckFailed,
    NotApplicable,
    choices_of,
    current_value,
    describe,
    dtype_problem,
    is_numeric,
    legal_target,
    limits_of,
    position_entry,
    read,
    same_value,
)
from genesis_lab.conformance._target import (
    FAULT_ERROR,
    FAULT_HANG,
    DriverUnderTest,
    Session,
    call_with_deadline,
    names_device,
    wait_status,
)

__all__ = [
    "check_disconnect",
    "check_fault",
    "check_limits",
    "check_set_completes",
    "check_timeout",
]


@dataclass(frozen=True)
class Attempt:
    """How a command went: its Status succeeded or failed, the call raised at once, the
    Status stayed pending, or the call itself blocked."""

    kind: Literal["succeeded", "failed", "raised", "pending", "blocked"]
    error: BaseException | None = None
    call_s: float = 0.0  # how long the call itself took before it returned a Status
    done_at_return: bool = False  # the Status it returned finished the moment it returned

    def describe(self, what: str, wait_s: float) -> str:
        if self.kind == "succeeded":
            return f"{what} succeeded"
        if self.kind == "pending":
            return f"the Status of {what} was still pending after {wait_s:g} s (a hang)"
        if self.kind == "blocked":
            return f"{what} blocked for more than {wait_s:g} s instead of returning a Status"
        how = "raised" if self.kind == "raised" else "returned a Status that failed with"
        return f"{what} {how} {type(self.error).__name__}: {self.error}"


def attempt(session: Session, command: Callable[[], Any], what: str) -> Attempt:
    """Issue ``command`` (set/trigger) and wait for its Status, all within deadlines."""
    call = call_with_deadline(command, session.wait_s, what)
    if not call.finished:
        return Attempt("blocked")
    if call.error is not None:
        return Attempt("raised", call.error)
    status = call.value
    if not callable(getattr(status, "add_callback", None)):
        raise CheckFailed(f"{what} returned {status!r}, not a Status")
    # Finished (callbacks may run on Ophyd's own thread) within a moment of returning.
    done_at_return = wait_status(status, 0.1).done
    outcome = wait_status(status, session.wait_s)
    if not outcome.done:
        return Attempt("pending", call_s=call.elapsed_s)
    if outcome.success:
        return Attempt("succeeded", call_s=call.elapsed_s, done_at_return=done_at_return)
    return Attempt("failed", outcome.error, call_s=call.elapsed_s)


BLOCKING_SET_S = 0.5
"""A ``set()`` that takes longer than this to return an already finished Status blocked
until the move ended."""


def _movable(session: Session) -> Any:
    device = session.device
    if not isinstance(device, Movable):
        raise NotApplicable("a detector: not Movable")
    return device


def check_set_completes(target: DriverUnderTest) -> str:
    """``set()`` to a legal value returns a Status that finishes successfully within the
    driver's timeout, and the device then reads the new value back."""
    with target.session() as session:
        device = _movable(session)
        description = describe(session)
        before = current_value(session)
        value = legal_target(session, description, before)
        result = attempt(session, lambda: device.set(value), f"set({value!r})")
        if result.kind != "succeeded":
            raise CheckFailed(result.describe(f"set({value!r})", session.wait_s))
        if result.done_at_return and result.call_s > BLOCKING_SET_S:
            raise CheckFailed(
                f"set({value!r}) blocked for {result.call_s:.1f} s and returned a Status that "
                "had already finished: it must return at once and finish the Status when the "
                "move ends (while set() blocks, the RunEngine can neither pause nor stop)"
            )
        after = current_value(session)
        limits = limits_of(device)
        span = None if limits is None else limits[1] - limits[0]
        if not same_value(after, value, span):
            raise CheckFailed(f"set({value!r}) completed but the device reads back {after!r}")
        return f"set({value!r}) completed (from {before!r}); reads back {after!r}"


def _bad_values(description: dict[str, Any], device: Any) -> list[Any]:
    name = device.name
    if choices_of(description, name) is not None:
        return ["not-one-of-the-choices", 0]
    limits = limits_of(device)
    entry = position_entry(device, description)
    if limits is None or not is_numeric(entry):
        raise NotApplicable("the actuator declares neither limits nor choices (see metadata)")
    low, high = limits
    margin = max(0.1 * (high - low), 1e-6)
    if entry.get("dtype") == "integer":
        return [math.floor(low - margin) - 1, math.ceil(high + margin) + 1]
    return [low - margin, high + margin, math.nan]


def check_limits(target: DriverUnderTest) -> str:
    """``set()`` outside the declared limits (or choices), or of NaN, fails and nothing
    moves: the device reads the same value afterwards."""
    with target.session() as session:
        device = _movable(session)
        description = describe(session)
        before = current_value(session)
        problem = dtype_problem(device, description, before, read_back=True)
        if problem is not None:
            raise CheckFailed(problem)
        bad = _bad_values(description, device)
        limits = limits_of(device)
        span = None if limits is None else limits[1] - limits[0]
        refusals = []
        for value in bad:
            what = f"set({value!r})"
            result = attempt(session, functools.partial(device.set, value), what)
            if result.kind not in ("raised", "failed"):
                raise CheckFailed(
                    f"{result.describe(what, session.wait_s)}: a value outside the declared "
                    "limits or choices must be refused at once"
                )
            after = current_value(session)
            if not same_value(after, before, span):
                raise CheckFailed(
                    f"{what} was refused but the device moved: {before!r} -> {after!r}"
                )
            refusals.append(f"{value!r} ({type(result.error).__name__})")
        return f"refused {', '.join(refusals)}; stayed at {before!r}"


def _commands(session: Session, description: dict[str, Any]) -> list[tuple[str, Callable[[], Any]]]:
    """The command that talks to the instrument: set() for an actuator, trigger() for a
    detector that acquires (an Ophyd Device's trigger() of an actuator may do nothing)."""
    device = session.device
    if isinstance(device, Movable):
        value = legal_target(session, description)
        return [(f"set({value!r})", lambda: device.set(value))]
    if isinstance(device, Triggerable):
        return [("trigger()", device.trigger)]
    return []


def _fault_available(target: DriverUnderTest, fault: str) -> None:
    if not target.simulated:
        raise NotApplicable("a real instrument: the kit does not inject faults into it")
    if fault not in target.faults():
        raise NotApplicable(
            f"the driver offers no simulated fault {fault!r} (simulator_faults), so the "
            "kit cannot make one happen"
        )


def check_timeout(target: DriverUnderTest) -> str:
    """With the simulated instrument hung (fault ``hang``), the Status of set()/trigger()
    fails with a TimeoutError naming the device within the driver's timeout."""
    _fault_available(target, FAULT_HANG)
    with target.session(fault=FAULT_HANG) as session:
        commands = _commands(session, describe(session))
        if not commands:
            raise NotApplicable("neither Movable nor Triggerable: nothing waits on a Status")
        said = []
        for what, command in commands:
            result = attempt(session, command, what)
            expected = (
                "with the instrument hung the Status must fail with a TimeoutError within "
                f"the driver's timeout ({session.timeout_s:g} s)"
            )
            said.append(_reported(result, what, session, ("failed",), expected))
            if not isinstance(result.error, TimeoutError):
                raise CheckFailed(f"{said[-1]}; expected a TimeoutError")
        return f"failed on time (driver timeout {session.timeout_s:g} s): {'; '.join(said)}"


def check_fault(target: DriverUnderTest) -> str:
    """With the simulated instrument answering every command with an error (fault
    ``error``), set()/trigger() (or read()) fail with an error naming the device."""
    _fault_available(target, FAULT_ERROR)
    with target.session(fault=FAULT_ERROR) as session:
        commands = _commands(session, describe(session))
        if not commands:
            commands = [("read()", session.device.read)]
        said = []
        for what, command in commands:
            result = read_attempt(session) if what == "read()" else attempt(session, command, what)
            expected = "an instrument error must fail the command"
            said.append(_reported(result, what, session, ("failed", "raised"), expected))
        return f"reported: {'; '.join(said)}"


def check_disconnect(target: DriverUnderTest) -> str:
    """With the simulated instrument stopped mid-session, set()/trigger() (and read() of a
    plain detector) fail with an error naming the device within the timeout; nothing hangs."""
    if not target.simulated:
        raise NotApplicable("a real instrument: the kit will not disconnect it")
    if target.in_process:
        raise NotApplicable("the simulator runs in-process (in_process = True): no connection")
    with target.session() as session:
        description = describe(session)
        read(session)
        commands = _commands(session, description)
        stopped = session.stop_instrument()
        if not stopped.finished:
            raise CheckFailed(f"the simulator did not stop within {session.wait_s:g} s")
        if stopped.error is not None:
            raise CheckFailed(f"stopping the simulator raised {stopped.error!r}")
        gone = "with the instrument gone it must fail"
        said = [
            _reported(attempt(session, command, what), what, session, ("failed", "raised"), gone)
            for what, command in commands
        ]
        reading = read_attempt(session)
        if reading.kind == "blocked":
            raise CheckFailed(f"read() hung for {session.wait_s:g} s with the instrument gone")
        if not commands:
            said.append(_reported(reading, "read()", session, ("raised",), gone))
        return f"instrument stopped; {'; '.join(said)}"


def read_attempt(session: Session) -> Attempt:
    """``read()`` as an :class:`Attempt`: returned (succeeded), raised, or blocked."""
    call = call_with_deadline(session.device.read, session.wait_s, "read")
    if not call.finished:
        return Attempt("blocked")
    return Attempt("raised", call.error) if call.error else Attempt("succeeded")


def _reported(
    result: Attempt, what: str, session: Session, allowed: tuple[str, ...], expected: str
) -> str:
    """``what: ErrorType`` if the command failed as ``allowed`` with an error naming the
    device; CheckFailed saying what happened and what was ``expected`` otherwise."""
    text = result.describe(what, session.wait_s)
    if result.kind not in allowed:
        raise CheckFailed(f"{text}; {expected}")
    if not names_device(result.error, session.device.name):
        raise CheckFailed(f"{text}; the error must name the device {session.device.name!r}")
    return f"{what}: {type(result.error).__name__}"
