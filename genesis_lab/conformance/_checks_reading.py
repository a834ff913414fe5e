"""Checks of what a device is and what it reads: build, protocols, describe/read
agreement, units and limits metadata."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from bluesky.protocols import Movable, Readable, Stageable, Triggerable
from pydantic import BaseModel

from genesis_lab.conformance._probe import (
    CheckFailed,
    NotApplicable,
    choices_of,
    describe,
    dtype_problem,
    is_numeric,
    limits_of,
    position_key,
    read,
    trigger,
)
from genesis_lab.conformance._target import DriverUnderTest, call_with_deadline

__all__ = [
    "check_build",
    "check_describe_read",
    "check_metadata",
    "check_protocols",
    "check_stage",
]

DTYPES = ("number", "integer", "string", "boolean", "array")


def check_build(target: DriverUnderTest) -> str:
    """The driver's attributes are there; the simulator starts; the settings validate; the
    device is built under the name asked for."""
    driver = target.driver
    problems = []
    if not isinstance(getattr(driver, "description", None), str) or not driver.description:
        problems.append("'description' must be a non-empty string")
    model = getattr(driver, "settings_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        problems.append("'settings_model' must be a pydantic BaseModel subclass")
    if problems:
        raise CheckFailed("; ".join(problems))
    with target.session() as session:
        name = getattr(session.device, "name", None)
        if name != target.device_name:
            raise CheckFailed(
                f"build({target.device_name!r}, settings) returned a device named {name!r}; "
                "the device must take the name it is given"
            )
        where = "its simulator" if target.simulated else "the given settings"
        return (
            f"built {type(session.device).__name__} {name!r} from {where}; "
            f"timeout {session.timeout_s:g} s"
        )


def check_protocols(target: DriverUnderTest) -> str:
    """Readable always; Movable for an actuator; which of Triggerable, Stageable it is."""
    with target.session() as session:
        device = session.device
        if not isinstance(device, Readable):
            raise CheckFailed(
                f"{type(device).__name__} is not Readable: every device needs name, "
                "describe() and read() (bluesky.protocols.Readable)"
            )
        describe(session)  # synchronous, a dict
        found = [
            protocol.__name__
            for protocol in (Movable, Readable, Triggerable, Stageable)
            if isinstance(device, protocol)
        ]
        role = "actuator" if isinstance(device, Movable) else "detector"
        return f"{role}: {', '.join(found)}"


def check_stage(target: DriverUnderTest) -> str:
    """A Stageable device stages and unstages (each returning a list) and reads afterwards."""
    with target.session() as session:
        device = session.device
        if not isinstance(device, Stageable):
            raise NotApplicable("the device is not Stageable (needs no set-up before a run)")
        for step in ("stage", "unstage"):
            call = call_with_deadline(getattr(device, step), session.wait_s, step)
            if not call.finished:
                raise CheckFailed(f"{step}() did not return within {session.wait_s:g} s")
            if call.error is not None:
                raise CheckFailed(f"{step}() raised {type(call.error).__name__}: {call.error}")
            if not isinstance(call.value, list | tuple) and not hasattr(call.value, "wait"):
                raise CheckFailed(
                    f"{step}() returned {call.value!r}: it must return the list of devices "
                    "staged (Ophyd) or a Status"
                )
        read(session)
        return "stage() and unstage() returned, read() works afterwards"


def check_describe_read(target: DriverUnderTest) -> str:
    """``describe()`` and ``read()`` name the same keys; each value fits its dtype and shape;
    the same for the configuration."""
    with target.session() as session:
        triggered = trigger(session)
        description = describe(session)
        reading = read(session)
        problems = agreement_problems(description, reading, "read()")
        device = session.device
        config_keys = 0
        if hasattr(device, "describe_configuration") and hasattr(device, "read_configuration"):
            config = call_with_deadline(device.describe_configuration, session.wait_s)
            values = call_with_deadline(device.read_configuration, session.wait_s)
            if not (config.finished and values.finished):
                problems.append("describe_configuration()/read_configuration() hang")
            elif config.error is not None or values.error is not None:
                problems.append(f"configuration raised {config.error or values.error!r}")
            else:
                config_keys = len(config.value)
                problems += agreement_problems(
                    dict(config.value), dict(values.value), "read_configuration()"
                )
        if problems:
            raise CheckFailed("; ".join(problems))
        after = " after trigger()" if triggered else ""
        return f"{len(reading)} data keys and {config_keys} configuration keys agree{after}"


def agreement_problems(
    description: Mapping[str, Any], reading: Mapping[str, Any], what: str
) -> list[str]:
    """Every way ``reading`` (from ``what``) disagrees with ``description``."""
    problems: list[str] = []
    missing = sorted(set(description) - set(reading))
    extra = sorted(set(reading) - set(description))
    if missing:
        problems.append(f"describe() has keys {what} lacks: {', '.join(missing)}")
    if extra:
        problems.append(f"{what} has keys describe() lacks: {', '.join(extra)}")
    for key in sorted(set(description) & set(reading)):
        problems += [f"{key}: {p}" for p in _key_problems(description[key], reading[key])]
    return problems


def _key_problems(entry: Any, reading: Any) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"its description is {type(entry).__name__}, not a dict"]
    problems: list[str] = []
    if not isinstance(entry.get("source"), str):
        problems.append("the description needs 'source' (a string)")
    dtype = entry.get("dtype")
    if dtype not in DTYPES:
        return [*problems, f"dtype {dtype!r} is not one of {', '.join(DTYPES)}"]
    shape = entry.get("shape")
    if not isinstance(shape, list | tuple) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in shape
    ):
        return [*problems, f"shape {shape!r} is not a list of ints ([] for a scalar)"]
    if not isinstance(reading, Mapping) or "value" not in reading or "timestamp" not in reading:
        return [*problems, "the reading needs 'value' and 'timestamp'"]
    stamp = reading["timestamp"]
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        problems.append(f"timestamp {stamp!r} is not a finite number (seconds since the epoch)")
    return problems + _value_problems(dtype, list(shape), reading["value"])


def _value_problems(dtype: str, shape: list[int | None], value: Any) -> list[str]:
    kind = f"value {value!r} ({type(value).__name__})"
    if dtype == "array":
        ndim = int(np.ndim(value))
        if ndim == 0:
            return [f"dtype 'array' but {kind} is a scalar"]
        actual = list(np.shape(value))
        if len(shape) != ndim or any(
            d is not None and d != a for d, a in zip(shape, actual, strict=True)
        ):
            return [f"shape {shape} declared, the value's shape is {actual}"]
        return []
    if shape:
        return [f"dtype {dtype!r} is a scalar but shape {shape} is declared (use [])"]
    ok = {
        "number": lambda v: (
            isinstance(v, int | float | np.integer | np.floating)
            and not isinstance(v, bool | np.bool_)
        ),
        "integer": lambda v: isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool | np.bool_),
    }[dtype](value)
    return [] if ok else [f"dtype {dtype!r} declared but {kind} is not one"]


def check_metadata(target: DriverUnderTest) -> str:
    """Numeric and array keys declare units; an actuator declares limits or choices, well
    formed, and ``describe()``'s control limits agree with ``limits``."""
    with target.session() as session:
        device = session.device
        description = describe(session)
        problems = [
            f"{key}: dtype {entry.get('dtype')!r} needs 'units' (a non-empty string; use "
            "'1' for a dimensionless number)"
            for key, entry in sorted(description.items())
            if entry.get("dtype") in ("number", "integer", "array")
            and not (isinstance(entry.get("units"), str) and entry["units"])
        ]
        said = []
        if isinstance(device, Movable):
            said.append(_actuator_metadata(device, description, problems))
        if problems:
            raise CheckFailed("; ".join(problems))
        units = sum(1 for entry in description.values() if entry.get("units"))
        return "; ".join([f"{units} of {len(description)} data keys state units", *said])


