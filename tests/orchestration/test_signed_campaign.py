"""Signed requests and signed results, end to end, on a real Mosquitto with access wide open.

The orchestrator signs every request, the worker requires that signature and signs every
document and status, the orchestrator requires the station's signature and keeps each
document's in the record with the station's public key: the record then proves which
station measured what, even against someone who edits a measurement and rewrites the
whole hash chain after it.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from record_forgery import rewrite_record

from genesis_lab.errors import StationError
from genesis_lab.messages import (
    DocumentMessage,
    TrialStatusMessage,
    campaign_results_topic,
    encode_message,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.orchestration import (
    CampaignRunner,
    Progress,
    check_document_signatures,
)
from genesis_lab.review import check_seals
from genesis_lab.security import MessageSigner, MessageSigning, SigningKey, generate_signing_key
from genesis_lab.spec import CampaignSpec, load_campaign
from genesis_lab.station import Station, build_station
from genesis_lab.store import CampaignRecord, TrialState, verify_record
from genesis_lab.store._ledger import digest
from genesis_lab.worker import Worker

pytestmark = pytest.mark.mosquitto

REPO = Path(__file__).resolve().parents[2]


def small_spec(budget: int, **changes: Any) -> CampaignSpec:
    """The colour-mixing campaign, Sobol trials only, on a station id of this test alone."""
    data = load_campaign(REPO / "campaigns" / "colour_mixing.yaml").spec.model_dump()
    data.update({"budget": budget, "initial_design": budget, "trial_timeout_s": 60, **changes})
    data["station"]["id"] = f"bench-{uuid.uuid4().hex[:8]}"
    return CampaignSpec.model_validate(data)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, SigningKey]:
    return {
        name: generate_signing_key(tmp_path / "keys" / f"{name}.key")
        for name in ("orchestrator", "station", "other")
    }


@contextmanager
def signing_worker(spec: CampaignSpec, url: str, signing: MessageSigning) -> Iterator[Worker]:
    station: Station = build_station(spec.station)
    worker = Worker(station, spec.station.station_id, url, plugin="colour-bench", signing=signing)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        station.close()


def rewrite_chain_with(path: Path, uid: str, reading: float) -> None:
    """Change the event ``uid``'s reading, and re-hash the whole ledger after it so the
    chain is consistent again: what a forger with write access to the file could do."""
    db = sqlite3.connect(path)
    try:
        (text,) = db.execute("SELECT doc_json FROM documents WHERE uid = ?", (uid,)).fetchone()
    finally:
        db.close()
    doc = json.loads(text)
    doc["data"]["spectro_colour_error"] = reading
    new_text = json.dumps(doc)

    def edit(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "document" and body["uid"] == uid:
            return {**body, "sha256": digest(new_text)}
        return None

    rewrite_record(
        path, [("UPDATE documents SET doc_json = ? WHERE uid = ?", (new_text, uid))], edit
    )


def test_a_signed_campaign_runs_and_its_record_proves_which_station_measured_what(
    private_mosquitto: Any, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    spec = small_spec(budget=3)
    orchestrator, station = keys["orchestrator"], keys["station"]
    record_path = tmp_path / "record.sqlite"
    worker_signing = MessageSigning(key=station, trusted=(orchestrator.public,))
    with (
        signing_worker(spec, private_mosquitto.url, worker_signing) as worker,
        CampaignRecord(record_path) as record,
    ):
        runner = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=private_mosquitto.url,
            signing=MessageSigning(
                key=orchestrator, trusted=(station.public.for_station(spec.station.station_id),)
            ),
        )
        result = runner.run()
    assert result.states == {"COMPLETED": 3}
    assert runner.rejected_messages == 0
    assert sum(worker.stats.refusals.values()) == 0 and worker.stats.completed == 3

    with CampaignRecord(record_path, read_only=True) as record:
        cid = runner.campaign_id
        signatures = record.document_signatures(cid)
        documents = record.stored_documents(cid)
        assert len(documents) == 12 and signatures.keys() == documents.keys()
        assert {s["key_id"] for s in signatures.values()} == {station.key_id}
        assert {s["signer"] for s in signatures.values()} == {f"station {spec.station.station_id}"}
        held = record.signing_keys(cid)
        assert held[station.key_id].role == "station"
        assert held[station.key_id].public_key == station.public.pem
        assert held[station.key_id].station_id == spec.station.station_id
        assert held[orchestrator.key_id].role == "orchestrator"
        assert verify_record(record).ok
        check = check_document_signatures(record)
        assert (check.documents, check.signed, check.verified) == (12, 12, 12) and check.ok
        event = next(uid for uid, row in documents.items() if row[1] == "event")

    # A measurement edited and the hash chain rewritten to match: the chain verifies, the
    # station's signature does not.
    rewrite_chain_with(record_path, event, 0.0)
    with CampaignRecord(record_path, read_only=True) as record:
        assert verify_record(record).ok
        check = check_document_signatures(record)
    assert check.verified == 11
    [problem] = check.problems
    assert problem.where.startswith(f"document {event} (event of trial")
    assert "altered after the station signed it" in problem.what


def test_results_not_signed_by_a_trusted_station_are_refused(
    private_mosquitto: Any, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    spec = small_spec(budget=1, trial_timeout_s=2.0)
    # The worker signs with a key the orchestrator was not given.
    worker_signing = MessageSigning(key=keys["other"], trusted=(keys["orchestrator"].public,))
    with (
        signing_worker(spec, private_mosquitto.url, worker_signing) as worker,
        CampaignRecord(tmp_path / "record.sqlite") as record,
    ):
        runner = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=private_mosquitto.url,
            signing=MessageSigning(
                key=keys["orchestrator"],
                trusted=(keys["station"].public.for_station(spec.station.station_id),),
            ),
        )
        result = runner.run()
        assert worker.stats.completed == 1  # the request was good: the worker ran it
        assert record.document_count(runner.campaign_id) == 0
        [trial] = record.trials(runner.campaign_id)
    assert result.states == {"ABANDONED": 1} and trial.state is TrialState.ABANDONED
    assert runner.rejection_reasons["unknown-key"] >= 6  # 4 documents and 2 statuses at least


@pytest.mark.slow
def test_a_request_the_station_refuses_is_recorded_and_changes_no_trial(
    private_mosquitto: Any, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    """The worker trusts another key than the orchestrator signs with: every request is
    refused; the orchestrator records each refusal and abandons the trial at its lease,
    at no cost to the budget (it never reached an instrument); after 3 such trials in a
    row the campaign stops, saying the station refuses its requests."""
    spec = small_spec(budget=1, lease={"accept_s": 1.0, "on_expiry": "abandon"})
    worker_signing = MessageSigning(key=keys["station"], trusted=(keys["other"].public,))
    with (
        signing_worker(spec, private_mosquitto.url, worker_signing) as worker,
        CampaignRecord(tmp_path / "record.sqlite") as record,
    ):
        pumps = {n: list(d.motion_log) for n, d in worker.station.actuators.items()}  # type: ignore[attr-defined]
        runner = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=private_mosquitto.url,
            signing=MessageSigning(
                key=keys["orchestrator"],
                trusted=(keys["station"].public.for_station(spec.station.station_id),),
            ),
        )
        with pytest.raises(StationError, match="the station refused 3 request") as stopped:
            runner.run()
        events = record.campaign_events(runner.campaign_id)
        trials = record.trials(runner.campaign_id)
        [campaign] = record.campaigns()
        assert {n: list(d.motion_log) for n, d in worker.station.actuators.items()} == pumps  # type: ignore[attr-defined]
    assert "3 trials in a row never reached an instrument" in str(stopped.value)
    assert "the last: request refused (unknown-key)" in str(stopped.value)  # says why
    assert campaign.status == "stopped"
    assert [t.state for t in trials] == [TrialState.ABANDONED] * 3
    assert all("no worker accepted it" in t.reason for t in trials)
    assert all(t.reason.endswith("not counted against the budget") for t in trials)
    refused = [e for e in events if e.event == "request-refused"]
    assert [e.actor for e in refused] == [spec.station.station_id] * 3
    assert refused[0].detail.startswith(f"{trials[0].trial_id}: request refused (unknown-key)")
    assert worker.stats.refusals["unknown-key"] == 3 and worker.stats.requests == 0


def test_a_station_key_speaks_for_its_own_station_only(
    private_mosquitto: Any, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    """Issue 14, item 1. The orchestrator trusts two stations' keys, each for its own
    station. Station B's key signs a perfect event and a 'failed' status that claim to be
    station A's, for the campaign on station A: both are refused (``wrong-station``), no
    trial takes them, and the record verifies with every document signed by A's key."""
    spec = small_spec(budget=3)
    station_a = spec.station.station_id
    key_a, key_b = keys["station"], keys["other"]
    attacker = MessageSigner(key_b, f"station {station_a}")
    forger = MqttClient(private_mosquitto.url, client_id=f"forger-{uuid.uuid4().hex[:8]}")
    forged: list[str] = []

    def forge(progress: Progress) -> None:
        """After the first trial ends: B's forgeries of a perfect result for it and of a
        failure of the next, both claiming station A."""
        if forged:
            return
        cid = runner.campaign_id
        topic = campaign_results_topic(cid)
        perfect = DocumentMessage(
            campaign_id=cid,
            trial_id=progress.trial_id,
            station_id=station_a,
            name="event",
            doc={
                "uid": uuid.uuid4().hex,
                "descriptor": "d",
                "seq_num": 2,
                "time": 1.0,
                "data": {"spectro_colour_error": 0.0},
                "timestamps": {},
            },
        )
        failed = TrialStatusMessage(
            campaign_id=cid,
            trial_id="t0002",
            station_id=station_a,
            state="failed",
            reason="forged: the instrument broke",
        )
        for message in (perfect, failed):
            forger.publish_and_wait(topic, encode_message(attacker.sign(message)))
            forged.append(message.kind)
        deadline = time.monotonic() + 30
        while runner.rejection_reasons["wrong-station"] < 2:  # the intake is another thread
            assert time.monotonic() < deadline, "the forgeries were not refused in time"
            time.sleep(0.01)

    forger.connect()
    worker_signing = MessageSigning(key=key_a, trusted=(keys["orchestrator"].public,))
    trusted = (key_a.public.for_station(station_a), key_b.public.for_station("station-b"))
    try:
        with (
            signing_worker(spec, private_mosquitto.url, worker_signing),
            CampaignRecord(tmp_path / "record.sqlite") as record,
        ):
            runner = CampaignRunner(
                spec,
                spec_text="",
                record=record,
                broker_url=private_mosquitto.url,
                progress=forge,
                signing=MessageSigning(key=keys["orchestrator"], trusted=trusted),
            )
            result = runner.run()
    finally:
        forger.close()
    assert forged == ["document", "trial_status"]
    assert result.states == {"COMPLETED": 3}
    assert runner.rejection_reasons["wrong-station"] == 2
    with CampaignRecord(tmp_path / "record.sqlite", read_only=True) as record:
        cid = runner.campaign_id
        signatures = record.document_signatures(cid)
        assert {s["key_id"] for s in signatures.values()} == {key_a.key_id}
        trials = record.trials(cid)
        outcomes = {t.trial_id: t.outcomes["colour_error"] for t in trials}
        documents = record.stored_documents(cid)
        assert len(documents) == 12
        for trial in trials:  # each result is the mean of its own run's events, nothing else
            events = [
                json.loads(text)
                for tid, name, text, _ in documents.values()
                if tid == trial.trial_id and name == "event"
            ]
            assert [e["data"]["spectro_colour_error"] for e in events] == [outcomes[trial.trial_id]]
        assert verify_record(record).ok
        check = check_document_signatures(record)
        assert (check.signed, check.verified) == (12, 12) and check.ok


