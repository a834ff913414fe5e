"""An operator can run the baseline (issue 16, item 7): ``run --planner random`` or
``planner: {kind: random}`` in the campaign file; the record says which planner ran, and
replay re-makes that planner's decisions exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.store import CampaignRecord

pytestmark = pytest.mark.slow

CAMPAIGN = Path(__file__).parents[2] / "campaigns" / "colour_mixing.yaml"
cli = CliRunner()


def _kinds(record: Path) -> tuple[str, set[str]]:
    with CampaignRecord(record, read_only=True) as stored:
        campaign = stored.campaigns()[-1]
        calls = stored.planner_calls(campaign.campaign_id)
        return campaign.spec["planner"]["kind"], {c["kind"] for c in calls if c.get("kind")}


def test_run_planner_random_runs_the_baseline_and_replays(tmp_path: Path) -> None:
    record = tmp_path / "random.sqlite"
    ran = cli.invoke(
        app, ["run", str(CAMPAIGN), "--planner", "random", "--budget", "3", "--record", str(record)]
    )
    assert ran.exit_code == 0, ran.output
    assert _kinds(record) == ("random", {"RandomPlanner"})
    replayed = cli.invoke(app, ["replay", str(record)])
    assert replayed.exit_code == 0 and "all 3 proposals of" in replayed.output, replayed.output


def test_the_campaign_file_chooses_the_planner(tmp_path: Path) -> None:
    spec = yaml.safe_load(CAMPAIGN.read_text())
    spec["planner"] = {"kind": "random"}
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert cli.invoke(app, ["validate", str(path)]).exit_code == 0
    record = tmp_path / "r.sqlite"
    ran = cli.invoke(app, ["run", str(path), "--budget", "2", "--record", str(record)])
    assert ran.exit_code == 0, ran.output
    assert _kinds(record) == ("random", {"RandomPlanner"})
    spec["planner"] = {"kind": "genetic"}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    refused = cli.invoke(app, ["validate", str(path)])
    assert refused.exit_code == 2 and "planner.kind" in refused.output
