"""No message of any shape stops a running campaign's processes (issue 15, item 7).

Hypothesis generates documents, trial statuses, manual-trial controls and raw bytes that
name the running campaign, its station and its trials (some well formed, some broken, some
with NaN, some claiming to be the run itself) and publishes them into a campaign run by a
real orchestrator and a real worker process on a private Mosquitto. However the campaign
ends (an unsigned lab can be disrupted: a forged 'failed' fails a trial, a forged start
can take a run's place), both processes survive to a clean end, and the record holds every
invariant: every trial terminal, each completed run whole (one start, one stop, exactly
its events, seq_num 1..n), no uid twice, and ``verify`` passes."""

from __future__ import annotations

import json
import math
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis_lab.messages import campaign_control_topic, campaign_results_topic
from genesis_lab.messaging import MqttClient
from genesis_lab.store import TERMINAL_STATES, CampaignRecord

from .conftest import CLI, Cli, start_worker, wait_for, write_campaign

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

TRIALS = [f"t{n:04d}" for n in range(1, 8)]
CAMPAIGN = "placeholder-campaign"  # replaced by the running campaign's id
STATION = "live"
NAMES = ["start", "descriptor", "event", "stop", "resource", "datum", "bulk_events", "x"]
STATES = ["accepted", "running", "completed", "failed", "rejected", "abandoned"]
STATES += ["interrupted", "refused", "exploded"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
uids = st.sampled_from(["u1", "u2", "u3"]) | st.uuids().map(str)


@st.composite
def documents(draw: st.DrawFn, campaign_id: str, station_id: str) -> dict[str, Any]:
    trial = draw(st.sampled_from(TRIALS))
    doc: dict[str, Any] = {
        "uid": draw(uids),
        "time": draw(st.floats(0, 2e9) | st.just(math.nan)),
        "run_start": draw(uids),
        "descriptor": draw(uids),
        "seq_num": draw(st.integers(-1, 5)),
        "data": draw(st.dictionaries(st.sampled_from(["colour_error", "x"]), values, max_size=2)),
        "timestamps": {},
        "num_events": draw(st.dictionaries(st.just("primary"), st.integers(-1, 5), max_size=1)),
        "exit_status": "success",
        "campaign_id": campaign_id,
        "trial_id": trial,
        "station_id": station_id,
        "data_keys": {},
        "name": "primary",
    }
    for key in draw(st.lists(st.sampled_from(sorted(doc)), max_size=6)):
        doc.pop(key, None)
    return {
        "schema_version": 1,
        "kind": "document",
        "message_id": draw(uids),
        "campaign_id": campaign_id,
        "trial_id": trial,
        "station_id": station_id,
        "name": draw(st.sampled_from(NAMES)),
        "doc": doc,
    }


@st.composite
def statuses(draw: st.DrawFn, campaign_id: str, station_id: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": "trial_status",
        "message_id": draw(uids),
        "campaign_id": campaign_id,
        "trial_id": draw(st.sampled_from(TRIALS)),
        "station_id": station_id,
        "state": draw(st.sampled_from(STATES)),
        "reason": draw(st.text(max_size=20)),
        "documents": draw(st.integers(-5, 10**9)),
    }


@st.composite
def controls(draw: st.DrawFn, campaign_id: str) -> dict[str, Any]:
    names = st.sampled_from(["cyan", "magenta", "yellow", "black"])
    return {
        "schema_version": 1,
        "kind": "manual_trial",
        "campaign_id": campaign_id,
        "parameters": draw(st.dictionaries(names, values, max_size=4)),
        "requested_by": draw(st.text(max_size=10)),
    }


def hostile(campaign_id: str, station_id: str) -> st.SearchStrategy[tuple[str, bytes]]:
    results, control = campaign_results_topic(campaign_id), campaign_control_topic(campaign_id)
    as_json = lambda m: json.dumps(m, allow_nan=True).encode()  # noqa: E731
    return st.one_of(
        documents(campaign_id, station_id).map(lambda m: (results, as_json(m))),
        statuses(campaign_id, station_id).map(lambda m: (results, as_json(m))),
        controls(campaign_id).map(lambda m: (control, as_json(m))),
        st.binary(max_size=64).map(lambda b: (results, b)),
    )


def campaign_id_of(record_path: Path) -> str | None:
    try:
        with CampaignRecord(record_path, read_only=True) as record:
            campaigns = record.campaigns()
            return campaigns[-1].campaign_id if campaigns else None
    except Exception:  # being created
        return None


def check_invariants(record_path: Path) -> None:
    """Every trial terminal; each completed run whole; no uid twice."""
    with CampaignRecord(record_path, read_only=True) as record:
        campaign = record.campaigns()[-1]
        trials = record.trials(campaign.campaign_id)
        documents = record.documents(campaign.campaign_id)
    assert campaign.status in ("completed", "stopped"), campaign
    if campaign.status == "completed":
        assert all(t.state in TERMINAL_STATES for t in trials), trials
    assert len({d.uid for d in documents}) == len(documents)
    for trial in trials:
        docs = [d for d in documents if d.trial_id == trial.trial_id]
        starts = [d for d in docs if d.name == "start"]
        stops = [d for d in docs if d.name == "stop"]
        assert len(starts) <= 1 and len(stops) <= 1, (trial.trial_id, docs)
        if trial.state.value != "COMPLETED":
            continue
        assert len(starts) == len(stops) == 1
        streams = {d.uid: d.doc.get("name") for d in docs if d.name == "descriptor"}
        seqs: dict[str, list[int]] = {}
        for d in docs:
            if d.name == "event":
                seqs.setdefault(str(streams[d.doc["descriptor"]]), []).append(d.doc["seq_num"])
        assert stops[0].doc["num_events"] == {k: len(v) for k, v in seqs.items()}
        for numbers in seqs.values():
            assert sorted(numbers) == list(range(1, len(numbers) + 1))


@pytest.mark.timeout(900)
@settings(
    max_examples=2,
    derandomize=True,
    deadline=None,
    # Each example is a whole campaign flooded with 150-300 messages: large on purpose.
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_generated_messages_never_stop_a_running_campaign(
    private_mosquitto, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    # Drawn before anything starts (an example hypothesis discards costs no campaign), for
    # a campaign id known only once it runs: a placeholder, replaced then.
    drawn = data.draw(st.lists(hostile(CAMPAIGN, STATION), min_size=100, max_size=200))
    tmp_path = tmp_path_factory.mktemp("live")
    campaign = write_campaign(
        tmp_path, private_mosquitto.url, budget=5, latency_s=0.3, trial_timeout_s=15
    )
    spec = yaml.safe_load(campaign.read_text())
    spec["station"]["id"] = station_id = f"{STATION}-{uuid.uuid4().hex[:8]}"
    campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
    drawn = [
        (t, p.replace(b'"' + STATION.encode() + b'"', b'"' + station_id.encode() + b'"'))
        for t, p in drawn
    ]
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    processes: list[Cli] = []
    try:
        worker = start_worker(
            processes, campaign, private_mosquitto.url, outbox, tmp_path / "w.log"
        )
        run_args = ["run", str(campaign), "--no-local-worker", "--record", str(record_path)]
        orchestrator = Cli(run_args, tmp_path / "run.log")
        processes.append(orchestrator)
        wait_for(lambda: campaign_id_of(record_path) is not None, 90, "the campaign to start")
        campaign_id = campaign_id_of(record_path)
        assert campaign_id is not None
        messages = [
            (t.replace(CAMPAIGN, campaign_id), p.replace(CAMPAIGN.encode(), campaign_id.encode()))
            for t, p in drawn
        ]
        stop = threading.Event()

        def flood() -> None:
            with MqttClient(private_mosquitto.url, client_id=f"h-{uuid.uuid4().hex[:8]}") as c:
                for topic, payload in messages:
                    if stop.wait(0.02):
                        return
                    c.publish(topic, payload)

        thread = threading.Thread(target=flood, name="hostile-publisher")
        thread.start()
        code = orchestrator.wait(timeout=400)
        stop.set()
        thread.join(timeout=30)
        said = orchestrator.output()
        assert code in (0, 1), said  # completed, or stopped with a reason: never a crash
        assert "Traceback" not in said, said
        assert "rejected (" in said, said  # the flood reached it, and was refused
        assert worker.proc.poll() is None, worker.output()  # the worker still serves
        check_invariants(record_path)
        verify = subprocess.run(
            [*CLI, "verify", str(record_path)], capture_output=True, text=True, timeout=120
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        worker.stop()
        assert "Traceback" not in worker.output(), worker.output()
    finally:
        for proc in processes:
            proc.kill()
