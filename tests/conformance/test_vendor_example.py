"""What a vendor does: install their own package (examples/vendor-driver), see
genesis-lab find its driver by entry point, and pass ``genesis-lab devices check`` and the
pytest plugin; a driver with a bug fails the check with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "examples" / "vendor-driver"
BIN = Path(sys.executable).parent
TIMEOUT_S = 180


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """The vendor's project copied out (its source tree) and pip-installed into a directory
    of its own, put on PYTHONPATH: the environment and the project directory."""
    root = tmp_path_factory.mktemp("vendor")
    source = root / "source"
    shutil.copytree(VENDOR, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = root / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    install = subprocess.run(
        [*pip, *offline, "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert install.returncode == 0, install.stderr
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "200"
    return env, source


def _start(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, out, err


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_the_installed_vendor_driver_is_listed_and_the_good_one_passes_the_broken_one_fails(
    vendor: tuple[dict[str, str], Path],
):
    vendor_env, _ = vendor
    cli = str(BIN / "genesis-lab")
    listing = _start([cli, "devices", "list", "--json"], vendor_env)
    good = _start([cli, "devices", "check", "example-heater"], vendor_env)
    broken = _start([cli, "devices", "check", "example-broken-heater", "--json"], vendor_env)

    code, out, err = _finish(listing)
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["example-heater"]["kind"] == "driver"
    assert rows["example-heater"]["simulator"] is True
    assert "Example bench heater" in rows["example-heater"]["description"]
    assert "colour-bench-pump" in rows and rows["colour-bench"]["kind"] == "station"

    code, out, err = _finish(good)
    assert code == 0, out + err
    assert "every applicable check passed" in out
    for check in ("describe-read", "set-completes", "timeout", "fault", "disconnect", "scan"):
        assert check in out

    code, out, err = _finish(broken)
    assert code == 1, out + err
    report = json.loads(out)
    results = {r["check"]: r for r in report["results"]}
    assert report["passed"] is False
    assert results["describe-read"]["outcome"] == "fail"
    reason = results["describe-read"]["reason"]
    assert "read() has keys describe() lacks: example_broken_heater_power" in reason
    assert results["set-completes"]["outcome"] == "pass"


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_the_vendor_runs_the_checks_as_pytest_tests(vendor: tuple[dict[str, str], Path]):
    vendor_env, project = vendor
    pytest_cmd = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"]
    drivers = ["--genesis-driver", "example-heater", "--genesis-driver", "example-broken-heater"]
    code, out, err = _finish(_start([*pytest_cmd, *drivers, "tests"], vendor_env, cwd=project))
    assert code == 1, out + err  # the broken heater fails
    test = "tests/test_heater_conformance.py::test_heater_conforms"
    assert f"PASSED {test}[example-heater-describe-read]" in out
    good = [line for line in out.splitlines() if "[example-heater-" in line]
    assert good and not any(line.startswith("FAILED") for line in good)
    assert f"FAILED {test}[example-broken-heater-describe-read]" in out
    assert "read() has keys describe() lacks" in out
