"""The closed loop end to end: planner, orchestrator, broker, worker, RunEngine, simulator."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from campaign_helpers import run, small_spec, worker_for
from event_model import DocumentNames, schema_validators

from genesis_lab.errors import BrokerError, StationError
from genesis_lab.messages import (
    DocumentMessage,
    TrialStatusMessage,
    campaign_results_topic,
    decode_worker_message,
    encode_message,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.orchestration import (
    CampaignRunner,
    Progress,
)
from genesis_lab.review import summarize
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import TERMINAL_STATES, CampaignRecord, TrialState

REPO = Path(__file__).resolve().parents[2]


def assert_complete_record(record_path: Path, spec: CampaignSpec) -> None:
    """Every trial terminal; every run's four documents stored once and schema-valid."""
    with CampaignRecord(record_path, read_only=True) as record:
        [campaign] = record.campaigns()
        trials = record.trials(campaign.campaign_id)
        assert len(trials) == spec.budget
        assert all(t.state in TERMINAL_STATES for t in trials)
        for trial in trials:
            docs = record.documents(campaign.campaign_id, trial.trial_id)
            if trial.state is not TrialState.COMPLETED:
                continue
            assert [d.name for d in docs] == ["start", "descriptor", "event", "stop"]
            for doc in docs:
                schema_validators[DocumentNames[doc.name]].validate(doc.doc)
            start = docs[0].doc
            assert start["campaign_id"] == campaign.campaign_id
            assert start["trial_id"] == trial.trial_id
            assert trial.run_uid == start["uid"]
            assert trial.outcome == docs[2].doc["data"][spec.objective.reading]
            history = [
                t[2] for t in record.transitions(campaign.campaign_id) if t[0] == trial.trial_id
            ]
            assert history == ["PROPOSED", "DISPATCHED", "RUNNING", "COMPLETED"]


class Duplicator:
    """A hostile-but-honest peer: re-publishes every document of a campaign once more."""

    def __init__(self, url: str, campaign_topic_of: CampaignRunner) -> None:
        self.topic = campaign_results_topic(campaign_topic_of.campaign_id)
        self.sent: set[str] = set()
        self.client = MqttClient(url, client_id=f"dup-{uuid.uuid4().hex[:8]}")

    def _echo(self, _topic: str, payload: bytes) -> None:
        message = decode_worker_message(payload)
        if isinstance(message, DocumentMessage) and message.doc["uid"] not in self.sent:
            self.sent.add(message.doc["uid"])
            self.client.publish(self.topic, encode_message(message))

    def __enter__(self) -> Duplicator:
        self.client.connect()
        self.client.subscribe(self.topic, self._echo)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()


@pytest.mark.slow
def test_campaign_on_embedded_broker_with_duplicated_documents(
    embedded_broker: str, tmp_path: Path
) -> None:
    spec = small_spec()
    progress: list[Progress] = []
    with worker_for(spec, embedded_broker), CampaignRecord(tmp_path / "r.sqlite") as record:
        runner = CampaignRunner(
            spec, spec_text="", record=record, broker_url=embedded_broker, progress=progress.append
        )
        with Duplicator(embedded_broker, runner) as duplicator:
            result = runner.run()
    assert result.states == {"COMPLETED": 12}
    assert duplicator.sent and runner.duplicate_documents > 0
    assert [p.finished for p in progress] == list(range(1, 13))
    assert result.best_value is not None and result.best_value == min(
        p.outcome for p in progress if p.outcome is not None
    )
    assert_complete_record(tmp_path / "r.sqlite", spec)


@pytest.mark.slow
@pytest.mark.mosquitto
def test_campaign_on_mosquitto(system_mosquitto: str, tmp_path: Path) -> None:
    spec = small_spec()
    with worker_for(spec, system_mosquitto):
        result, _ = run(spec, system_mosquitto, tmp_path / "r.sqlite")
    assert result.states == {"COMPLETED": 12}
    assert_complete_record(tmp_path / "r.sqlite", spec)


@pytest.mark.slow
def test_failing_instrument_ends_trials_failed_and_campaign_goes_on(
    embedded_broker: str, tmp_path: Path
) -> None:
    spec = small_spec(budget=8, fault_rate=0.4)
    with worker_for(spec, embedded_broker):
        result, _ = run(spec, embedded_broker, tmp_path / "r.sqlite")
    assert sum(result.states.values()) == 8
    assert result.states.get("FAILED", 0) >= 1 and result.states.get("COMPLETED", 0) >= 2
    assert_complete_record(tmp_path / "r.sqlite", spec)
    with CampaignRecord(tmp_path / "r.sqlite", read_only=True) as record:
        summary = summarize(record)
    failed = [t for t in summary.trials if t.state is TrialState.FAILED]
    assert all("lamp fault" in t.reason for t in failed)


