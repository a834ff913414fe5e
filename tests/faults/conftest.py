"""What the fault-injection tests share: a campaign file, processes to kill, record checks.

Every fault is real: brokers and components are killed with SIGKILL, connections are
dropped or stalled by a TCP proxy, queues overflow in Mosquitto itself. Every test ends
with :func:`check_record`, the invariants issue 5 asks for.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from genesis_lab.orchestration import (
    CampaignResult,
    CampaignRunner,
)
from genesis_lab.spec import load_campaign
from genesis_lab.station import build_station
from genesis_lab.store import TERMINAL_STATES, CampaignRecord, TrialState
from genesis_lab.worker import Worker

CAMPAIGN = Path(__file__).parents[2] / "campaigns" / "colour_mixing.yaml"
CLI = [str(Path(sys.executable).parent / "genesis-lab")]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms until it holds; fail the test naming ``what``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def write_campaign(
    directory: Path,
    broker_url: str,
    *,
    budget: int = 6,
    latency_s: float = 0.0,
    replicates: int = 1,
    batch_size: int = 1,
    accept_s: float = 3.0,
    trial_timeout_s: float = 120,
    offline_limit_s: float = 900,
) -> Path:
    """The colour-mixing campaign on a fresh station id, against ``broker_url``, planned
    by random search: the faults tested here are the loop's, not the model's, and a model
    refitted at every step of a campaign of hundreds of trials took the CPU of the rest
    of the suite (the planner's own behaviour is tested in tests/planning and
    tests/simulators)."""
    spec = yaml.safe_load(CAMPAIGN.read_text())
    spec.update(
        name="fault-campaign",
        budget=budget,
        initial_design=min(3, budget),
        broker=broker_url,
        replicates=replicates,
        batch_size=batch_size,
        trial_timeout_s=trial_timeout_s,
        lease={"accept_s": accept_s, "offline_limit_s": offline_limit_s},
        planner={"kind": "random"},
    )
    spec["station"]["id"] = f"fault-{uuid.uuid4().hex[:8]}"
    spec["station"]["options"]["latency_s"] = latency_s
    path = directory / "campaign.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


# ------------------------------------------------------------------ processes
class Cli:
    """A ``genesis-lab`` command in a subprocess of its own, its output in a log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*CLI, *args], stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ)
            )

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye to the broker."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (a worker stops cleanly on it), SIGKILL after 20 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{' '.join(self.args)} did not end in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture
def processes() -> Iterator[list[Cli]]:
    """Subprocesses a test starts; every one still alive is killed at teardown."""
    started: list[Cli] = []
    yield started
    for proc in started:
        proc.kill()
        # pytest shows this only when the test failed: every process's own account of it
        print(f"---- genesis-lab {' '.join(proc.args)} (exit {proc.proc.returncode}):")
        print(proc.output())


def start_worker(
    processes: list[Cli], campaign: Path, broker_url: str, outbox: Path, log: Path
) -> Cli:
    """``genesis-lab worker`` for the campaign's station, acknowledgements due within 1 s."""
    proc = Cli(
        [
            "worker",
            "--campaign",
            str(campaign),
            "--broker",
            broker_url,
            "--outbox",
            str(outbox),
            "--ack-timeout",
            "1",
            "-v",
        ],
        log,
    )
    processes.append(proc)
    return proc


# ------------------------------------------------- in-process worker, runner
@contextmanager
def worker_in_process(
    campaign: Path, broker_url: str, outbox: Path, ack_timeout_s: float = 1.0
) -> Iterator[Worker]:
    """A worker for the campaign's station in this process, stopped (cleanly) on exit."""
    spec = load_campaign(campaign).spec
    station = build_station(spec.station)
    worker = Worker(
        station, spec.station.station_id, broker_url, outbox=outbox, ack_timeout_s=ack_timeout_s
    )
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        station.close()