def test_verify_refuses_a_document_signed_by_another_stations_key(
    private_mosquitto: Any, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    """Issue 14, item 1: the record binds each station key to its station, and the
    signature check refuses a document whose key the record binds to another station."""
    spec = small_spec(budget=1)
    station_a = spec.station.station_id
    record_path = tmp_path / "record.sqlite"
    with (
        signing_worker(
            spec,
            private_mosquitto.url,
            MessageSigning(key=keys["station"], trusted=(keys["orchestrator"].public,)),
        ),
        CampaignRecord(record_path) as record,
    ):
        runner = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=private_mosquitto.url,
            signing=MessageSigning(
                key=keys["orchestrator"],
                trusted=(keys["station"].public.for_station(station_a),),
            ),
        )
        assert runner.run().states == {"COMPLETED": 1}

    # Rebind the key to another station in the table and in its ledger entry, re-chained.
    def rebind(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "signing-key" and body.get("station_id") == station_a:
            return {**body, "station_id": "station-b"}
        return None

    rebinding = "UPDATE signing_keys SET station_id = 'station-b' WHERE role = 'station'"
    rewrite_record(record_path, [(rebinding, ())], rebind)
    with CampaignRecord(record_path, read_only=True) as record:
        assert verify_record(record).ok  # the chain is consistent again
        check = check_document_signatures(record)
    assert check.verified == 0 and len(check.problems) == 4
    assert "binds to station 'station-b'" in check.problems[0].what


class _Interrupt(Exception):
    """Stands in for Ctrl-C in the middle of a campaign."""


def test_the_orchestrator_seals_the_record_when_a_run_ends_and_when_it_resumes(
    private_mosquitto: Any, keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    """Issue 14, item 2: each seal signs the chain head as it was then, with the
    orchestrator's key: at the end of the interrupted run, at the resume (what the
    interrupted run left), and at the end; the chain ends with a seal."""
    spec = small_spec(budget=4)
    station = keys["station"]
    worker_signing = MessageSigning(key=station, trusted=(keys["orchestrator"].public,))
    signing = MessageSigning(
        key=keys["orchestrator"],
        trusted=(station.public.for_station(spec.station.station_id),),
    )

    def interrupt_after_two(progress: Progress) -> None:
        if progress.finished == 2:
            raise _Interrupt

    record_path = tmp_path / "record.sqlite"
    with (
        signing_worker(spec, private_mosquitto.url, worker_signing),
        CampaignRecord(record_path) as record,
    ):
        first = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=private_mosquitto.url,
            progress=interrupt_after_two,
            signing=signing,
        )
        with pytest.raises(_Interrupt):
            first.run()
        resumed = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=private_mosquitto.url,
            campaign_id=first.campaign_id,
            resume=True,
            signing=signing,
        )
        assert resumed.run().states == {"COMPLETED": 4}
    with CampaignRecord(record_path, read_only=True) as record:
        seals = record.seals()
        ledger = record.ledger()
        check = check_seals(record, [keys["orchestrator"].public])
    assert len(seals) == 3
    assert {s.signature["key_id"] for s in seals} == {keys["orchestrator"].key_id}
    assert ledger[-1].kind == "seal"
    assert check.verified == 3 and check.problems == [] and check.unsealed_after == 0
