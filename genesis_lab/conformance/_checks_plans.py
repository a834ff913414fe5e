"""The device inside stock Bluesky plans (``count``, ``scan``, ``list_scan``) on a real
RunEngine, every document valid per event-model and as JSON as the worker sends it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import bluesky.plans as bp
from bluesky import RunEngine
from bluesky.protocols import Movable
from event_model import DocumentNames, schema_validators
from ophyd.positioner import SoftPositioner

from genesis_lab.conformance._probe import (
    CheckFailed,
    NotApplicable,
    choices_of,
    describe,
    is_numeric,
    legal_target,
    limits_of,
    position_entry,
)
from genesis_lab.conformance._target import DriverUnderTest, Session, call_with_deadline

__all__ = ["check_count", "check_list_scan", "check_scan"]

POINTS = 3


@contextmanager
def run_engine() -> Iterator[RunEngine]:
    """A RunEngine on its own event loop, stopped and its thread joined afterwards (a loop
    still blocked in a call into the driver is left to its daemon thread)."""
    loop = asyncio.new_event_loop()
    engine = RunEngine(loop=loop, context_managers=[])
    try:
        yield engine
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join(timeout=5)
        if not engine._th.is_alive():
            loop.close()


def _jsonable(doc: Any) -> Any:
    def builtin(value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return json.loads(json.dumps(doc, default=builtin))


def _run(session: Session, plan: Any, what: str, events: int) -> str:
    """Run ``plan``; check the documents; halt the RunEngine if the plan outlives the plan
    time-out (``session.plan_timeout_s``)."""
    documents: list[tuple[str, dict[str, Any]]] = []
    limit_s = session.plan_timeout_s
    with run_engine() as engine:
        engine.subscribe(lambda name, doc: documents.append((name, doc)))
        failure: list[BaseException] = []

        def run() -> None:
            try:
                engine(plan)
            except BaseException as exc:  # reported below, whatever it is
                failure.append(exc)

        runner = threading.Thread(target=run, name="conformance-plan", daemon=True)
        runner.start()
        runner.join(limit_s)
        if runner.is_alive():
            raise CheckFailed(_overran(engine, runner, session, what, limit_s))
        if failure:
            error = failure[0]
            message = (str(error).splitlines() or [""])[0]
            raise CheckFailed(f"{what} failed: {type(error).__name__}: {message}") from error
    return _document_problems(documents, what, events)


def _overran(
    engine: RunEngine, runner: threading.Thread, session: Session, what: str, limit_s: float
) -> str:
    """Halt a plan that ran past the plan time-out; say what happened and how to fix it."""
    said = f"{what} did not finish within the plan time-out ({limit_s:g} s)"
    fix = (
        "every Status must finish (or fail) within the driver's timeout "
        f"({session.timeout_s:g} s); if the instrument is merely slow, raise the plan "
        "time-out (genesis-lab devices check --plan-timeout SECONDS; pytest "
        "--genesis-plan-timeout SECONDS)"
    )
    halted = call_with_deadline(engine.halt, session.wait_s, "halt")
    runner.join(session.wait_s)
    if not halted.finished or runner.is_alive():
        return (
            f"{said}, and the RunEngine could not be halted: a call into the device "
            f"(set(), trigger(), read(), ...) blocks instead of returning; {fix}"
        )
    return f"{said} and was halted; {fix}"


def _document_problems(documents: list[tuple[str, dict[str, Any]]], what: str, events: int) -> str:
    problems: list[str] = []
    keys: dict[str, set[str]] = {}
    found = 0
    for name, doc in documents:
        try:
            plain = _jsonable(doc)
        except (TypeError, ValueError) as exc:
            problems.append(f"{name} document is not JSON as the worker sends it: {exc}")
            continue
        try:
            schema_validators[DocumentNames[name]].validate(plain)
        except Exception as exc:
            message = str(exc).splitlines()[0]
            problems.append(f"{name} document invalid per event-model: {message}")
            continue
        if name == "descriptor":
            keys[plain["uid"]] = set(plain["data_keys"])
        elif name == "event":
            found += 1
            declared = keys.get(plain["descriptor"], set())
            if set(plain["data"]) != declared or set(plain["timestamps"]) != declared:
                problems.append(
                    f"event data keys {sorted(plain['data'])} differ from its descriptor's "
                    f"{sorted(declared)}"
                )
        elif name == "stop" and plain.get("exit_status") != "success":
            problems.append(f"run ended {plain.get('exit_status')!r}: {plain.get('reason', '')}")
    if found != events:
        problems.append(f"{found} events, expected {events}")
    if problems:
        raise CheckFailed(f"{what}: {'; '.join(problems[:5])}")
    return f"{what}: {len(documents)} documents valid, {found} events"


def _positions(session: Session) -> list[Any]:
    """``POINTS`` legal setpoints of the actuator: choices, or points inside its limits."""
    device = session.device
    description = describe(session)
    choices = choices_of(description, device.name)
    if choices is not None:
        return list(choices[:POINTS])
    limits = limits_of(device)
    entry = position_entry(device, description)
    if limits is None or not is_numeric(entry):
        value = legal_target(session, description)
        return [value] * POINTS
    low, high = limits
    points = [low + (high - low) * f for f in (0.2, 0.5, 0.8)]
    if entry.get("dtype") == "integer":
        return [round(p) for p in points]
    return points


@contextmanager
def _motor() -> Iterator[SoftPositioner]:
    """A soft motor for scanning a detector that has no axis of its own."""
    motor = SoftPositioner(name="conformance_motor", init_pos=0.0, limits=(0.0, 10.0))
    try:
        yield motor
    finally:
        motor.destroy()


def _scan_like(
    target: DriverUnderTest,
    name: str,
    plan_for: Callable[[Any, Any, list[Any]], Any],
    numeric_only: bool,
) -> str:
    with target.session() as session:
        device = session.device
        if isinstance(device, Movable):
            positions = _positions(session)
            if numeric_only and any(isinstance(p, str) for p in positions):
                raise NotApplicable(f"{name} takes numbers; this actuator takes choices")
            return _run(session, plan_for([device], device, positions), name, len(positions))
        with _motor() as motor:
            positions = [0.0, 1.0, 2.0]
            plan = plan_for([device], motor, positions)
            return _run(session, plan, f"{name} (over a soft motor)", len(positions))


def check_count(target: DriverUnderTest) -> str:
    """``bluesky.plans.count([device], num=3)`` runs; its documents are valid."""
    with target.session() as session:
        return _run(session, bp.count([session.device], num=POINTS), "count", POINTS)


def check_scan(target: DriverUnderTest) -> str:
    """``bluesky.plans.scan`` over the actuator's limits (a detector over a soft motor)."""
    return _scan_like(
        target,
        "scan",
        lambda dets, motor, pos: bp.scan(dets, motor, pos[0], pos[-1], len(pos)),
        numeric_only=True,
    )


def check_list_scan(target: DriverUnderTest) -> str:
    """``bluesky.plans.list_scan`` over legal setpoints (choices for a choice actuator)."""
    return _scan_like(
        target,
        "list_scan",
        lambda dets, motor, pos: bp.list_scan(dets, motor, pos),  # type: ignore[arg-type]
        numeric_only=False,
    )