def test_no_worker_is_a_clear_error_and_the_record_says_so(
    embedded_broker: str, tmp_path: Path
) -> None:
    spec = small_spec(budget=2)
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        runner = CampaignRunner(
            spec, spec_text="", record=record, broker_url=embedded_broker, presence_timeout_s=0.5
        )
        with pytest.raises(StationError, match="no worker is serving station"):
            runner.run()
        [campaign] = record.campaigns()
    # Stopped, not failed: nothing was dispatched, and 'resume' carries on once a worker
    # serves the station (issue 15, item 1).
    assert campaign.status == "stopped" and "no worker" in campaign.stop_reason
    assert "genesis-lab resume" in campaign.stop_reason


def hostile_payloads(campaign_id: str) -> list[bytes]:
    """Results a broken or hostile peer might send; none may be stored or crash the loop."""

    def document(trial_id: str, name: str, doc: dict[str, object]) -> bytes:
        return encode_message(
            DocumentMessage(
                campaign_id=campaign_id, trial_id=trial_id, station_id="x", name=name, doc=doc
            )
        )  # type: ignore[arg-type]

    return [
        b"garbage",
        b"[]",
        b'{"kind": "document"}',
        document("t0001", "event", {}),  # no uid: not an event document
        document("t0001", "stop", {"uid": "u", "run_start": "r"}),  # missing time, exit_status
        document("t9999", "start", {"uid": "u", "time": 1.0}),  # a trial never dispatched
        encode_message(
            TrialStatusMessage(
                campaign_id=campaign_id, trial_id="t9999", station_id="x", state="completed"
            )
        ),
    ]


def test_malformed_results_are_counted_not_fatal(embedded_broker: str, tmp_path: Path) -> None:
    spec = small_spec(budget=3)
    injected: list[int] = []

    def inject_once(_progress: Progress) -> None:
        if injected:
            return
        payloads = hostile_payloads(runner.campaign_id)
        with MqttClient(embedded_broker, client_id=f"junk-{uuid.uuid4().hex[:8]}") as client:
            for payload in payloads:
                client.publish_and_wait(campaign_results_topic(runner.campaign_id), payload)
        injected.append(len(payloads))

    with worker_for(spec, embedded_broker), CampaignRecord(tmp_path / "r.sqlite") as record:
        runner = CampaignRunner(
            spec, spec_text="", record=record, broker_url=embedded_broker, progress=inject_once
        )
        result = runner.run()
    assert result.states == {"COMPLETED": 3}
    assert result.rejected_messages == injected[0] == 7
    assert_complete_record(tmp_path / "r.sqlite", spec)


def test_unreachable_broker_is_recorded_as_a_failed_campaign(
    unused_port: int, tmp_path: Path
) -> None:
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        runner = CampaignRunner(
            small_spec(budget=2),
            spec_text="",
            record=record,
            broker_url=f"mqtt://127.0.0.1:{unused_port}",
        )
        with pytest.raises(BrokerError):
            runner.run()
        [campaign] = record.campaigns()
    assert campaign.status == "failed" and "BrokerError" in campaign.stop_reason


@pytest.mark.slow
def test_nothing_is_sent_to_a_vanished_worker_and_the_campaign_stops_after_the_limit(
    embedded_broker: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker stops after the first trial: nothing more is dispatched to the offline
    station (it used to be, each trial abandoned at its time-out, spending the budget);
    after lease.offline_limit_s the campaign stops, a trial in flight left as it is."""
    data = small_spec(budget=3).model_dump()
    data["trial_timeout_s"] = 1.0
    data["lease"] = {"offline_limit_s": 2.0}
    spec = CampaignSpec.model_validate(data)
    with worker_for(spec, embedded_broker) as worker, CampaignRecord(tmp_path / "r") as record:

        def stop_worker_after_first(progress: Progress) -> None:
            if progress.finished == 1:
                worker.stop()

        runner = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=embedded_broker,
            progress=stop_worker_after_first,
        )
        with pytest.raises(StationError, match="offline_limit_s=2"):
            runner.run()
        trials = record.trials(runner.campaign_id)
        [campaign] = record.campaigns()
        events = [e.event for e in record.campaign_events(runner.campaign_id)]
    assert trials[0].state is TrialState.COMPLETED
    # Stopped before the next request went out, or with it not yet taken: left in flight.
    assert [t.state for t in trials[1:]] in ([], [TrialState.DISPATCHED])
    assert campaign.status == "stopped" and "offline for" in campaign.stop_reason
    assert events == ["started", "station-offline", "stopped"]
    assert any("is offline: nothing is dispatched" in r.getMessage() for r in caplog.records)
