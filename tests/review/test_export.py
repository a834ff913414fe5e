"""Export: Bluesky documents as JSON Lines the ecosystem reads, the trial table as CSV.

The record is written with the record's own write methods; its documents are made by a
real RunEngine running ``bluesky.plans.count`` on ophyd.sim signals.
"""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bluesky import RunEngine
from bluesky.plans import count
from event_model import DocumentNames, RunRouter, schema_validators
from ophyd.sim import SynSignal

from genesis_lab.errors import RecordError
from genesis_lab.review import (
    export_documents,
    export_trials_csv,
)
from genesis_lab.spec import load_campaign
from genesis_lab.store import CampaignRecord, TrialState

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing_tradeoff.yaml"
CID = "colour-mixing-tradeoff-export"
AWKWARD = 'pump "cyan" jammed, at 3,2 mL; operator said:\n"leave it", then\r\nstopped'

Pair = tuple[str, dict[str, Any]]


@dataclass
class Built:
    path: Path
    runs: dict[str, list[Pair]]  # trial id -> documents in the order the RunEngine made them
    parameters: dict[str, dict[str, Any]]
    outcomes: dict[str, dict[str, float]]


def make_run(run_engine: RunEngine, trial_id: str, values: dict[str, float]) -> list[Pair]:
    """One real Bluesky run: ``count`` of one signal per reading, two events."""
    detectors = [SynSignal(name=name, func=lambda v=v: v) for name, v in values.items()]
    docs: list[Pair] = []
    token = run_engine.subscribe(lambda name, doc: docs.append((name, copy.deepcopy(doc))))
    try:
        run_engine(count(detectors, num=2), campaign_id=CID, trial_id=trial_id)
    finally:
        run_engine.unsubscribe(token)
    return docs


def build_record(path: Path, run_engine: RunEngine) -> Built:
    """Five trials: t0001 completed; t0002 completed, its last event stored after its stop
    (sent again after a loss); t0003 abandoned mid-run (no stop) with an awkward reason;
    t0004 rejected (never ran); t0005 a prior result."""
    campaign = load_campaign(CAMPAIGN)
    spec = campaign.spec
    readings = {
        "spectro_colour_error": 0.1 + 0.2,
        "dosing_dye_cost": 1e-300,
        "spectro_min_transmittance": 123456.78901234567,
    }
    parameters = {
        "t0001": {"cyan": 1 / 3, "magenta": 2.0, "yellow": 9.999999999999998},
        "t0002": {"cyan": 0.1, "magenta": 7, "yellow": 5e-324},
        "t0003": {"cyan": 3.2, "magenta": 6.1, "yellow": 1.5},
        "t0004": {"cyan": 10.0, "magenta": 10.0, "yellow": 10.0},
        "t0005": {"cyan": 4.0, "magenta": 5.0, "yellow": 6.0},
    }
    outcomes = {
        "t0001": {"colour_error": 0.1 + 0.2, "dye_cost": 1e-300, "transmittance": 9.6},
        "t0002": {"colour_error": 1 / 7, "dye_cost": 6.49, "transmittance": 123456.78901234567},
        "t0005": {"colour_error": 2.5, "dye_cost": 3.0, "transmittance": 50.0},
    }
    runs = {tid: make_run(run_engine, tid, readings) for tid in ("t0001", "t0002", "t0003")}
    with CampaignRecord(path) as record:
        record.create_campaign(
            CID,
            name=spec.name,
            spec=spec.model_dump(mode="json"),
            spec_text=campaign.text,
            versions={"genesis-lab": "test"},
        )
        for tid in ("t0001", "t0002", "t0003", "t0004"):
            record.add_trial(CID, tid, parameters=parameters[tid], origin="sobol")
        for tid in ("t0001", "t0002", "t0003"):
            record.transition(CID, tid, TrialState.DISPATCHED)
            record.transition(CID, tid, TrialState.RUNNING)
        stored = {
            "t0001": runs["t0001"],
            "t0002": [*runs["t0002"][:-2], runs["t0002"][-1], runs["t0002"][-2]],
            "t0003": runs["t0003"][:3],  # start, descriptor, one event: no stop
        }
        for tid, docs in stored.items():
            for name, doc in docs:
                record.add_document(CID, tid, name, doc)
        for tid in ("t0001", "t0002"):
            record.transition(
                CID,
                tid,
                TrialState.COMPLETED,
                outcome=outcomes[tid]["colour_error"],
                outcomes=outcomes[tid],
                run_uid=runs[tid][0][1]["uid"],
            )
        record.transition(CID, "t0003", TrialState.ABANDONED, reason=AWKWARD)
        record.transition(
            CID, "t0004", TrialState.REJECTED, reason='outside the envelope: "cyan", "magenta"'
        )
        record.add_prior_trial(
            CID,
            "t0005",
            parameters=parameters["t0005"],
            outcome=2.5,
            outcomes=outcomes["t0005"],
            source="earlier.csv",
        )
        record.finish_campaign(CID, status="completed", reason="budget spent")
    return Built(path, runs, parameters, outcomes)


