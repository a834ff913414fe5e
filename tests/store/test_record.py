"""The campaign record: transitions are checked and logged; documents are stored once."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesis_lab.errors import RecordError
from genesis_lab.store import CampaignRecord, TrialState, can_transition


@pytest.fixture
def record(tmp_path: Path) -> CampaignRecord:
    store = CampaignRecord(tmp_path / "r.sqlite")
    store.create_campaign(
        "c1",
        name="demo",
        spec={"objective": {"name": "y"}},
        spec_text="x",
        versions={"torch": "2.13.0"},
    )
    yield store
    store.close()


def test_life_cycle_is_recorded_in_order(record: CampaignRecord) -> None:
    record.add_trial("c1", "t0001", parameters={"a": 1.0}, origin="sobol")
    for state in (TrialState.DISPATCHED, TrialState.RUNNING):
        record.transition("c1", "t0001", state)
    record.transition("c1", "t0001", TrialState.COMPLETED, outcome=2.5, run_uid="r1")
    [trial] = record.trials("c1")
    assert (trial.state, trial.outcome, trial.run_uid) == (TrialState.COMPLETED, 2.5, "r1")
    assert [t[2] for t in record.transitions("c1")] == [
        "PROPOSED",
        "DISPATCHED",
        "RUNNING",
        "COMPLETED",
    ]


def test_illegal_transition_is_refused(record: CampaignRecord) -> None:
    record.add_trial("c1", "t0001", parameters={"a": 1.0}, origin="sobol")
    with pytest.raises(RecordError, match="PROPOSED -> COMPLETED"):
        record.transition("c1", "t0001", TrialState.COMPLETED)
    with pytest.raises(RecordError, match="no trial"):
        record.transition("c1", "t9999", TrialState.DISPATCHED)


def test_terminal_states_have_no_way_out() -> None:
    for terminal in (
        TrialState.COMPLETED,
        TrialState.FAILED,
        TrialState.ABANDONED,
        TrialState.REJECTED,
    ):
        assert not any(can_transition(terminal, s) for s in TrialState)


def test_documents_are_stored_once(record: CampaignRecord) -> None:
    doc = {"uid": "u1", "time": 1.0}
    assert record.add_document("c1", "t0001", "start", doc)
    assert not record.add_document("c1", "t0001", "start", doc)
    assert [d.uid for d in record.documents("c1")] == ["u1"]
    with pytest.raises(RecordError, match="uid"):
        record.add_document("c1", "t0001", "event", {"time": 1.0})


def test_record_survives_reopening_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with CampaignRecord(path) as store:
        store.create_campaign("c1", name="demo", spec={}, spec_text="", versions={})
        store.finish_campaign("c1", status="completed", reason="budget spent")
    with CampaignRecord(path, read_only=True) as store:
        [campaign] = store.campaigns()
        assert (campaign.status, campaign.stop_reason) == ("completed", "budget spent")


def test_read_only_missing_record_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no record"):
        CampaignRecord(tmp_path / "missing.sqlite", read_only=True)


def test_not_a_record_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RecordError, match="genesis-lab record"):
        CampaignRecord(path)


def test_a_trial_keeps_its_explanation(record: CampaignRecord) -> None:
    why = {"predicted_mean": 1.5, "predicted_std": 0.2, "length_scales": {"a": 0.3}}
    record.add_trial("c1", "t0001", parameters={"a": 1.0}, origin="model", explanation=why)
    record.add_trial("c1", "t0002", parameters={"a": 2.0}, origin="sobol")
    first, second = record.trials("c1")
    assert first.explanation == why and second.explanation is None
    assert record.document_count("c1") == 0


def _beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_a_read_only_open_of_a_closed_record_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with CampaignRecord(path) as store:
        store.create_campaign("c1", name="demo", spec={}, spec_text="", versions={})
    assert _beside(path) == ["r.sqlite"]
    written = path.read_bytes()
    with CampaignRecord(path, read_only=True) as store:
        assert [c.campaign_id for c in store.campaigns()] == ["c1"]
    assert _beside(path) == ["r.sqlite"] and path.read_bytes() == written


def test_a_read_only_open_sees_a_writer_commit_and_leaves_the_writers_files_alone(
    tmp_path: Path,
) -> None:
    """A reader opened while a campaign writes sees each committed write; closing it keeps
    the writer's -wal and -shm (and its work); the writer removes them when it closes."""
    path = tmp_path / "r.sqlite"
    with CampaignRecord(path) as writer:
        writer.create_campaign("c1", name="demo", spec={}, spec_text="", versions={})
        with CampaignRecord(path, read_only=True) as reader:
            writer.add_trial("c1", "t0001", parameters={"a": 1.0}, origin="sobol")
            assert [t.trial_id for t in reader.trials("c1")] == ["t0001"]
        assert _beside(path) == ["r.sqlite", "r.sqlite-shm", "r.sqlite-wal"]
        writer.add_trial("c1", "t0002", parameters={"a": 2.0}, origin="sobol")
        with CampaignRecord(path, read_only=True) as reader:  # opened while it writes
            assert [t.trial_id for t in reader.trials("c1")] == ["t0001", "t0002"]
    assert _beside(path) == ["r.sqlite"]
    with CampaignRecord(path, read_only=True) as reader:
        assert [t.trial_id for t in reader.trials("c1")] == ["t0001", "t0002"]
    assert _beside(path) == ["r.sqlite"]


def test_a_writer_opened_while_a_reader_reads_keeps_its_files_and_its_writes(
    tmp_path: Path,
) -> None:
    """The reader came first (no -wal then): when it closes, the writer still has the
    record open, so the files stay and what the writer wrote is in them."""
    path = tmp_path / "r.sqlite"
    with CampaignRecord(path) as store:
        store.create_campaign("c1", name="demo", spec={}, spec_text="", versions={})
    reader = CampaignRecord(path, read_only=True)
    with CampaignRecord(path) as writer:
        writer.add_trial("c1", "t0001", parameters={"a": 1.0}, origin="sobol")
        reader.close()
        assert _beside(path) == ["r.sqlite", "r.sqlite-shm", "r.sqlite-wal"]
        writer.add_trial("c1", "t0002", parameters={"a": 2.0}, origin="sobol")
    with CampaignRecord(path, read_only=True) as store:
        assert [t.trial_id for t in store.trials("c1")] == ["t0001", "t0002"]
    assert _beside(path) == ["r.sqlite"]
