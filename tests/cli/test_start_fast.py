"""Commands import only what they use (issue 16, item 1; STYLE.md 11): '--help' and the
controls an operator types in a hurry never load bluesky, torch or the devices. How fast
they start is measured in benchmarks/estop_latency.py, not here."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "bluesky",
    "ophyd",
    "torch",
    "botorch",
    "genesis_lab.conformance",
    "genesis_lab.orchestration",
    "genesis_lab.planning",
    "genesis_lab.station",
    "genesis_lab.worker",
)

PROBE = """
import sys
from genesis_lab.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] if not m.startswith("genesis_lab") else ".".join(m.split(".")[:2])
                for m in sys.modules if m.startswith(HEAVY)})
print("HEAVY:" + ",".join(heavy))
"""


def _heavy_after(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("HEAVY:")]
    assert line, done.stdout + done.stderr
    return [m for m in line[-1][len("HEAVY:") :].split(",") if m]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["estop", "--help"],
        ["estop", "--broker", "mqtt://127.0.0.1:1", "--wait", "0"],  # nothing listens there
        ["estop", "--status", "--broker", "mqtt://127.0.0.1:1"],
        ["pause", "--broker", "mqtt://127.0.0.1:1", "--wait", "0"],
        ["devices", "--help"],
    ],
    ids=" ".join,
)
def test_a_control_or_help_loads_no_heavy_package(args: list[str]) -> None:
    assert _heavy_after(*args) == []


def test_the_probe_sees_a_command_that_needs_them() -> None:
    """The check can fail: 'devices list' loads the drivers, and bluesky with them."""
    assert "bluesky" in _heavy_after("devices", "list")
