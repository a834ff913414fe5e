"""The record's hash chain: verify names what was altered, removed or inserted afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesis_lab.errors import RecordError
from genesis_lab.store import CampaignRecord, TrialState, verify_record


def _fill(path: Path) -> None:
    """A small campaign: two trials (one completed with documents, one failed), a prior
    result, an event with its actor, planner calls, and the campaign's end."""
    with CampaignRecord(path) as record:
        record.create_campaign(
            "c1", name="demo", spec={"seed": 3}, spec_text="seed: 3\n", versions={}, actor="ann@lab"
        )
        record.add_prior_trial("c1", "t0001", parameters={"x": 0.5}, outcome=1.0, source="f.csv")
        record.add_planner_call("c1", {"op": "ask", "n": 2, "trial_ids": ["t0002", "t0003"]})
        for trial_id in ("t0002", "t0003"):
            record.add_trial("c1", trial_id, parameters={"x": 0.25}, origin="sobol")
            record.transition("c1", trial_id, TrialState.DISPATCHED)
        record.transition("c1", "t0002", TrialState.RUNNING, run_uid="run-1")
        for name, uid in (("start", "doc-start"), ("event", "doc-event"), ("stop", "doc-stop")):
            record.add_document("c1", "t0002", name, {"uid": uid, "time": 1.5, "data": {"y": 2.0}})
        record.transition(
            "c1", "t0002", TrialState.COMPLETED, outcome=2.0, outcomes={"y": 2.0}, run_uid="run-1"
        )
        record.transition("c1", "t0003", TrialState.FAILED, reason="motor fault")
        record.add_event("c1", "paused", detail="coffee", actor="bob@lab")
        record.finish_campaign("c1", status="completed", reason="budget spent", actor="ann@lab")


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    _fill(tmp_path / "r.sqlite")
    yield tmp_path / "r.sqlite"


def _sql(path: Path, statement: str, *args: object) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute(statement, args).rowcount >= 1, statement
    db.close()


def _problems(path: Path) -> list[str]:
    with CampaignRecord(path, read_only=True) as record:
        return [str(p) for p in verify_record(record).problems]


def test_an_untouched_record_verifies(path: Path) -> None:
    with CampaignRecord(path, read_only=True) as record:
        result = verify_record(record)
        assert result.ok, result.problems
        assert (result.entries, result.head) == record.chain_head()
        assert result.entries > 15
        events = record.campaign_events("c1")
    assert [(e.event, e.actor) for e in events] == [
        ("started", "ann@lab"),
        ("paused", "bob@lab"),
        ("completed", "ann@lab"),
    ]


def test_one_byte_edited_in_a_stored_document_is_named(path: Path) -> None:
    _sql(
        path,
        "UPDATE documents SET doc_json = replace(doc_json, '2.0', '2.1') WHERE uid = ?",
        "doc-event",
    )
    assert _problems(path) == [
        "document doc-event (event of trial t0002): altered: its JSON does not match the "
        "SHA-256 recorded"
    ]


def test_an_edited_outcome_is_named_with_its_trial_and_field(path: Path) -> None:
    _sql(path, "UPDATE trials SET outcome = 9.0 WHERE trial_id = 't0002'")
    assert _problems(path) == ["trial t0002: outcome is 9.0; the ledger recorded 2.0"]


def test_an_altered_ledger_entry_is_the_first_problem(path: Path) -> None:
    _sql(path, "UPDATE ledger SET body = replace(body, 'motor fault', 'fine') WHERE seq = 14")
    problems = _problems(path)
    assert (
        problems[0] == "ledger entry 14 (transition): altered: its content does not match its hash"
    )


def test_a_removed_entry_and_a_removed_row_are_named(path: Path) -> None:
    _sql(path, "DELETE FROM ledger WHERE seq = 5")
    assert _problems(path)[0] == "ledger entry 5: removed (a gap in the chain)"


def test_a_removed_document_and_an_inserted_trial_are_named(path: Path) -> None:
    _sql(path, "DELETE FROM documents WHERE uid = 'doc-stop'")
    _sql(
        path,
        "INSERT INTO trials SELECT campaign_id, 't0009', state, parameters_json, origin,"
        " explanation_json, outcome, outcomes_json, reason, run_uid, proposed_at, updated_at,"
        " station_id, worker FROM trials WHERE trial_id = 't0002'",
    )
    problems = _problems(path)
    assert "trial t0009: not in the ledger: inserted afterwards" in problems
    assert (
        "document doc-stop (stop of trial t0002): in the ledger but removed from the record"
        in problems
    )


def test_a_rehashed_entry_breaks_the_link_to_the_next(path: Path) -> None:
    """Editing an entry and fixing its own hash still breaks the chain at the next entry."""
    from genesis_lab.store._ledger import entry_hash

    with sqlite3.connect(path) as db:
        seq, prev, kind, body = db.execute(
            "SELECT seq, prev_hash, kind, body FROM ledger WHERE kind = 'planner'"
        ).fetchone()
        edited = body.replace('"n":2', '"n":3')
        assert edited != body
        db.execute(
            "UPDATE ledger SET body = ?, hash = ? WHERE seq = ?",
            (edited, entry_hash(prev, kind, edited), seq),
        )
    db.close()
    problems = _problems(path)
    assert problems[0].startswith(f"ledger entry {seq + 1} (")
    assert "does not follow the entry before it" in problems[0]


def test_an_older_record_without_a_chain_is_readable_not_writable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _fill(path)
    _sql(path, "UPDATE meta SET value = '1' WHERE key = 'record_format'")
    with pytest.raises(RecordError, match="format 1, written by an older genesis-lab"):
        CampaignRecord(path)
    assert _problems(path) == [
        "record: format 1 has no hash chain (format 2 does); it cannot be verified"
    ]
