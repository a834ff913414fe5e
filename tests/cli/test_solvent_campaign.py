"""A campaign with a categorical parameter drives the colour bench's solvent selector."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.store import CampaignRecord, TrialState

SOLVENT = Path(__file__).resolve().parents[2] / "campaigns" / "colour_mixing_solvent.yaml"
CHOICES = ["water", "ethanol", "glycerol", "acetone"]
BUDGET = 10


@pytest.mark.slow
def test_every_solvent_the_campaign_chose_reached_the_selector(tmp_path: Path) -> None:
    cli = CliRunner()
    record_path = tmp_path / "r.sqlite"
    result = cli.invoke(
        app, ["run", str(SOLVENT), "--budget", str(BUDGET), "--record", str(record_path)]
    )
    assert result.exit_code == 0, result.output
    with CampaignRecord(record_path, read_only=True) as record:
        [campaign] = record.campaigns()
        trials = record.trials(campaign.campaign_id)
        documents = record.documents(campaign.campaign_id)
    assert [t.state for t in trials] == [TrialState.COMPLETED] * BUDGET
    assert {t.origin for t in trials} == {"sobol", "model"}
    assert len({t.parameters["solvent"] for t in trials}) > 1  # the choice was searched
    for trial in trials:
        docs = {d.name: d.doc for d in documents if d.trial_id == trial.trial_id}
        solvent = trial.parameters["solvent"]
        assert solvent in CHOICES, trial
        assert docs["start"]["setpoints"]["solvent"] == solvent
        assert docs["descriptor"]["data_keys"]["solvent"]["dtype"] == "string"
        assert docs["descriptor"]["data_keys"]["solvent"]["choices"] == CHOICES
        assert docs["event"]["data"]["solvent"] == solvent  # what the selector read back
        assert docs["event"]["data"]["spectro_colour_error"] == trial.outcome
        assert docs["stop"]["exit_status"] == "success"
