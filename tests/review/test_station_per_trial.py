"""Every trial names the station it was dispatched to and the worker process that ran it
(issue 17, item 1, in part): in the record (hash-chained, so ``verify`` catches an edit),
in ``show``, ``show --json``, ``show --trial``, the CSV export and the report. A record made
before these columns still opens and shows."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.store import CampaignRecord, verify_record

REPO = Path(__file__).resolve().parents[2]
cli = CliRunner()


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stations") / "r.sqlite"
    ran = cli.invoke(
        app, ["run", str(REPO / "campaigns" / "colour_mixing.yaml"), "--budget", "3",
              "--planner", "random", "--record", str(path)],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    return path


def test_each_trial_names_its_station_and_worker(record: Path) -> None:
    with CampaignRecord(record, read_only=True) as opened:
        [campaign] = opened.campaigns()
        trials = opened.trials(campaign.campaign_id)
        assert verify_record(opened).ok
    assert [t.station_id for t in trials] == ["colour-bench"] * 3
    workers = {t.worker for t in trials}
    assert len(workers) == 1 and " pid " in workers.pop()  # the one local worker process

    shown = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    assert [t["station_id"] for t in shown["trials"]] == ["colour-bench"] * 3
    assert all(" pid " in t["worker"] for t in shown["trials"])
    detail = cli.invoke(app, ["show", str(record), "--trial", "t0001"]).output
    assert "station: colour-bench (worker " in detail


def test_the_export_and_the_report_name_the_stations(record: Path, tmp_path: Path) -> None:
    exported = cli.invoke(app, ["export", str(record), "--out", str(tmp_path / "e")])
    assert exported.exit_code == 0, exported.output
    [table] = (tmp_path / "e").glob("*-trials.csv")
    with table.open(encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["station_id"] for r in rows] == ["colour-bench"] * 3 and rows[0]["worker"]
    reported = cli.invoke(app, ["report", str(record), "--out", str(tmp_path / "r")])
    assert reported.exit_code == 0, reported.output
    page = (tmp_path / "r" / "report.html").read_text()
    assert "<dt>stations</dt><dd>colour-bench: 3 trials (worker " in page


def test_an_edited_station_is_caught_by_verify(record: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.sqlite"
    edited.write_bytes(record.read_bytes())
    with sqlite3.connect(edited) as db:
        db.execute("UPDATE trials SET station_id = 'elsewhere' WHERE trial_id = 't0002'")
    with CampaignRecord(edited, read_only=True) as opened:
        problems = [str(p) for p in verify_record(opened).problems]
    assert any("trial t0002: station_id is 'elsewhere'" in p for p in problems), problems


def test_a_record_made_before_the_columns_still_shows(record: Path, tmp_path: Path) -> None:
    older = tmp_path / "older.sqlite"
    older.write_bytes(record.read_bytes())
    with sqlite3.connect(older) as db:
        db.execute("ALTER TABLE trials DROP COLUMN station_id")
        db.execute("ALTER TABLE trials DROP COLUMN worker")
    shown = cli.invoke(app, ["show", str(older), "--json"])
    assert shown.exit_code == 0, shown.output
    assert [t["station_id"] for t in json.loads(shown.output)["trials"]] == [""] * 3