@pytest.fixture
def built(tmp_path: Path, run_engine: RunEngine) -> Built:
    return build_record(tmp_path / "record.sqlite", run_engine)


def read_jsonl(path: Path) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assert isinstance(item, list) and len(item) == 2, line
        name, doc = item  # the reading databroker's and tiled's JSONL readers do
        pairs.append((name, doc))
    return pairs


def assert_valid(pairs: list[Pair]) -> None:
    for name, doc in pairs:
        schema_validators[DocumentNames[name]].validate(doc)


# ---------------------------------------------------------------------------- JSON Lines
def test_one_file_per_run_of_valid_name_doc_pairs_start_first_stop_last(
    built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with CampaignRecord(built.path, read_only=True) as record:
        summary = export_documents(record, None, out)
        stored = {tid: record.documents(CID, tid) for tid in built.runs}
    assert summary.ok and summary.campaign_id == CID and summary.runs == 3
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{docs[0][1]['uid']}.jsonl" for docs in built.runs.values()
    )
    assert summary.documents == sum(len(docs) for docs in stored.values()) == 5 + 5 + 3
    for file in summary.files:
        (tid,) = file.trial_ids
        pairs = read_jsonl(file.path)
        assert_valid(pairs)
        assert file.count == len(pairs) == len(stored[tid])
        assert sorted(d["uid"] for _, d in pairs) == sorted(d.uid for d in stored[tid])
        assert pairs[0][0] == "start" and pairs[0][1]["trial_id"] == tid
        assert file.run_uids == (pairs[0][1]["uid"],)
        if tid != "t0003":
            assert pairs[-1][0] == "stop"
            assert [(n, d["uid"]) for n, d in pairs] == [(n, d["uid"]) for n, d in built.runs[tid]]
    assert any("t0003 (ABANDONED)" in w and "no stop document" in w for w in summary.warnings), (
        summary.warnings
    )


def test_a_document_stored_after_its_stop_is_written_before_it_and_said_so(
    built: Built, tmp_path: Path
) -> None:
    with CampaignRecord(built.path, read_only=True) as record:
        received = [d.name for d in record.documents(CID, "t0002")]
        summary = export_documents(record, CID, tmp_path / "out")
    assert received[-2:] == ["stop", "event"]
    (file,) = [f for f in summary.files if f.trial_ids == ("t0002",)]
    assert [n for n, _ in read_jsonl(file.path)] == [n for n, _ in built.runs["t0002"]]
    (warning,) = [w for w in summary.warnings if "t0002" in w]
    assert "1 document(s) received out of stream order" in warning


