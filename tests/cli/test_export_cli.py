"""``genesis-lab export`` as an operator meets it: files, counts, exit codes, messages."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from bluesky import RunEngine
from bluesky.plans import count
from event_model import DocumentNames, schema_validators
from ophyd.sim import SynSignal
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.spec import load_campaign
from genesis_lab.store import CampaignRecord, TrialState

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"
CID = "colour-mixing-cli-export"

cli = CliRunner()


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def record(tmp_path: Path, run_engine: RunEngine) -> Path:
    """A record of one campaign with two completed trials, each a real Bluesky run."""
    campaign = load_campaign(CAMPAIGN)
    path = tmp_path / "record.sqlite"
    signal = SynSignal(name="spectro_colour_error", func=lambda: 0.5)
    with CampaignRecord(path) as store:
        store.create_campaign(
            CID,
            name=campaign.spec.name,
            spec=campaign.spec.model_dump(mode="json"),
            spec_text=campaign.text,
            versions={},
        )
        for tid in ("t0001", "t0002"):
            docs: list[tuple[str, dict[str, Any]]] = []
            token = run_engine.subscribe(lambda n, d, docs=docs: docs.append((n, copy.deepcopy(d))))
            run_engine(count([signal], num=3), campaign_id=CID, trial_id=tid)
            run_engine.unsubscribe(token)
            store.add_trial(
                CID, tid, parameters={"cyan": 1.0, "magenta": 2.0, "yellow": 3.0}, origin="sobol"
            )
            store.transition(CID, tid, TrialState.DISPATCHED)
            store.transition(CID, tid, TrialState.RUNNING)
            for name, doc in docs:
                store.add_document(CID, tid, name, doc)
            store.transition(
                CID,
                tid,
                TrialState.COMPLETED,
                outcome=0.5,
                outcomes={"colour_error": 0.5},
                run_uid=docs[0][1]["uid"],
            )
        store.finish_campaign(CID, status="completed", reason="budget spent")
    return path


def test_help_says_what_is_written_and_in_which_convention() -> None:
    result = cli.invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = flat(result.output)
    assert '["<name>", {<document>}]' in text and "suitcase-jsonl" in text
    for option in ("--out", "--campaign", "--format", "--one-stream"):
        assert option in text


def test_export_writes_a_file_per_run_and_the_trial_table_and_says_so(
    record: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cli.invoke(app, ["export", str(record), "--out", str(out)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    jsonl = sorted(out.glob("*.jsonl"))
    assert len(jsonl) == 2
    for path in jsonl:
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(lines) == 6 and lines[0][0] == "start" and lines[-1][0] == "stop"
        for name, doc in lines:
            schema_validators[DocumentNames[name]].validate(doc)
        assert f"{path}: 6 documents (trial {lines[0][1]['trial_id']})" in result.output
    table = out / f"{CID}-trials.csv"
    assert f"{table}: 2 trials" in result.output
    assert "12 documents of 2 runs written" in result.output
    with table.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["trial_id"], r["cyan (mL)"], r["colour_error (ΔA×100)"]) for r in rows] == [
        ("t0001", "1.0", "0.5"),
        ("t0002", "1.0", "0.5"),
    ]


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--format", "csv"], [f"{CID}-trials.csv"]),
        (["--format", "jsonl", "--one-stream"], [f"{CID}.jsonl"]),
        (
            ["--format", "all", "--one-stream", "--campaign", CID],
            [f"{CID}-trials.csv", f"{CID}.jsonl"],
        ),
    ],
)
def test_format_and_one_stream_choose_the_files(
    record: Path, tmp_path: Path, options: list[str], names: list[str]
) -> None:
    out = tmp_path / "out"
    result = cli.invoke(app, ["export", str(record), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == names


def test_an_invalid_document_is_named_and_the_exit_is_1_after_writing_the_rest(
    record: Path, tmp_path: Path
) -> None:
    with CampaignRecord(record) as store:
        start = store.documents(CID, "t0002")[0].doc
        store.add_document(CID, "t0002", "stop", {"uid": "broken-stop", "run_start": start["uid"]})
    out = tmp_path / "out"
    result = cli.invoke(app, ["export", str(record), "--out", str(out)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    text = flat(result.output)
    assert "invalid: trial t0002: stop document broken-stop:" in text
    assert "is a required property" in text  # what event-model's schema says is wrong
    assert "1 stored document(s) are not valid event-model documents and were not written" in text
    assert "12 documents of 2 runs written" in text
    written = [line for path in out.glob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(written) == 12 and "broken-stop" not in "".join(written)
    assert (out / f"{CID}-trials.csv").exists()
    assert isinstance(result.exception, SystemExit)  # an exit, not a traceback


def test_a_missing_record_or_campaign_exits_2_and_an_unusable_out_exits_1(
    record: Path, tmp_path: Path
) -> None:
    not_a_record = tmp_path / "notes.txt"
    not_a_record.write_text("not a database\n" * 100)
    occupied = tmp_path / "a-file"
    occupied.write_text("")
    cases = [
        (
            ["export", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "o")],
            2,
            "no record at",
        ),
        (
            ["export", str(record), "--campaign", "nope", "--out", str(tmp_path / "o")],
            2,
            f"no campaign 'nope' in {record} (it holds: {CID})",
        ),
        (
            ["export", str(not_a_record), "--out", str(tmp_path / "o")],
            2,
            "is it a genesis-lab record?",
        ),
        (
            ["export", str(record), "--out", str(occupied)],
            1,
            f"cannot write to {occupied}: it is a file, not a directory",
        ),
        (
            ["export", str(record), "--out", str(occupied / "below")],
            1,
            f"cannot write to {occupied / 'below'}",
        ),
        (
            ["export", str(record), "--out", str(tmp_path / "o"), "--format", "xml"],
            2,
            "'xml' is not one of",
        ),
    ]
    for args, code, message in cases:
        result = cli.invoke(app, args, env={"COLUMNS": "300"})
        assert result.exit_code == code, (args, result.output)
        assert message in flat(result.output), (args, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_export_of_a_campaign_run_end_to_end(tmp_path: Path) -> None:
    """A real campaign (embedded broker, local worker, colour bench), then its export."""
    record = tmp_path / "r.sqlite"
    ran = cli.invoke(app, ["run", str(CAMPAIGN), "--budget", "2", "--record", str(record)])
    assert ran.exit_code == 0, ran.output
    out = tmp_path / "out"
    result = cli.invoke(app, ["export", str(record), "--out", str(out), "--one-stream"])
    assert result.exit_code == 0, result.output
    (stream,) = out.glob("*.jsonl")
    pairs = [json.loads(line) for line in stream.read_text().splitlines()]
    for name, doc in pairs:
        schema_validators[DocumentNames[name]].validate(doc)
    with CampaignRecord(record, read_only=True) as store:
        (campaign,) = store.campaigns()
        stored = store.documents(campaign.campaign_id)
        trials = store.trials(campaign.campaign_id)
    assert len(pairs) == len(stored)
    assert [d["trial_id"] for n, d in pairs if n == "start"] == ["t0001", "t0002"]
    assert [n for n, _ in pairs].count("stop") == 2 and pairs[-1][0] == "stop"
    with (out / f"{campaign.campaign_id}-trials.csv").open(encoding="utf-8-sig") as table:
        rows = list(csv.DictReader(table))
    assert [float(r["colour_error (ΔA×100)"]) for r in rows] == [t.outcome for t in trials]
    assert [r["run_uid"] for r in rows] == [t.run_uid for t in trials]
