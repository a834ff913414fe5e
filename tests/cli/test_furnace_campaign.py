"""A campaign runs end to end on the SCPI tube furnace through pyvisa over a real socket."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab_simulators.tube_furnace import FurnaceSimulatorOptions, start_furnace

FURNACE = Path(__file__).resolve().parents[2] / "campaigns" / "furnace_anneal.yaml"


def test_the_furnace_campaign_validates_with_its_own_simulated_furnace() -> None:
    result = CliRunner().invoke(app, ["validate", str(FURNACE)])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_every_trial_reached_the_instrument_as_scpi_commands(tmp_path: Path) -> None:
    spec = yaml.safe_load(FURNACE.read_text())
    options = FurnaceSimulatorOptions.model_validate(spec["station"]["options"]["simulator"])
    with start_furnace(options) as furnace:
        spec["station"]["options"] = {"address": furnace.address, "timeout_s": 1.0}
        campaign = tmp_path / "furnace.yaml"
        campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
        record = tmp_path / "r.sqlite"
        cli = CliRunner()
        result = cli.invoke(app, ["run", str(campaign), "--budget", "8", "--record", str(record)])
        log = furnace.command_log
    assert result.exit_code == 0, result.output
    data = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    trials = data["trials"]
    assert [t["state"] for t in trials] == ["COMPLETED"] * 8
    assert {t["origin"] for t in trials} == {"sobol", "model"}
    assert log[0] == "*IDN?"
    sent_temperatures = [float(c.split()[1]) for c in log if c.startswith("SOUR:TEMP ")]
    sent_ramps = [float(c.split()[1]) for c in log if c.startswith("SOUR:TEMP:RAMP ")]
    assert len(sent_temperatures) == len(sent_ramps) == 8
    for trial, temperature, ramp in zip(trials, sent_temperatures, sent_ramps, strict=True):
        assert math.isclose(temperature, trial["parameters"]["temperature"], rel_tol=1e-9)
        assert math.isclose(ramp, trial["parameters"]["ramp_rate"], rel_tol=1e-9)
    # every experiment waited for the furnace and read the film through the probe
    assert sum(c == "MEAS:RES?" for c in log) == 8
    assert sum(c == "MEAS:TEMP?" for c in log) > 8 * 3
