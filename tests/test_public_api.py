"""Every package's flat public face is honest, and importing it starts nothing."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

PACKAGES = [
    "genesis_lab",
    "genesis_lab.bench",
    "genesis_lab.cli",
    "genesis_lab.conformance",
    "genesis_lab.messages",
    "genesis_lab.messaging",
    "genesis_lab.orchestration",
    "genesis_lab.planning",
    "genesis_lab.review",
    "genesis_lab.security",
    "genesis_lab.spec",
    "genesis_lab.station",
    "genesis_lab.store",
    "genesis_lab.worker",
    "genesis_lab_simulators.colour_bench",
    "genesis_lab_simulators.tube_furnace",
]

INSTRUMENTS = [
    "genesis_lab_devices",
    "genesis_lab_devices.furnace",
    "genesis_lab_devices.robot_arm",
    "genesis_lab_devices.spectrometer",
    "genesis_lab_devices.syringe_pump",
    "genesis_lab_simulators.robot_arm",
    "genesis_lab_simulators.spectrometer",
    "genesis_lab_simulators.syringe_pump",
]
"""Driver and simulator packages: imported by the no-thread, no-socket check only."""


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    package = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(package).items()
        if not attr.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    public |= {attr for attr in package.__all__ if attr == "__version__"}
    assert sorted(package.__all__) == sorted(set(package.__all__)), "duplicates in __all__"
    assert set(package.__all__) == public


def test_importing_every_package_starts_no_thread_and_opens_no_socket() -> None:
    code = (
        "import socket, threading\n"
        "opened = []\n"
        "real = socket.socket.__init__\n"
        "def spy(self, *a, **k):\n"
        "    opened.append(a)\n"
        "    real(self, *a, **k)\n"
        "socket.socket.__init__ = spy\n"
        f"for name in {PACKAGES + INSTRUMENTS!r}:\n"
        "    __import__(name)\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not opened, opened\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
