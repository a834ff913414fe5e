"""The plan time-out: a driver whose Status never finishes makes each stock plan of the
kit fail after the time-out given to ``genesis-lab devices check --plan-timeout`` or to
the pytest plugin (``--genesis-plan-timeout``, ini ``genesis_plan_timeout``), naming the
plan and the time-out; the default is documented where a vendor looks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.cli._devices import PLAN_TIMEOUT_S
from genesis_lab.conformance import DEFAULT_PLAN_TIMEOUT_S

runner = CliRunner()
DRIVER = "example-hanging-detector"
TIMEOUT_S = 120

HANGING = '''
"""A detector whose acquisitions never end: trigger() returns a Status, with no timeout,
that never finishes."""

from contextlib import contextmanager

from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, Signal
from pydantic import BaseModel, ConfigDict


class Volts(Signal):
    def describe(self):
        description = super().describe()
        description[self.name]["units"] = "V"
        return description


class Hanging(Device):
    voltage = Cpt(Volts, value=1.0, kind="hinted")

    def trigger(self):
        return DeviceStatus(self)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout_s: float = 0.3


@contextmanager
def _simulated():
    yield {}


class Driver:
    description = "a detector that never finishes an acquisition (plan time-out test)"
    settings_model = Settings
    simulator = staticmethod(_simulated)

    def build(self, name, settings):
        return Hanging(name=name)


DRIVER = Driver()
'''


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory that, on the path, installs the hanging detector as a driver: its module
    and a dist-info whose entry point names it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "hanging_detector_example.py").write_text(HANGING)
    info = site / "hanging_detector_example-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hanging-detector-example\n")
    (info / "entry_points.txt").write_text(
        f"[genesis_lab.devices]\n{DRIVER} = hanging_detector_example:DRIVER\n"
    )
    return site


def test_devices_check_fails_a_hanging_plan_at_the_plan_timeout(
    site: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.syspath_prepend(str(site))
    args = ["devices", "check", DRIVER, "--check", "count", "--plan-timeout", "0.5", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    (count,) = json.loads(result.stdout)["results"]  # JSON alone: Bluesky's words go to stderr
    assert count["outcome"] == "fail"
    assert (
        "count did not finish within the plan time-out (0.5 s) and was halted" in (count["reason"])
    )
    assert "--plan-timeout SECONDS" in count["reason"]


def test_devices_check_documents_the_plan_timeout_and_refuses_a_bad_one():
    assert PLAN_TIMEOUT_S == DEFAULT_PLAN_TIMEOUT_S
    shown = runner.invoke(app, ["devices", "check", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "--plan-timeout" in shown.stdout
    assert f"[default: {DEFAULT_PLAN_TIMEOUT_S}]" in shown.stdout
    refused = runner.invoke(app, ["devices", "check", "colour-bench-pump", "--plan-timeout", "0"])
    assert refused.exit_code == 2
    assert "--plan-timeout: plan time-out 0.0: expected a number of seconds above 0" in (
        refused.stderr
    )


def _pytest(project: Path, site: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "-p", "no:randomly"]
    return subprocess.Popen(
        [*command, "-k", "count", *args, "--genesis-driver", DRIVER, "tests"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _project(root: Path, ini: str) -> Path:
    project = root / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text(ini)
    (project / "tests" / "test_conforms.py").write_text(
        textwrap.dedent(
            """
            def test_conforms(genesis_conformance_case):
                genesis_conformance_case.assert_conforms()
            """
        )
    )
    return project


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_the_pytest_plugin_fails_a_hanging_plan_at_the_option_or_ini_plan_timeout(
    site: Path, tmp_path: Path
):
    project = _project(tmp_path / "a", "[pytest]\ngenesis_plan_timeout = 0.75\n")
    by_ini = _pytest(project, site)
    by_option = _pytest(project, site, "--genesis-plan-timeout", "0.5")
    test = f"tests/test_conforms.py::test_conforms[{DRIVER}-count]"
    for process, limit in ((by_ini, "0.75"), (by_option, "0.5")):
        out, err = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 1, out + err
        assert f"FAILED {test}" in out
        assert f"count did not finish within the plan time-out ({limit} s)" in out