def test_one_stream_holds_every_run_in_record_order_and_routes_by_run(
    built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with CampaignRecord(built.path, read_only=True) as record:
        summary = export_documents(record, CID, out, one_stream=True)
        total = record.document_count(CID)
    (file,) = summary.files
    assert file.path == out / f"{CID}.jsonl" and [p.name for p in out.iterdir()] == [file.path.name]
    pairs = read_jsonl(file.path)
    assert_valid(pairs)
    assert file.count == len(pairs) == total
    assert file.trial_ids == ("t0001", "t0002", "t0003")
    starts = [i for i, (name, _) in enumerate(pairs) if name == "start"]
    assert [pairs[i][1]["trial_id"] for i in starts] == ["t0001", "t0002", "t0003"]
    assert starts == [0, 5, 10]  # each run whole, one after the other
    # event-model's RunRouter takes the stream apart into its runs again
    routed: dict[str, list[str]] = {}

    def factory(name: str, start: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        names = routed.setdefault(start["trial_id"], [])
        return [lambda name, doc: names.append(name)], []

    router = RunRouter([factory])
    for name, doc in pairs:
        router(name, doc)
    paged = {"event": "event_page"}  # the router hands events on as pages
    assert routed == {
        "t0001": [paged.get(n, n) for n, _ in built.runs["t0001"]],
        "t0002": [paged.get(n, n) for n, _ in built.runs["t0002"]],
        "t0003": ["start", "descriptor", "event_page"],
    }


def test_an_invalid_document_is_reported_not_written_and_the_rest_is(
    built: Built, tmp_path: Path
) -> None:
    descriptor = built.runs["t0001"][1][1]
    bad_event = {"uid": "bad-event-1", "descriptor": descriptor["uid"], "time": 1.0}  # no data
    with CampaignRecord(built.path) as record:
        record.add_document(CID, "t0001", "event", bad_event)
        record.add_document(CID, "t0002", "gossip", {"uid": "gossip-1"})
    with CampaignRecord(built.path, read_only=True) as record:
        summary = export_documents(record, CID, tmp_path / "out")
        one = export_documents(record, CID, tmp_path / "one", one_stream=True)
    for result in (summary, one):
        assert not result.ok
        found = {(i.trial_id, i.name, i.uid) for i in result.invalid}
        assert found == {("t0001", "event", "bad-event-1"), ("t0002", "gossip", "gossip-1")}
        problems = {i.uid: i.problem for i in result.invalid}
        assert "'data' is a required property" in problems["bad-event-1"]
        assert "unknown document type 'gossip'" in problems["gossip-1"]
        assert "trial t0001: event document bad-event-1:" in str(result.invalid[0])
        assert result.documents == 13  # every valid document
    written = [d["uid"] for f in summary.files for _, d in read_jsonl(f.path)]
    assert len(written) == 13 and not {"bad-event-1", "gossip-1"} & set(written)


def test_an_export_again_replaces_its_files_and_leaves_no_temporary_file(
    built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with CampaignRecord(built.path, read_only=True) as record:
        first = export_documents(record, CID, out)
        texts = {f.path: f.path.read_text() for f in first.files}
        export_documents(record, CID, out)
        export_trials_csv(record, CID, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(p.name for p in texts), f"{CID}-trials.csv"]
    )
    assert all(path.read_text() == text for path, text in texts.items())


def test_a_run_without_its_start_is_named_by_campaign_and_trial(
    tmp_path: Path, run_engine: RunEngine
) -> None:
    built = build_record(tmp_path / "record.sqlite", run_engine)
    extra = make_run(run_engine, "t0004", {"spectro_colour_error": 1.0})
    with CampaignRecord(built.path) as record:
        for name, doc in extra[1:]:  # the start was lost
            record.add_document(CID, "t0004", name, doc)
    with CampaignRecord(built.path, read_only=True) as record:
        summary = export_documents(record, CID, tmp_path / "out")
    (file,) = [f for f in summary.files if f.trial_ids == ("t0004",)]
    assert file.path.name == f"{CID}-t0004.jsonl" and file.run_uids == ()
    assert [n for n, _ in read_jsonl(file.path)] == [n for n, _ in extra[1:]]
    assert any("t0004" in w and "no valid start document" in w for w in summary.warnings)


def test_a_missing_campaign_or_an_unusable_directory_is_an_error(
    built: Built, tmp_path: Path
) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("")
    with CampaignRecord(built.path, read_only=True) as record:
        with pytest.raises(RecordError, match="no campaign 'nope'.*it holds: " + CID):
            export_documents(record, "nope", tmp_path / "out")
        with pytest.raises(RecordError, match="no campaign 'nope'"):
            export_trials_csv(record, "nope", tmp_path / "out")
        with pytest.raises(NotADirectoryError):
            export_documents(record, CID, occupied)
        with pytest.raises(NotADirectoryError):
            export_trials_csv(record, CID, occupied / "below")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------- CSV
def test_the_trial_table_reads_back_to_the_record_exactly(built: Built, tmp_path: Path) -> None:
    with CampaignRecord(built.path, read_only=True) as record:
        summary = export_trials_csv(record, None, tmp_path / "out")
        trials = record.trials(CID)
    (file,) = summary.files
    assert file.path == tmp_path / "out" / f"{CID}-trials.csv" and file.count == 5
    with file.path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        rows = list(reader)
    assert reader.fieldnames == [
        "trial_id",
        "state",
        "origin",
        "cyan (mL)",
        "magenta (mL)",
        "yellow (mL)",
        "colour_error (ΔA×100)",
        "dye_cost (EUR)",
        "transmittance (%)",
        "reason",
        "run_uid",
        "station_id",
        "worker",
        "proposed_at",
        "updated_at",
    ]
    assert [row["trial_id"] for row in rows] == [t.trial_id for t in trials]
    for row, trial in zip(rows, trials, strict=True):
        assert row["state"] == trial.state.value and row["origin"] == trial.origin
        for name in ("cyan", "magenta", "yellow"):
            assert float(row[f"{name} (mL)"]) == built.parameters[trial.trial_id][name]
        for column, name in [
            ("colour_error (ΔA×100)", "colour_error"),
            ("dye_cost (EUR)", "dye_cost"),
            ("transmittance (%)", "transmittance"),
        ]:
            expected = built.outcomes.get(trial.trial_id, {}).get(name)
            assert (float(row[column]) if row[column] else None) == expected
        assert row["reason"] == trial.reason
        assert row["run_uid"] == (trial.run_uid or "")
        assert (row["station_id"], row["worker"]) == (trial.station_id, trial.worker)
        for column, value in [("proposed_at", trial.proposed_at), ("updated_at", trial.updated_at)]:
            when = datetime.fromisoformat(row[column])
            assert when.tzinfo == UTC and abs(when.timestamp() - value) < 1e-6
    by_id = {row["trial_id"]: row for row in rows}
    assert by_id["t0003"]["reason"] == AWKWARD  # commas, quotes, \n and \r\n survive
    assert by_id["t0005"]["origin"] == "prior" and by_id["t0005"]["reason"].startswith(
        "imported from earlier.csv"
    )
    assert by_id["t0001"]["run_uid"] == built.runs["t0001"][0][1]["uid"]


def test_awkward_strings_are_quoted_by_the_rules_of_csv(built: Built, tmp_path: Path) -> None:
    with CampaignRecord(built.path, read_only=True) as record:
        (file,) = export_trials_csv(record, CID, tmp_path).files
    raw = file.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbftrial_id,state,origin,")  # a BOM: Excel reads UTF-8
    text = raw.decode("utf-8-sig")
    assert '"pump ""cyan"" jammed, at 3,2 mL; operator said:\n""leave it"", then\r\n' in text
    assert 'REJECTED,sobol,10.0,10.0,10.0,,,,"outside the envelope: ""cyan"", ""magenta""",' in (
        text
    )
    assert text.count("\r\n") == 6 + 1  # five rows and the header end in CRLF, one in a reason
