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


BLEND = CAPPED.parent / "colour_mixing_blend.yaml"


@pytest.mark.slow
def test_every_experiment_run_keeps_the_mixture_equality_and_the_log_bounds(
    tmp_path: Path,
) -> None:
    cli = CliRunner()
    record = tmp_path / "r.sqlite"
    result = cli.invoke(app, ["run", str(BLEND), "--budget", "8", "--record", str(record)])
    assert result.exit_code == 0, result.output
    data = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    assert [t["state"] for t in data["trials"]] == ["COMPLETED"] * 8
    assert {t["origin"] for t in data["trials"]} == {"sobol", "model"}
    for trial in data["trials"]:
        values = trial["parameters"]
        assert values["cyan"] + values["magenta"] == pytest.approx(9.3, abs=1e-6), trial
        assert values["magenta"] - values["cyan"] >= 1 - 1e-6, trial
        assert 0.1 <= values["yellow"] <= 10.0, trial
    yellows = sorted(t["parameters"]["yellow"] for t in data["trials"][:5])
    assert yellows[0] < 1.0 < yellows[-1]  # the Sobol design spreads over the decades
