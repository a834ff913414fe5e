"""What the checks ask of a device, each question with a deadline, and their verdicts.

A check is a function of a :class:`~genesis_lab.conformance._target.DriverUnderTest`
returning the reason it passed; it raises :class:`CheckFailed` or :class:`NotApplicable`
otherwise.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from bluesky.protocols import Movable, Readable, Triggerable

from genesis_lab.conformance._target import Session, call_with_deadline, wait_status

__all__ = [
    "CheckFailed",
    "NotApplicable",
    "choices_of",
    "current_value",
    "describe",
    "dtype_problem",
    "is_numeric",
    "legal_target",
    "limits_of",
    "position_entry",
    "position_key",
    "read",
    "same_value",
    "trigger",
]


class CheckFailed(Exception):
    """The device broke the contract; the message says how."""


class NotApplicable(Exception):
    """The check cannot be made on this driver; the message says why."""


def _sync(result: Any, what: str) -> Any:
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):
            close()  # a coroutine never awaited would warn
        raise CheckFailed(
            f"{what} returned an awaitable (an ophyd-async device); genesis-lab stations "
            "take synchronous Ophyd devices"
        )
    return result


def _mapping(session: Session, method: str) -> Mapping[str, Any]:
    """``device.<method>()`` (describe or read) within the driver's timeout, as a dict."""
    device = session.device
    if not isinstance(device, Readable):
        raise CheckFailed("the device is not Readable (name, describe(), read())")
    call = call_with_deadline(getattr(device, method), session.wait_s, method)
    if not call.finished:
        raise CheckFailed(f"{method}() did not return within {session.wait_s:g} s")
    if call.error is not None:
        raise CheckFailed(f"{method}() raised {type(call.error).__name__}: {call.error}")
    value = _sync(call.value, f"{method}()")
    if not isinstance(value, Mapping):
        raise CheckFailed(f"{method}() returned {type(value).__name__}, not a dict")
    return value


def describe(session: Session) -> dict[str, dict[str, Any]]:
    """``device.describe()`` within the driver's timeout."""
    value = _mapping(session, "describe")
    return {str(k): dict(v) if isinstance(v, Mapping) else v for k, v in value.items()}


def read(session: Session) -> dict[str, Any]:
    """``device.read()`` within the driver's timeout."""
    return dict(_mapping(session, "read"))


def trigger(session: Session) -> bool:
    """Trigger a Triggerable device and wait for its Status; False if not Triggerable."""
    device = session.device
    if not isinstance(device, Triggerable):
        return False
    call = call_with_deadline(device.trigger, session.wait_s, "trigger")
    if not call.finished:
        raise CheckFailed(f"trigger() did not return within {session.wait_s:g} s")
    if call.error is not None:
        raise CheckFailed(f"trigger() raised {type(call.error).__name__}: {call.error}")
    outcome = wait_status(_sync(call.value, "trigger()"), session.wait_s)
    if not outcome.done:
        raise CheckFailed(
            f"the status of trigger() did not finish within {session.wait_s:g} s "
            f"(driver timeout {session.timeout_s:g} s)"
        )
    if not outcome.success:
        raise CheckFailed(f"trigger() failed: {outcome.error!r}")
    return True


def limits_of(device: Any) -> tuple[float, float] | None:
    """``device.limits`` as ``(low, high)``; None if absent or Ophyd's ``(0, 0)``."""
    limits = getattr(device, "limits", None)
    if limits is None:
        return None
    try:
        low, high = (float(v) for v in limits)
    except (TypeError, ValueError) as exc:
        raise CheckFailed(f"limits {limits!r} are not two numbers (low, high)") from exc
    if low == high == 0.0:
        return None
    return (low, high)


def choices_of(description: Mapping[str, Any], name: str) -> list[Any] | None:
    """The ``choices`` the device declares for its own data key, if any."""
    entry = description.get(name)
    if not isinstance(entry, Mapping):
        return None
    found = entry.get("choices")
    return None if found in (None, []) else list(found)


