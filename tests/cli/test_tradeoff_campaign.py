"""Campaigns with several objectives, an outcome constraint, and a failing region, run end to
end through the CLI on the colour bench; the record and `show` hold what the planner did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"


def run_and_show(campaign: str, budget: int, tmp_path: Path) -> tuple[str, dict]:
    cli = CliRunner()
    record = tmp_path / "r.sqlite"
    ran = cli.invoke(
        app, ["run", str(CAMPAIGNS / campaign), "--budget", str(budget), "--record", str(record)]
    )
    assert ran.exit_code == 0, ran.output
    shown = cli.invoke(app, ["show", str(record)], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    data = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    return shown.output, data


@pytest.mark.slow
def test_a_two_objective_campaign_records_and_shows_its_pareto_front(tmp_path: Path) -> None:
    text, data = run_and_show("colour_mixing_tradeoff.yaml", 12, tmp_path)
    trials = {t["trial_id"]: t for t in data["trials"]}
    assert [t["state"] for t in trials.values()] == ["COMPLETED"] * 12
    assert {t["origin"] for t in trials.values()} == {"sobol", "model"}
    for trial in trials.values():
        assert set(trial["outcomes"]) == {"colour_error", "dye_cost", "transmittance"}
        assert trial["outcome"] == trial["outcomes"]["colour_error"]
    front = [trials[i]["outcomes"] for i in data["pareto_front"]]
    assert len(front) >= 2
    feasible = [t["outcomes"] for t in trials.values() if t["outcomes"]["transmittance"] >= 5]
    for member in front:
        assert member["transmittance"] >= 5.0
        for other in feasible:  # nothing feasible dominates a member of the front
            assert not (
                other["colour_error"] <= member["colour_error"]
                and other["dye_cost"] <= member["dye_cost"]
                and other != member
                and (other["colour_error"], other["dye_cost"])
                != (member["colour_error"], member["dye_cost"])
            )
    assert [m["name"] for m in data["measured"]] == ["colour_error", "dye_cost", "transmittance"]
    assert f"Pareto front ({len(front)} trials, marked P)" in text
    model = next(t for t in trials.values() if t["origin"] == "model")
    assert set(model["explanation"]["predictions"]) == {"colour_error", "dye_cost", "transmittance"}


@pytest.mark.slow
def test_failed_experiments_feed_the_feasibility_model(tmp_path: Path) -> None:
    _, data = run_and_show("colour_mixing_precipitate.yaml", 12, tmp_path)
    trials = data["trials"]
    failed = [t for t in trials if t["state"] == "FAILED"]
    assert failed, "the Sobol design should reach the precipitating region"
    for trial in failed:
        assert sum(trial["parameters"].values()) > 15.0
        assert "Precipitation" in trial["reason"]
    first_failure = trials.index(failed[0])
    later_model = [t for t in trials[first_failure:] if t["origin"] == "model" and t["explanation"]]
    assert later_model
    for trial in later_model:
        assert "feasibility" in trial["explanation"]["predictions"]
    completed = [t for t in trials if t["state"] == "COMPLETED"]
    assert all(sum(t["parameters"].values()) <= 15.0 for t in completed)
