"""What the operator's terminal shows (issue 16, item 4): one line per problem (what, which
device, what to do), never a traceback; the tracebacks go to the log file beside the
record, and to the terminal only with -v; each trial's line carries its units.

The commands run as the operator runs them, in a process of their own: what reaches the
terminal is what the process writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

LAB = """\
version: 1
name: furnace-lab
description: A SCPI tube furnace and its film probe at an address where nothing listens.
stations:
  - id: furnace-a
    devices:
      - name: furnace
        driver: scpi-furnace
        role: actuator
        settings: {{address: "{address}", timeout_s: 1, move_timeout_s: 60}}
        envelope: {{limits: [200.0, 900.0], max_step: 700.0, tolerance: 2.0, units: degC}}
      - name: probe
        driver: scpi-film-probe
        role: detector
        settings: {{address: "{address}", timeout_s: 1}}
"""

FURNACE_CAMPAIGN = """\
version: 1
name: furnace-lab-demo
description: Minimise the film's sheet resistance over the furnace temperature.
parameters:
  - {name: temperature, device: furnace, bounds: [200.0, 900.0], units: degC}
objective: {name: sheet_resistance, direction: minimize, reading: probe_sheet_resistance,
            units: ohm/sq}
budget: 2
initial_design: 2
seed: 1
station:
  plugin: lab
  id: furnace-a
  options: {file: lab.yaml, station: furnace-a}
broker: embedded
"""

#: The colour bench whose every pump refuses its first move: the first trials fail (an
#: expected device failure: the first pump that refuses ends its trial), then one completes.
FAULTY_CAMPAIGN = """\
version: 1
name: colour-mixing-refused
description: Every pump refuses its first command.
parameters:
  - {name: cyan, device: pump_cyan, bounds: [0.0, 10.0], units: mL}
  - {name: magenta, device: pump_magenta, bounds: [0.0, 10.0], units: mL}
  - {name: yellow, device: pump_yellow, bounds: [0.0, 10.0], units: mL}
objective: {name: colour_error, direction: minimize, reading: spectro_colour_error,
            units: ΔA×100}
budget: 4
initial_design: 4
seed: 7
planner: {kind: random}
station:
  plugin: colour-bench
  id: colour-bench
  options:
    seed: 7
    faults: {set_error: {at_moves: [1]}}
broker: embedded
trial_timeout_s: 60
"""


def _genesis_lab(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from genesis_lab.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "COLUMNS": "200"},  # the state dir: conftest's, for this test
    )


@pytest.mark.parametrize("command", ["validate", "run"])
def test_an_unreachable_instrument_is_one_line_naming_the_device_and_its_address(
    tmp_path: Path, unused_port: int, command: str
) -> None:
    address = f"TCPIP::127.0.0.1::{unused_port}::SOCKET"
    (tmp_path / "lab.yaml").write_text(LAB.format(address=address))
    (tmp_path / "campaign.yaml").write_text(FURNACE_CAMPAIGN)
    extra = ["--record", str(tmp_path / "r.sqlite")] if command == "run" else []
    done = _genesis_lab(tmp_path, command, "campaign.yaml", *extra)
    terminal = done.stdout + done.stderr
    assert done.returncode == 1, terminal
    assert "Traceback" not in terminal
    errors = [line for line in terminal.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, terminal
    assert "'furnace'" in errors[0] and address in errors[0], errors
    assert "check" in errors[0].lower(), errors  # what to do
    assert len(terminal.splitlines()) <= 3, terminal


@pytest.mark.slow
def test_an_expected_device_failure_is_one_line_and_its_traceback_is_in_the_log(
    tmp_path: Path,
) -> None:
    (tmp_path / "campaign.yaml").write_text(FAULTY_CAMPAIGN)
    record = tmp_path / "refused.sqlite"
    done = _genesis_lab(tmp_path, "run", "campaign.yaml", "--record", str(record))
    terminal = done.stdout + done.stderr
    assert done.returncode == 0, terminal
    assert "Traceback" not in terminal
    failed = [line for line in terminal.splitlines() if "controller refused" in line]
    assert failed, terminal
    trials = [line.split()[0] for line in failed]
    assert len(set(trials)) == len(trials), terminal  # one line per failure
    for line in failed:  # naming the trial and the device
        assert re.match(r"t\d{4} failed .* pump_\w+: controller refused", line), line
    # trial lines carry units: parameters in mL, the objective in its own units
    completed = [line for line in terminal.splitlines() if re.match(r"t\d{4} completed", line)]
    assert completed, terminal
    assert " mL " in completed[0] and "colour_error=" in completed[0], completed
    assert " ΔA×100" in completed[0], completed
    log = record.with_suffix(".log").read_text(encoding="utf-8")
    assert "Traceback" in log and "InjectedFaultError" in log

    verbose = _genesis_lab(
        tmp_path, "run", "campaign.yaml", "--record", str(tmp_path / "v.sqlite"), "-v"
    )
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "Traceback" in verbose.stdout + verbose.stderr