def position_key(device: Any, description: Mapping[str, Any]) -> str:
    """The data key holding an actuator's position (or choice): the key named after the
    device, or else its one hinted field (the readback of an Ophyd ``PVPositioner``)."""
    name = str(device.name)
    if name in description:
        return name
    hints = getattr(device, "hints", None)
    fields = list(hints.get("fields", [])) if isinstance(hints, Mapping) else []
    if len(fields) == 1 and fields[0] in description:
        return str(fields[0])
    raise CheckFailed(
        f"no data key holds the actuator's position: name it after the device ({name!r}) "
        f"or make it the one hinted field; keys: {', '.join(sorted(description))}"
    )


def position_entry(device: Any, description: Mapping[str, Any]) -> dict[str, Any]:
    """The description of the actuator's position key."""
    return dict(description[position_key(device, description)])


def is_numeric(entry: Mapping[str, Any]) -> bool:
    return entry.get("dtype") in ("number", "integer")


def _is_number(value: Any, dtype: str) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if dtype == "integer":
        return isinstance(value, int | np.integer)
    return isinstance(value, int | float | np.integer | np.floating)


def dtype_problem(
    device: Any, description: Mapping[str, Any], value: Any = None, *, read_back: bool = False
) -> str | None:
    """What is wrong when an actuator with ``limits`` describes its position with a dtype
    that disagrees with them (``string``, ``boolean``, a dtype event-model lacks) or, with
    ``read_back``, with the ``value`` it reads; None if nothing is.

    The message names the device, its position key, what it declares and what to fix.
    """
    limits = limits_of(device)
    if limits is None or choices_of(description, device.name) is not None:
        return None
    key = position_key(device, description)
    dtype = dict(description[key]).get("dtype")
    low, high = limits
    declared = f"device {device.name!r} declares limits [{low:g}, {high:g}]"
    reads = "" if not read_back else f" and reads {value!r} ({type(value).__name__})"
    if dtype not in ("number", "integer"):
        return (
            f"{declared} but describe() gives its position key {key!r} dtype {dtype!r}{reads}: "
            "limits are numbers, so declare dtype 'number' (or 'integer' for whole numbers) "
            "and read back a number; an actuator that takes names declares 'choices' under "
            "its own name instead of limits"
        )
    if read_back and not _is_number(value, dtype):
        fix = (
            "declare dtype 'number', or read back an int"
            if dtype == "integer" and _is_number(value, "number")
            else f"read back a number (convert the instrument's answer), as dtype {dtype!r} says"
        )
        return f"{declared} with dtype {dtype!r} for its position key {key!r}{reads}: {fix}"
    return None


def current_value(session: Session) -> Any:
    """The actuator's position (or choice), read from its position key."""
    key = position_key(session.device, describe(session))
    reading = read(session)
    if key not in reading:
        raise CheckFailed(f"read() lacks the position key {key!r} that describe() declares")
    return reading[key]["value"]


def legal_target(session: Session, description: Mapping[str, Any], current: Any = None) -> Any:
    """A setpoint the actuator must accept: another of its choices, a value inside its
    limits (a quarter or three quarters of the way), or where it is now."""
    device = session.device
    if not isinstance(device, Movable):
        raise NotApplicable("the device is not Movable")
    name = session.device.name
    choices = choices_of(description, name)
    if choices is not None:
        others = [choice for choice in choices if choice != current]
        return (others or choices)[-1]
    limits = limits_of(device)
    integer = position_entry(device, description).get("dtype") == "integer"
    if limits is not None:
        low, high = limits
        target = low + 0.25 * (high - low)
        if current is not None and _close(current, target, high - low):
            target = low + 0.75 * (high - low)
        return _as_integer(target, limits) if integer else target
    if current is None:
        current = current_value(session)
    return current


def _as_integer(value: float, limits: tuple[float, float]) -> int:
    result = round(value)
    return int(min(max(result, math.ceil(limits[0])), math.floor(limits[1])))


def _close(value: Any, target: float, span: float) -> bool:
    try:
        return bool(abs(float(value) - target) <= 0.05 * span)
    except (TypeError, ValueError):
        return False


def same_value(a: Any, b: Any, span: float | None = None) -> bool:
    """Whether a readback equals a setpoint: exactly for text, within 1 % of the limits'
    span (or 1e-6 relative without limits) for numbers."""
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    tolerance = 0.01 * span if span else 0.0
    return math.isclose(fa, fb, rel_tol=1e-6, abs_tol=max(tolerance, 1e-9))
