"""Finish a Status from a poll thread: the way the drivers wait without blocking a plan.

:class:`StatusPoller` runs ``check()`` every ``poll_s`` seconds in one thread until it
returns True (the status finishes), raises (the status fails with that error), or
``timeout_s`` passes (the status fails with ``on_timeout()``). One watch at a time per
poller: a new watch, ``cancel`` or ``close`` fails the previous status (if still running)
and joins its thread, so no thread outlives the device.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from ophyd.status import StatusBase
from ophyd.utils import InvalidState

__all__ = ["StatusPoller", "fail_status", "finish_status"]


def finish_status(status: StatusBase) -> None:
    """Mark ``status`` finished unless it is already done."""
    with contextlib.suppress(InvalidState):
        status.set_finished()


def fail_status(status: StatusBase, exc: BaseException) -> None:
    """Fail ``status`` with ``exc`` unless it is already done."""
    with contextlib.suppress(InvalidState):
        status.set_exception(exc)


class StatusPoller:
    """Polls for one device; ``owner`` names its thread."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._status: StatusBase | None = None

    def watch(
        self,
        status: StatusBase,
        check: Callable[[], bool],
        *,
        timeout_s: float,
        poll_s: float,
        on_timeout: Callable[[], BaseException],
        superseded: Callable[[], BaseException] | None = None,
    ) -> None:
        """Start polling ``check`` for ``status`` (a previous watch is cancelled first)."""
        self.cancel(superseded() if superseded is not None else None)
        stop = threading.Event()
        deadline = time.monotonic() + timeout_s

        def run() -> None:
            while not stop.is_set() and not status.done:
                try:
                    done = check()
                except Exception as exc:
                    fail_status(status, exc)
                    return
                if stop.is_set():
                    return
                if done:
                    finish_status(status)
                    return
                if time.monotonic() >= deadline:
                    fail_status(status, on_timeout())
                    return
                stop.wait(poll_s)

        thread = threading.Thread(target=run, name=f"{self.owner}-poll", daemon=True)
        with self._lock:
            self._thread, self._stop, self._status = thread, stop, status
        thread.start()

    @property
    def busy(self) -> bool:
        """Whether a watched status is still running."""
        with self._lock:
            return self._status is not None and not self._status.done

    def cancel(self, reason: BaseException | None = None, *, finish: bool = False) -> None:
        """Stop polling; fail the watched status with ``reason`` if it is still running,
        or, with ``finish``, mark it finished (a pause: the run goes on from its last
        checkpoint, moving again)."""
        with self._lock:
            thread, stop, status = self._thread, self._stop, self._status
            self._thread = self._stop = self._status = None
        if stop is not None:
            stop.set()
        if status is not None and finish:
            finish_status(status)
        elif status is not None:
            fail_status(
                status,
                reason or RuntimeError(f"{self.owner}: stopped before it finished"),
            )
        if thread is not None and thread is not threading.current_thread():
            thread.join(10.0)

    def close(self, reason: Any = None) -> None:
        """Cancel (as when the device closes)."""
        self.cancel(reason)
