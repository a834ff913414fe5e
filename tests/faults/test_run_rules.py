"""The run's rules hold for ended trials on the wire too (issue 15, item 5): once a trial
has completed, a second start, a second stop and an event after its stop, published into
the running campaign of real processes, are refused and never stored; they used to be
stored as 'late documents', and export wrote a run with two stops and a phantom run."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from genesis_lab.messages import DocumentMessage, campaign_results_topic, encode_message
from genesis_lab.messaging import MqttClient
from genesis_lab.store import CampaignRecord, TrialState

from .conftest import CLI, Cli, check_record, start_worker, trial_states, wait_for, write_campaign

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]


def test_documents_after_a_trials_end_are_refused_on_the_wire(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    campaign = write_campaign(tmp_path, private_mosquitto.url, budget=4, latency_s=0.5)
    station = yaml.safe_load(campaign.read_text())["station"]["id"]
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker = start_worker(processes, campaign, private_mosquitto.url, outbox, tmp_path / "w.log")
    run_args = ["run", str(campaign), "--no-local-worker", "--record", str(record_path)]
    orchestrator = Cli(run_args, tmp_path / "run.log")
    processes.append(orchestrator)
    wait_for(lambda: trial_states(record_path)[TrialState.COMPLETED] >= 1, 90, "a completed trial")
    with CampaignRecord(record_path, read_only=True) as record:
        campaign_id = record.campaigns()[-1].campaign_id
        docs = {d.name: d.doc for d in record.documents(campaign_id, "t0001")}
    late = [
        ("start", {**docs["start"], "uid": uuid.uuid4().hex}),
        ("stop", {**docs["stop"], "uid": uuid.uuid4().hex, "exit_status": "abort"}),
        ("event", {**docs["event"], "uid": uuid.uuid4().hex, "seq_num": 2}),
    ]
    with MqttClient(private_mosquitto.url, client_id=f"late-{uuid.uuid4().hex[:8]}") as sender:
        for name, doc in late:
            message = DocumentMessage(
                campaign_id=campaign_id,
                trial_id="t0001",
                station_id=station,
                name=name,  # type: ignore[arg-type]
                doc=doc,
            )
            sender.publish_and_wait(campaign_results_topic(campaign_id), encode_message(message))
    assert orchestrator.wait(timeout=180) == 0, orchestrator.output()
    worker.stop()
    said = orchestrator.output()
    assert said.count("rejected (outside-run)") == 3, said
    check_record(record_path)
    with CampaignRecord(record_path, read_only=True) as record:
        stored = [d.name for d in record.documents(campaign_id, "t0001")]
    assert sorted(stored) == sorted(["start", "descriptor", "event", "stop"]), stored
    exported = tmp_path / "export"
    done = subprocess.run(
        [*CLI, "export", str(record_path), "--out", str(exported)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    runs = [
        [json.loads(line)[0] for line in path.read_text().splitlines()]
        for path in sorted(exported.glob("*.jsonl"))
    ]
    assert len(runs) == 4, runs  # one run per trial, no phantom run
    for names in runs:
        assert names.count("start") == names.count("stop") == 1, names
        assert names[0] == "start" and names[-1] == "stop", names
