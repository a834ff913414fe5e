"""Shared fixtures: fail any test that leaks a thread; a RunEngine that is shut down after use."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from bluesky import RunEngine


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running once it has finished (after a short grace)."""
    before = _live_threads()
    yield
    deadline = time.monotonic() + 5.0
    leaked = _live_threads() - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = _live_threads() - before
    if leaked:
        names = ", ".join(sorted(t.name for t in leaked))
        pytest.fail(f"test leaked threads: {names}")


@pytest.fixture
def run_engine() -> Iterator[RunEngine]:
    """A real Bluesky RunEngine on its own event loop, stopped and joined afterwards."""
    loop = asyncio.new_event_loop()
    engine = RunEngine(loop=loop, context_managers=[])
    yield engine
    loop.call_soon_threadsafe(loop.stop)
    engine._th.join(timeout=5)
    loop.close()
