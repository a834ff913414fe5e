"""The ``stop`` check: what ``stop(success=...)`` must do (docs/driver-contract.md).

The RunEngine calls ``stop(success=True)`` on every actuator it moved when it *pauses*: a
move in flight must end with its Status *finished* (not failed), because on resume the run
goes back to its last checkpoint and moves again; a failed Status would fail the run
instead. ``stop(success=False)`` is an e-stop or the end of a failed run: the move in
flight ends (its Status failed, or finished if it got there first). ``stop()`` never
raises, moving or not: the RunEngine and the e-stop call it when things already go wrong.
"""

from __future__ import annotations

from typing import Any

from bluesky.protocols import Stoppable

from genesis_lab.conformance._checks_motion import _movable, attempt
from genesis_lab.conformance._probe import (
    CheckFailed,
    NotApplicable,
    current_value,
    describe,
    legal_target,
    limits_of,
    same_value,
)
from genesis_lab.conformance._target import Session, call_with_deadline, wait_status

__all__ = ["check_stop"]

_WHY = {
    True: "as the RunEngine calls it when it pauses",
    False: "as at an e-stop or the end of a failed run",
}


def _stop(session: Session, device: Any, success: bool, when: str) -> None:
    call = call_with_deadline(lambda: device.stop(success=success), session.wait_s, "stop")
    if not call.finished:
        raise CheckFailed(
            f"stop(success={success}) {when} blocked for more than {session.wait_s:g} s"
        )
    if call.error is not None:
        raise CheckFailed(
            f"stop(success={success}) {when} raised {type(call.error).__name__}: "
            f"{call.error}; stop() must never raise ({_WHY[success]})"
        )


def _stop_during_move(
    session: Session, device: Any, description: Any, span: float | None, success: bool
) -> str:
    value = legal_target(session, description, current_value(session))
    call = call_with_deadline(lambda: device.set(value), session.wait_s, "set")
    if not call.finished or call.error is not None:
        raise CheckFailed(f"set({value!r}) did not return a Status: {call.error!r}")
    status = call.value
    moving = not status.done
    _stop(session, device, success, "during a move")
    outcome = wait_status(status, session.wait_s)
    if not outcome.done:
        raise CheckFailed(
            f"the Status of set({value!r}) was still pending {session.wait_s:g} s after "
            f"stop(success={success}): a stop must end the move in flight"
        )
    if success and not outcome.success:
        raise CheckFailed(
            f"stop(success=True), {_WHY[True]}, failed the Status of the move in flight "
            f"({type(outcome.error).__name__}: {outcome.error}): a paused and resumed run "
            "would fail; finish the Status instead"
        )
    what = f"set({value!r}) after stop(success={success})"
    again = attempt(session, lambda: device.set(value), what)
    if again.kind != "succeeded":
        raise CheckFailed(again.describe(what, session.wait_s))
    after = current_value(session)
    if not same_value(after, value, span):
        raise CheckFailed(f"{what} completed but the device reads back {after!r}")
    state = f"in flight, {'finished' if outcome.success else 'failed'}" if moving else "done"
    return f"stop(success={success}): the move {state}; set() again completed"


def check_stop(target: Any) -> str:
    """``stop()`` never raises; ``stop(success=True)`` during a move ends it with its
    Status finished (a pause: the run moves again from its checkpoint on resume), and
    ``stop(success=False)`` ends it; after either, ``set()`` completes and reads back."""
    with target.session() as session:
        device = _movable(session)
        if not isinstance(device, Stoppable):
            raise NotApplicable(
                "no stop(): not Stoppable, so the RunEngine and the e-stop skip it (an "
                "actuator whose moves take time must have one)"
            )
        description = describe(session)
        for success in (False, True):
            _stop(session, device, success, "with nothing moving")
        span = None if (limits := limits_of(device)) is None else limits[1] - limits[0]
        return "; ".join(
            _stop_during_move(session, device, description, span, success)
            for success in (True, False)
        )
