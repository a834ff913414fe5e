"""A campaign with a linear constraint keeps every experiment it runs inside the constraint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app

CAPPED = Path(__file__).resolve().parents[2] / "campaigns" / "colour_mixing_capped.yaml"


@pytest.mark.slow
def test_every_experiment_run_respects_the_total_volume_cap(tmp_path: Path) -> None:
    cli = CliRunner()
    record = tmp_path / "r.sqlite"
    result = cli.invoke(app, ["run", str(CAPPED), "--budget", "10", "--record", str(record)])
    assert result.exit_code == 0, result.output
    data = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    assert [t["state"] for t in data["trials"]] == ["COMPLETED"] * 10
    assert {t["origin"] for t in data["trials"]} == {"sobol", "model"}
    for trial in data["trials"]:
        assert sum(trial["parameters"].values()) <= 12 + 1e-6, trial
