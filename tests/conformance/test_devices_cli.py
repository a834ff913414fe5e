"""``genesis-lab devices list`` and ``devices check``: what they print and how they exit."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from genesis_lab.cli import app

runner = CliRunner()


def test_list_shows_drivers_with_their_simulator_and_the_station_plugins():
    result = runner.invoke(app, ["devices", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    pump = rows["colour-bench-pump"]
    assert pump["kind"] == "driver" and pump["simulator"] is True
    assert "dye pump" in pump["description"]
    assert rows["colour-bench"]["kind"] == "station"


def test_list_prints_a_table():
    result = runner.invoke(app, ["devices", "list"])
    assert result.exit_code == 0
    assert "colour-bench-solvent-selector" in result.stdout


def test_check_passes_a_conforming_driver_and_prints_each_check():
    result = runner.invoke(app, ["devices", "check", "colour-bench-solvent-selector"])
    assert result.exit_code == 0, result.output
    for check in ("describe-read", "limits", "list-scan"):
        assert check in result.stdout
    assert "every applicable check passed" in result.stdout


def test_check_with_settings_runs_against_that_instrument_without_faults():
    args = ["devices", "check", "colour-bench-pump", "--setting", "limits_ml=[0, 5]"]
    result = runner.invoke(app, [*args, "--setting", "timeout_s=2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["simulated"] is False
    outcomes = {r["check"]: r for r in report["results"]}
    assert outcomes["metadata"]["reason"].endswith("limits [0, 5] mL")
    assert outcomes["fault"]["outcome"] == "n/a"


def test_check_refuses_unknown_drivers_checks_and_settings_with_exit_2():
    unknown = runner.invoke(app, ["devices", "check", "no-such-driver"])
    assert unknown.exit_code == 2
    assert "no device driver named 'no-such-driver'" in unknown.stderr
    bad_check = runner.invoke(app, ["devices", "check", "colour-bench-pump", "--check", "nope"])
    assert bad_check.exit_code == 2 and "unknown check(s) nope" in bad_check.stderr
    bad_setting = runner.invoke(app, ["devices", "check", "colour-bench-pump", "-s", "oops"])
    assert bad_setting.exit_code == 2 and "expected KEY=VALUE" in bad_setting.stderr
    refused = runner.invoke(app, ["devices", "check", "colour-bench-pump", "-s", "volts=3"])
    assert refused.exit_code == 2
    assert "volts: Extra inputs are not permitted" in refused.stderr
