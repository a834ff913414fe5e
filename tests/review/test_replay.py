"""Replaying a campaign's decisions from its record: the same proposals, or the first one
that differs and why; and who started and ended the campaign, in the record."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from campaign_helpers import run, small_spec, worker_for
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.messaging import EmbeddedBroker
from genesis_lab.orchestration._provenance import current_actor
from genesis_lab.review import replay_decisions
from genesis_lab.store import CampaignRecord

cli = CliRunner()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished campaign of 10 trials: a 4-point Sobol design, then the model, 2 at a time
    (its broker and worker stopped before any test uses the record)."""
    spec = small_spec(budget=10)
    spec = spec.model_copy(update={"initial_design": 4, "batch_size": 2})
    path = tmp_path_factory.mktemp("replay") / "record.sqlite"
    with EmbeddedBroker() as broker, worker_for(spec, broker.url):
        result, _runner = run(spec, broker.url, path)
    assert result.states == {"COMPLETED": 10}
    return path


def _copy(recorded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.sqlite"
    shutil.copy(recorded, copy)
    return copy


def _calls(path: Path) -> list[dict]:
    with CampaignRecord(path, read_only=True) as record:
        return record.planner_calls(record.campaigns()[-1].campaign_id)


def test_the_record_says_who_started_the_campaign_and_every_planner_call(recorded: Path) -> None:
    with CampaignRecord(recorded, read_only=True) as record:
        campaign = record.campaigns()[-1]
        events = record.campaign_events(campaign.campaign_id)
    assert [(e.event, e.actor) for e in events] == [
        ("started", current_actor()),
        ("completed", ""),
    ]
    assert events[-1].detail == campaign.stop_reason
    # The exact software: the packages that decide results first, then every installed one.
    assert list(campaign.versions)[:4] == ["python", "platform", "genesis-lab", "torch"]
    assert {"jsonschema", "typer", "scipy"} <= set(campaign.versions)
    calls = _calls(recorded)
    assert calls[0] == {
        "op": "planner",
        "kind": "BayesianPlanner",
        "seed": 7,
        "initial_design": 4,
        "num_restarts": 8,
        "raw_samples": 256,
        "weighted": False,
    }
    asks = [c for c in calls if c["op"] == "ask"]
    assert sum(len(c["proposals"]) for c in asks) == 10
    assert [c["op"] for c in calls].count("tell") == 10


def test_replay_proposes_exactly_what_was_recorded(recorded: Path) -> None:
    with CampaignRecord(recorded, read_only=True) as record:
        result = replay_decisions(record)
    assert result.ok, (result.divergence, result.causes)
    assert result.proposals == 10
    assert result.largest_difference <= 1e-6


def test_an_edited_outcome_names_the_first_proposal_that_no_longer_matches(
    recorded: Path, tmp_path: Path
) -> None:
    path = _copy(recorded, tmp_path)
    calls = _calls(path)
    # The second told result, and the first model proposal asked after it was told.
    tells = [i for i, c in enumerate(calls) if c["op"] == "tell"]
    edited = calls[tells[1]]["trial_id"]
    expected = next(
        p["trial_id"]
        for c in calls[tells[1] :]
        if c["op"] == "ask"
        for p in c["proposals"]
        if p["origin"] == "model"
    )
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE trials SET outcome = 50.0,"
            " outcomes_json = json_set(outcomes_json, '$.colour_error', 50.0)"
            " WHERE trial_id = ?",
            (edited,),
        )
    db.close()
    with CampaignRecord(path, read_only=True) as record:
        result = replay_decisions(record)
    assert result.divergence is not None
    assert result.divergence.trial_id == expected
    assert result.divergence.recorded_origin == result.divergence.replayed_origin == "model"
    assert result.causes[0].startswith(
        f"the record was changed after it was written: trial {edited}"
    )
    assert any(
        cause.startswith(f"trial {edited}'s recorded result") and "edited data" in cause
        for cause in result.causes
    )
    out = cli.invoke(app, ["replay", str(path)])
    assert out.exit_code == 1
    assert f"proposal {expected}" in out.stderr and "does not match the record" in out.stderr


def test_a_different_seed_in_the_record_is_named(recorded: Path, tmp_path: Path) -> None:
    path = _copy(recorded, tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE campaigns SET spec_json = json_set(spec_json, '$.seed', 8)")
    db.close()
    with CampaignRecord(path, read_only=True) as record:
        result = replay_decisions(record)
    assert result.divergence is not None
    assert result.divergence.trial_id == "t0001"  # the Sobol design depends on the seed
    assert "the planner ran with seed=7 but the campaign file in the record says seed=8" in (
        " ".join(result.causes)
    )


def test_verify_and_replay_from_the_command_line(recorded: Path, tmp_path: Path) -> None:
    ok = cli.invoke(app, ["verify", str(recorded)])
    assert ok.exit_code == 0, ok.output
    assert "verified" in ok.stdout
    replayed = cli.invoke(app, ["replay", str(recorded)])
    assert replayed.exit_code == 0, replayed.output
    assert "all 10 proposals of" in replayed.stdout

    path = _copy(recorded, tmp_path)
    with sqlite3.connect(path) as db:
        uid = db.execute("SELECT uid FROM documents WHERE name = 'event' LIMIT 1").fetchone()[0]
        db.execute(
            "UPDATE documents SET doc_json = replace(doc_json, '\"seq_num\": 1', "
            "'\"seq_num\": 2') WHERE uid = ?",
            (uid,),
        )
    db.close()
    tampered = cli.invoke(app, ["verify", str(path)])
    assert tampered.exit_code == 1
    assert f"document {uid} (event of trial" in tampered.stderr
    assert "altered" in tampered.stderr

    missing = cli.invoke(app, ["verify", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 2 and "no record at" in missing.stderr