def _actuator_metadata(device: Any, description: Mapping[str, Any], problems: list[str]) -> str:
    name = device.name
    choices = choices_of(description, name)
    if choices is not None:
        if not all(isinstance(c, str) for c in choices) or len(set(choices)) != len(choices):
            problems.append(f"choices {choices!r} must be distinct strings")
        return f"choices: {', '.join(map(str, choices))}"
    try:
        key = position_key(device, description)
    except CheckFailed as exc:
        problems.append(str(exc))
        return ""
    entry = description[key]
    problem = _limits_dtype_problem(device, description)
    if problem is not None:
        problems.append(problem)
        return ""
    if not is_numeric(entry):
        problems.append(
            f"the position key {key!r} must be a number (dtype 'number' or 'integer'), or "
            f"the actuator declares 'choices' under its own name; it is described {entry!r}"
        )
        return ""
    try:
        limits = limits_of(device)
    except CheckFailed as exc:
        problems.append(str(exc))
        return ""
    if limits is None:
        problems.append(
            "a numeric actuator must declare its limits: a 'limits' attribute (low, high) "
            "in its units"
        )
        return ""
    low, high = limits
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        problems.append(f"limits {limits} must be finite with low < high")
    control = (entry.get("limits") or {}).get("control") or {}
    for bound, mine in (("low", low), ("high", high)):
        theirs = control.get(bound)
        if theirs is not None and not math.isclose(float(theirs), mine, abs_tol=1e-9):
            problems.append(f"describe() limits.control.{bound}={theirs} but limits say {mine}")
    units = entry.get("units", "")
    return f"{key}: limits [{low:g}, {high:g}] {units}".rstrip()


def _limits_dtype_problem(device: Any, description: Mapping[str, Any]) -> str | None:
    try:
        return dtype_problem(device, description)
    except CheckFailed as exc:  # limits that are not two numbers
        return str(exc)