# --------------------------------------------------------- in-process runner
@dataclass
class RunnerThread:
    """A CampaignRunner on a thread of its own; ``join`` returns how it ended."""

    runner: CampaignRunner
    record: CampaignRecord
    result: CampaignResult | None = None
    error: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name="fault-test-runner")
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.runner.run()
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self, timeout: float) -> CampaignResult:
        self.thread.join(timeout)
        if self.thread.is_alive():
            pytest.fail(f"the campaign did not end within {timeout} s")
        self.record.close()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def start_runner(campaign: Path, broker_url: str, record_path: Path) -> RunnerThread:
    loaded = load_campaign(campaign)
    record = CampaignRecord(record_path)
    runner = CampaignRunner(
        loaded.spec,
        spec_text=loaded.text,
        record=record,
        broker_url=broker_url,
        presence_timeout_s=60,
        poll_s=0.05,
    )
    return RunnerThread(runner, record)


# ------------------------------------------------------------------- checks
def trial_states(record_path: Path) -> Counter[TrialState]:
    """How many trials of the record's campaign are in each state (read while it runs)."""
    if not record_path.exists():
        return Counter()
    try:
        with CampaignRecord(record_path, read_only=True) as record:
            campaigns = record.campaigns()
            if not campaigns:
                return Counter()
            return Counter(t.state for t in record.trials(campaigns[-1].campaign_id))
    except Exception:  # the file is being created; try again
        return Counter()


@dataclass(frozen=True)
class RecordFacts:
    states: Counter[TrialState]
    documents: int
    events: int


def check_record(record_path: Path) -> RecordFacts:
    """Assert issue 5's invariants on the record's (last) campaign and return its counts.

    Every trial terminal, each with exactly one terminal transition (its result told once);
    every completed run has one start and one stop, its stored events equal the stop's
    ``num_events`` per stream, and each stream's ``seq_num`` runs 1..n without a gap or a
    repeat; no document stored twice (uids are unique and no run has two starts).
    """
    with CampaignRecord(record_path, read_only=True) as record:
        campaign = record.campaigns()[-1]
        cid = campaign.campaign_id
        trials = record.trials(cid)
        transitions = record.transitions(cid)
        documents = record.documents(cid)
    assert campaign.status == "completed", campaign
    states = Counter(t.state for t in trials)
    assert all(t.state in TERMINAL_STATES for t in trials), states
    endings = Counter(
        t for t, _from, to, _r, _at in transitions if TrialState(to) in TERMINAL_STATES
    )
    assert all(endings[t.trial_id] == 1 for t in trials if t.origin != "prior"), endings
    assert len({d.uid for d in documents}) == len(documents)
    events = 0
    for trial in trials:
        docs = [d for d in documents if d.trial_id == trial.trial_id]
        starts = [d for d in docs if d.name == "start"]
        assert len(starts) <= 1, f"trial {trial.trial_id} has {len(starts)} runs"
        if trial.state is not TrialState.COMPLETED:
            continue
        stops = [d for d in docs if d.name == "stop"]
        assert len(starts) == 1 and len(stops) == 1, f"trial {trial.trial_id}: {docs}"
        descriptors = {d.uid: d.doc["name"] for d in docs if d.name == "descriptor"}
        seqs: dict[str, list[int]] = {name: [] for name in descriptors.values()}
        for doc in docs:
            if doc.name == "event":
                seqs[descriptors[doc.doc["descriptor"]]].append(doc.doc["seq_num"])
        assert stops[0].doc["num_events"] == {k: len(v) for k, v in seqs.items() if v}
        for stream, numbers in seqs.items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), (trial.trial_id, stream)
        events += sum(len(v) for v in seqs.values())
    return RecordFacts(states, len(documents), events)


def outbox_size(path: Path) -> int:
    """Messages waiting in a worker's outbox file for their acknowledgement."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def wait_outbox_empty(path: Path, timeout: float = 30.0) -> None:
    wait_for(lambda: outbox_size(path) == 0, timeout, f"the outbox {path.name} to empty")
