"""Trial numbering across a resume (issue 21, item 4).

A manual trial or a retry takes its trial number from the planner when the orchestrator
queues it, which may be long before it is dispatched: behind the trials in flight, or
while the station is paused. The orchestrator is SIGKILLed at that moment (it waited for
a worker that was stopped, or for a paused station, so nothing can be dispatched in
between) and 'genesis-lab resume' must carry on: the queued trial runs under the number
it was given, no number names two experiments, the campaign spends exactly its budget,
and the record verifies and replays.

Before the fix the trial was written to the record only when dispatched: the resume lost
it and gave its number to the next proposal (the record's 'trial-added' event and the
planner's 'suggest' call named a trial that was another experiment).
"""

from __future__ import annotations

import queue
import signal
import subprocess
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from genesis_lab.messages import (
    ExperimentRequest,
    TrialStatusMessage,
    campaign_results_topic,
    decode_message,
    decode_worker_message,
    station_requests_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.orchestration._trials import UNREACHED
from genesis_lab.store import CampaignRecord, TrialState

from .conftest import (
    CLI,
    Cli,
    check_record,
    start_worker,
    wait_for,
    wait_outbox_empty,
    write_campaign,
)
from .test_presence import retained_status

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

BUDGET = 4
#: The operator's own experiment (the colour bench's known optimum).
CHOSEN = {"cyan": 3.2, "magenta": 6.1, "yellow": 1.5}


def genesis_lab(*args: str) -> str:
    """Run a ``genesis-lab`` command to its end; it must succeed."""
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"genesis-lab {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def pause(station: str, url: str, *release: str) -> None:
    """Pause the station (or release it) and wait for its worker to confirm."""
    said = genesis_lab("pause", *release, "--station", station, "--broker", url, "--wait", "30")
    assert f"{station}: {'serving' if release else 'paused'} (ok)" in said, said


def last_campaign(record_path: Path) -> dict[str, Any]:
    """What the record holds of its (last) campaign, read while it runs ({} if nothing)."""
    if not record_path.exists():
        return {}
    try:
        with CampaignRecord(record_path, read_only=True) as record:
            campaigns = record.campaigns()
            if not campaigns:
                return {}
            cid = campaigns[-1].campaign_id
            return {
                "id": cid,
                "events": [(e.event, e.detail) for e in record.campaign_events(cid)],
                "calls": record.planner_calls(cid),
                "trials": {t.trial_id: t for t in record.trials(cid)},
                "dispatched": {
                    t for t, _old, new, _r, _at in record.transitions(cid) if new == "DISPATCHED"
                },
            }
    except Exception:  # the file is being created; try again
        return {}


def suggested(record_path: Path, origin: str) -> list[dict[str, Any]]:
    """The planner's ``suggest`` calls of ``origin`` recorded so far."""
    calls = last_campaign(record_path).get("calls", [])
    return [c for c in calls if c["op"] == "suggest" and c["origin"] == origin]


def check_numbering(record_path: Path) -> dict[str, Any]:
    """Each trial number names one experiment, every number given out names a trial of the
    record, the budget is spent exactly, and the record verifies and replays exactly."""
    held = last_campaign(record_path)
    trials, calls = held["trials"], held["calls"]
    given: Counter[str] = Counter()
    for call in calls:
        if call["op"] == "ask":
            given.update(p["trial_id"] for p in call["proposals"])
        elif call["op"] in ("suggest", "observe"):
            given[call["trial_id"]] += 1
    twice = sorted(t for t, n in given.items() if n > 1)
    assert not twice, f"trial number(s) {twice} given to two experiments: {calls}"
    assert set(given) <= set(trials), f"numbers given but in no trial: {set(given) - set(trials)}"
    spent = [
        t
        for t in trials.values()
        if t.trial_id in held["dispatched"] and not t.reason.endswith(UNREACHED)
    ]
    assert len(spent) == BUDGET, [(t.trial_id, t.state, t.reason) for t in trials.values()]
    genesis_lab("verify", str(record_path))
    genesis_lab("replay", str(record_path))
    return held


def first_request_to_a_stopped_worker(
    processes: list[Cli], worker_campaign: Path, campaign: Path, record_path: Path, url: str
) -> tuple[Cli, Cli, ExperimentRequest]:
    """Start a worker for the station (of ``worker_campaign``), SIGSTOP it once it is
    online, and run ``campaign``; return the worker, the orchestrator and the campaign's
    first request once it is on the broker. The worker takes nothing in until SIGCONT:
    that trial stays in flight, whatever the orchestrator does meanwhile."""
    station = yaml.safe_load(campaign.read_text())["station"]["id"]
    requests: queue.Queue[ExperimentRequest] = queue.Queue()
    work = record_path.parent
    with MqttClient(url, client_id=f"watch-{uuid.uuid4().hex[:8]}") as watch:
        watch.subscribe(
            station_requests_topic(station),
            lambda _t, p: requests.put(decode_message(p, ExperimentRequest)),
        )
        outbox = work / "outbox.sqlite"
        worker = start_worker(processes, worker_campaign, url, outbox, work / "worker-1.log")
        wait_for(lambda: retained_status(url, station).state == "online", 60, "the worker")
        worker.proc.send_signal(signal.SIGSTOP)
        run_args = ["run", str(campaign), "--no-local-worker", "--record", str(record_path)]
        orchestrator = Cli(run_args, work / "run.log")
        processes.append(orchestrator)
        return worker, orchestrator, requests.get(timeout=120)


def test_a_manual_trial_queued_when_the_orchestrator_dies_runs_after_the_resume(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """An operator's trial arrives while the one trial the campaign may have in flight
    runs: the orchestrator numbers it and queues it behind that trial ('trial-added'),
    and is SIGKILLed before it could dispatch it. The resume runs it, under the number
    the record gave it, with the operator's values."""
    url = private_mosquitto.url
    campaign = write_campaign(tmp_path, url, budget=BUDGET, accept_s=60)
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker, orchestrator, request = first_request_to_a_stopped_worker(
        processes, campaign, campaign, record_path, url
    )
    values = [f"{name}={value}" for name, value in CHOSEN.items()]
    genesis_lab("suggest", request.campaign_id, *values, "--broker", url, "--by", "ada")
    wait_for(
        lambda: any(e == "trial-added" for e, _ in last_campaign(record_path).get("events", [])),
        60,
        "the orchestrator to queue the operator's trial",
    )
    orchestrator.kill()  # the trial's number is taken; it waits behind the first: not sent
    held = last_campaign(record_path)
    [manual_id] = [d.split(":")[0] for e, d in held["events"] if e == "trial-added"]
    assert held["dispatched"] == {request.trial_id}, held["trials"]

    worker.proc.send_signal(signal.SIGCONT)  # the first trial runs, its results kept
    resumed = Cli(["resume", str(record_path), "--no-local-worker"], tmp_path / "resume.log")
    processes.append(resumed)
    assert resumed.wait(timeout=240) == 0, resumed.output()
    wait_outbox_empty(outbox)
    worker.stop()

    check_record(record_path)
    trials = check_numbering(record_path)["trials"]
    manual = trials[manual_id]
    assert (manual.origin, manual.parameters, manual.state) == (
        "manual",
        CHOSEN,
        TrialState.COMPLETED,
    ), manual
    assert manual.explanation == {"requested_by": "ada"}


def test_a_retry_queued_when_the_orchestrator_dies_runs_after_the_resume(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """A trial's failure reaches a resumed orchestrator while the station is paused: it
    numbers the retry and queues it, and is SIGKILLed before it could dispatch it. The
    next resume runs the retry, under that number, with the failed trial's values.

    Every step waits for an event: the first request reaches the (stopped) worker only
    after the orchestrator that sent it is killed; that worker fails every measurement;
    its failure waits for the next orchestrator, which starts with the station paused."""
    url = private_mosquitto.url
    campaign = write_campaign(tmp_path, url, budget=BUDGET, accept_s=60)
    spec = yaml.safe_load(campaign.read_text())
    spec["retry"] = {"max_retries": 1}
    campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
    spec["station"]["options"]["fault_rate"] = 1.0  # every measurement fails
    faulty = tmp_path / "faulty.yaml"
    faulty.write_text(yaml.safe_dump(spec, sort_keys=False))
    station = spec["station"]["id"]
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    worker, first, request = first_request_to_a_stopped_worker(
        processes, faulty, campaign, record_path, url
    )
    first.kill()
    results: queue.Queue[TrialStatusMessage] = queue.Queue()

    def on_result(_topic: str, payload: bytes) -> None:
        message = decode_worker_message(payload)
        if isinstance(message, TrialStatusMessage):
            results.put(message)

    with MqttClient(url, client_id=f"watch-{uuid.uuid4().hex[:8]}") as watch:
        watch.subscribe(campaign_results_topic(request.campaign_id), on_result)
        worker.proc.send_signal(signal.SIGCONT)
        while (status := results.get(timeout=120)).state != "failed":
            assert status.trial_id == request.trial_id and status.state in ("accepted", "running")
        assert status.trial_id == request.trial_id

    pause(station, url)
    second = Cli(["resume", str(record_path), "--no-local-worker"], tmp_path / "resume-1.log")
    processes.append(second)
    wait_for(lambda: bool(suggested(record_path, "retry")), 120, "the retry to be queued")
    second.kill()  # the retry's number is taken; the station is paused: not dispatched
    [retry_call] = suggested(record_path, "retry")
    retry_id = retry_call["trial_id"]
    held = last_campaign(record_path)
    assert held["trials"][request.trial_id].state is TrialState.FAILED
    assert held["dispatched"] == {request.trial_id}, held["trials"]

    worker.stop()  # the faulty worker goes; one that measures takes the station over
    worker = start_worker(processes, campaign, url, outbox, tmp_path / "worker-2.log")
    third = Cli(["resume", str(record_path), "--no-local-worker"], tmp_path / "resume-2.log")
    processes.append(third)
    assert third.wait(timeout=240) == 0, third.output()
    wait_outbox_empty(outbox)
    worker.stop()

    check_record(record_path)
    trials = check_numbering(record_path)["trials"]
    retry = trials.get(retry_id)
    assert retry is not None, f"no trial {retry_id} (the queued retry) in the record"
    assert (retry.origin, retry.state) == ("retry", TrialState.COMPLETED), retry
    assert retry.parameters == trials[request.trial_id].parameters
    assert retry.explanation == {"retry_of": request.trial_id, "attempt": 2}
