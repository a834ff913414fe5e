"""A record rewritten by someone with write access to the file, its hash chain re-computed
after the edit so that the chain alone verifies (issue 14, item 2): `verify` and `replay`
still fail, because each trial's result is recomputed from its own run's documents and the
campaign file text must say what the parsed campaign says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from record_forgery import rewrite_record
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.review import check_trial_outcomes
from genesis_lab.store import CampaignRecord, verify_record

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"

cli = CliRunner()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A campaign of 8 trials from the CLI (6 Sobol, 2 from the model)."""
    path = tmp_path_factory.mktemp("rewritten") / "record.sqlite"
    result = cli.invoke(app, ["run", str(CAMPAIGN), "--budget", "8", "--record", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _last_trial(path: Path) -> tuple[str, str, float]:
    with CampaignRecord(path, read_only=True) as record:
        campaign = record.campaigns()[-1]
        trial = record.trials(campaign.campaign_id)[-1]
    assert trial.outcome is not None
    return campaign.campaign_id, trial.trial_id, trial.outcome


def forge_last_outcome(path: Path) -> tuple[str, str, float]:
    """Set the last trial's result to a perfect 0.0 in the trials table and its ledger
    entries, re-chained; return the campaign id, the trial id and the real result."""
    cid, tid, real = _last_trial(path)
    forged = {"colour_error": 0.0}

    def edit(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "transition" and body["trial_id"] == tid and body["outcome"] is not None:
            return {**body, "outcome": 0.0, "outcomes": forged}
        return None

    forge = (
        "UPDATE trials SET outcome = 0.0, outcomes_json = ? WHERE campaign_id = ? AND trial_id = ?"
    )
    rewrite_record(path, [(forge, (json.dumps(forged), cid, tid))], edit)
    return cid, tid, real


def test_an_outcome_edited_and_rechained_fails_verify_and_replay(
    recorded: Path, tmp_path: Path
) -> None:
    path = tmp_path / "forged.sqlite"
    shutil.copy(recorded, path)
    cid, tid, real = forge_last_outcome(path)
    with CampaignRecord(path, read_only=True) as record:
        assert verify_record(record).ok, "the rewrite should leave a consistent chain"
        [problem] = check_trial_outcomes(record)
    assert problem.where == f"campaign {cid}: trial {tid}"
    assert f"measured {real!r}: the result was altered" in problem.what

    verified = cli.invoke(app, ["verify", str(path)])
    assert verified.exit_code == 1, verified.output
    assert "the result was altered" in " ".join(verified.output.split())
    # The last trial's result was told to the planner after its last ask: every proposal
    # still matches, and replay fails all the same.
    replayed = cli.invoke(app, ["replay", str(path)])
    assert replayed.exit_code == 1, replayed.output
    said = " ".join(replayed.output.split())
    assert "proposals of" in said and "match the record" in said
    assert "although every proposal matched" in said and "the result was altered" in said
    # The untouched record passes both.
    assert cli.invoke(app, ["verify", str(recorded)]).exit_code == 0
    assert cli.invoke(app, ["replay", str(recorded)]).exit_code == 0


def test_a_campaign_file_text_that_disagrees_with_the_parsed_campaign_fails_replay(
    recorded: Path, tmp_path: Path
) -> None:
    path = tmp_path / "forged.sqlite"
    shutil.copy(recorded, path)
    with CampaignRecord(path, read_only=True) as record:
        campaign = record.campaigns()[-1]
    cid = campaign.campaign_id
    text = campaign.spec_text.replace("name: colour-mixing", "name: something-else")
    assert text != campaign.spec_text

    def edit(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return {**body, "spec_text": text} if kind == "campaign" and "spec_text" in body else None

    rewrite_record(
        path, [("UPDATE campaigns SET spec_text = ? WHERE campaign_id = ?", (text, cid))], edit
    )
    with CampaignRecord(path, read_only=True) as record:
        assert verify_record(record).ok
    replayed = cli.invoke(app, ["replay", str(path)])
    assert replayed.exit_code == 1, replayed.output
    said = " ".join(replayed.output.split())
    assert "campaign file text in the record and the parsed campaign it ran differ in name" in said


def test_export_refuses_and_report_flags_a_record_that_does_not_verify(
    recorded: Path, tmp_path: Path
) -> None:
    path = tmp_path / "forged.sqlite"
    shutil.copy(recorded, path)
    cid, _, _ = forge_last_outcome(path)

    refused = cli.invoke(app, ["export", str(path), "--out", str(tmp_path / "export")])
    assert refused.exit_code == 1, refused.output
    assert "does not verify" in refused.output and "nothing exported" in refused.output
    assert not (tmp_path / "export").exists() or not any((tmp_path / "export").iterdir())
    marked = cli.invoke(
        app, ["export", str(path), "--out", str(tmp_path / "forensics"), "--unverified"]
    )
    assert marked.exit_code == 1, marked.output
    assert "the result was altered" in (tmp_path / "forensics" / "UNVERIFIED.txt").read_text()
    assert (tmp_path / "forensics" / f"{cid}-trials.csv").exists()

    report = cli.invoke(app, ["report", str(path), "--out", str(tmp_path / "report")])
    assert report.exit_code == 1, report.output
    assert "does not verify" in " ".join(report.output.split())
    page = (tmp_path / "report" / "report.html").read_text()
    assert "This record does not verify" in page and "the result was altered" in page
    # The genuine record exports and reports with no such mark.
    assert cli.invoke(app, ["export", str(recorded), "--out", str(tmp_path / "ok")]).exit_code == 0
    fine = cli.invoke(app, ["report", str(recorded), "--out", str(tmp_path / "fine")])
    assert fine.exit_code == 0, fine.output
    assert "This record does not verify" not in (tmp_path / "fine" / "report.html").read_text()
