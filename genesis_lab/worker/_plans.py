"""The experiment plan: data, not action. The RunEngine executes it.

One experiment is one Bluesky run: move every actuator to its setpoint (together, within
``move_timeout_s``), check that each actuator with a ``tolerance`` reads back where it was
sent, then trigger and read the detectors and the actuators in one event of the ``primary``
stream (or ``replicates`` events: repeated measurements at the same setpoints).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Movable, Readable
from bluesky.utils import Msg, MsgGenerator

from genesis_lab.errors import MoveTimeoutError, SetpointNotReachedError

__all__ = ["PLAN_NAME", "SetpointNotReachedError", "experiment_plan"]

PLAN_NAME = "genesis_lab_experiment"


def experiment_plan(
    actuators: Mapping[str, Movable],
    setpoints: Mapping[str, float | int | str],
    detectors: Sequence[Readable],
    md: Mapping[str, Any],
    *,
    move_timeout_s: float | None = None,
    tolerance: Mapping[str, float] | None = None,
    replicates: int = 1,
) -> MsgGenerator[str]:
    """Set ``actuators`` to ``setpoints`` (actuator name -> value), then read everything once.

    ``md`` goes into the start document (campaign id, trial id, parameters). The moves
    fail if they take longer than ``move_timeout_s``; an actuator named in ``tolerance``
    must read back within that distance of its setpoint, or the run fails with
    :class:`SetpointNotReachedError`. Yields the run's uid as the plan's return value.
    """
    readables: list[Any] = [*detectors, *(actuators[name] for name in setpoints)]
    start_md = {"plan_name": PLAN_NAME, "detectors": [d.name for d in detectors], **md}

    @bpp.run_decorator(md=start_md)
    def _run() -> MsgGenerator[None]:
        yield from bps.checkpoint()
        yield from _move(actuators, setpoints, move_timeout_s)
        for name, allowed in (tolerance or {}).items():
            if name in setpoints:
                yield from _check_readback(name, actuators[name], setpoints[name], allowed)
        for _ in range(replicates):
            yield from bps.trigger_and_read(readables)

    uid = yield from _run()
    return str(uid)


def _move(
    actuators: Mapping[str, Movable],
    setpoints: Mapping[str, float | int | str],
    timeout_s: float | None,
) -> MsgGenerator[None]:
    """Set every actuator at once and wait for all (``bps.mv``), naming those that are
    still moving after ``timeout_s`` (:class:`MoveTimeoutError`)."""
    group = f"genesis_lab_moves_{uuid.uuid4().hex}"
    statuses: dict[str, Any] = {}
    for name, value in setpoints.items():
        statuses[name] = yield Msg("set", actuators[name], value, group=group)
    try:
        yield Msg("wait", None, group=group, timeout=timeout_s)
    except TimeoutError as exc:
        late = tuple(n for n, s in statuses.items() if not getattr(s, "done", False))
        names = ", ".join(f"{n} (to {_short(setpoints[n])})" for n in late) or "a move"
        raise MoveTimeoutError(
            f"{names} not there within {timeout_s:g} s",
            actuators=late,
            timeout_s=float(timeout_s or 0.0),
        ) from exc


def _short(value: float | int | str) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _check_readback(
    name: str, actuator: Movable, setpoint: float | int | str, allowed: float
) -> MsgGenerator[None]:
    readback = yield from bps.rd(actuator)
    if isinstance(setpoint, str):
        ok = readback == setpoint
    else:
        try:
            ok = abs(float(readback) - float(setpoint)) <= allowed
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise SetpointNotReachedError(
            f"{name}: sent to {setpoint} but reads back {readback} (tolerance {allowed}); "
            "the axis is stuck or drifting",
            actuator=name,
            setpoint=float(setpoint) if not isinstance(setpoint, str) else float("nan"),
            readback=readback,
        )
