"""Benchmark the messaging path: request-to-result latency and document throughput.

A real worker (its own RunEngine) serves an instant colour bench (latency 0, noise 0);
an orchestrator-side client publishes ``ExperimentRequest`` messages on the station's
request topic and ingests what comes back on the campaign's results topic into a real
``CampaignRecord`` (in a temporary directory), as the campaign runner does. For each
broker (the embedded one, and Mosquitto at 127.0.0.1:1883, skipped if nothing listens):

- latency: one request at a time, from the request published to the result ingested (the
  terminal trial status received and the stop document stored), p50 and p99;
- throughput: N requests back to back; documents stored against those expected (start,
  descriptor, event and stop per run), documents per second, and ``lost`` (must be 0).

Prints its figures and writes them to ``benchmarks/results/messaging.json``. Run with
``make bench`` (or ``.venv/bin/python benchmarks/messaging.py --help``).
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genesis_lab.errors import MessageError
from genesis_lab.messages import (
    DeliveryAck,
    DocumentMessage,
    ExperimentRequest,
    TrialStatusMessage,
    campaign_results_topic,
    decode_worker_message,
    encode_message,
    station_acks_topic,
    station_requests_topic,
)
from genesis_lab.messaging import EmbeddedBroker, MqttClient
from genesis_lab.orchestration import package_versions
from genesis_lab.planning import RandomPlanner
from genesis_lab.spec import CampaignSpec, load_campaign, parse_broker_url
from genesis_lab.station import build_station
from genesis_lab.store import CampaignRecord
from genesis_lab.worker import Worker

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"
MOSQUITTO_URL = "mqtt://127.0.0.1:1883"
DOCUMENTS_PER_RUN = 4  # start, descriptor, one event, stop
WARMUP_TRIALS = 3


class Orchestrator:
    """The orchestrator's side of the wire: publish requests, store what comes back.

    Incoming messages are decoded on paho's thread and queued; storing happens on the
    thread that calls :meth:`ingest`, as in the campaign runner.
    """

    def __init__(self, spec: CampaignSpec, broker_url: str, record: CampaignRecord) -> None:
        self.spec = spec
        self.record = record
        self.planner = RandomPlanner.from_spec(spec)
        self.station_id = spec.station.station_id
        self.client = MqttClient(broker_url, client_id=f"genesis-bench-{uuid.uuid4().hex[:8]}")
        self.inbox: queue.Queue[DocumentMessage | TrialStatusMessage] = queue.Queue()
        self.rejected = 0
        self.duplicates = 0
        self.ended: dict[str, str] = {}  # trial id -> terminal state
        self._stopped: set[str] = set()  # trials whose stop document is stored
        self._subscribed: set[str] = set()
        self._acks: dict[str, list[str]] = {}  # campaign id -> message ids stored
        self._acks_since = 0.0  # when the oldest of them was stored

    def _on_result(self, topic: str, payload: bytes) -> None:
        try:
            self.inbox.put(decode_worker_message(payload, topic=topic))
        except MessageError:
            self.rejected += 1

    def new_campaign(self, label: str) -> str:
        campaign_id = f"bench-{label}-{uuid.uuid4().hex[:8]}"
        self.record.create_campaign(
            campaign_id, name=label, spec={}, spec_text="", versions=package_versions()
        )
        self.client.subscribe(campaign_results_topic(campaign_id), self._on_result)
        return campaign_id

    def request(self, campaign_id: str) -> str:
        """Record a trial and publish its request (waits for the broker's PUBACK)."""
        proposal = self.planner.ask(1)[0]
        self.record.add_trial(
            campaign_id, proposal.trial_id, parameters=proposal.parameters, origin="bench"
        )
        setpoints = {p.actuator: proposal.parameters[p.name] for p in self.spec.parameters}
        message = ExperimentRequest(
            campaign_id=campaign_id,
            trial_id=proposal.trial_id,
            station_id=self.station_id,
            setpoints=setpoints,
            parameters=proposal.parameters,
            readings=list(self.spec.readings.values()),
        )
        self.client.publish_and_wait(
            station_requests_topic(self.station_id), encode_message(message)
        )
        return proposal.trial_id

    def ingest(self, trial_ids: set[str], timeout_s: float) -> None:
        """Store incoming documents until every trial in ``trial_ids`` has its result."""
        deadline = time.monotonic() + timeout_s
        while not all(self.has_result(t) for t in trial_ids):
            try:
                message = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if isinstance(message, DocumentMessage):
                stored = self.record.add_document(
                    message.campaign_id, message.trial_id, message.name, message.doc
                )
                if not stored:
                    self.duplicates += 1
                elif message.name == "stop":
                    self._stopped.add(message.trial_id)
            elif message.state not in ("accepted", "running"):
                self.ended[message.trial_id] = message.state
            if not self._acks:
                self._acks_since = time.monotonic()
            self._acks.setdefault(message.campaign_id, []).append(message.message_id)
            if self.inbox.empty() or time.monotonic() - self._acks_since > 0.5:
                self.acknowledge()

    def acknowledge(self) -> None:
        """Tell the worker what is stored, as the campaign runner does (its outbox empties)."""
        for campaign_id, ids in self._acks.items():
            ack = DeliveryAck(campaign_id=campaign_id, station_id=self.station_id, message_ids=ids)
            self.client.publish(station_acks_topic(self.station_id), encode_message(ack))
        self._acks.clear()

    def has_result(self, trial_id: str) -> bool:
        state = self.ended.get(trial_id)
        return state is not None and (state != "completed" or trial_id in self._stopped)


def percentile(values: list[float], q: int) -> float:
    """The ``q``-th percentile (inclusive method) of at least two values."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latency(orchestrator: Orchestrator, trials: int, timeout_s: float) -> dict[str, Any]:
    campaign_id = orchestrator.new_campaign("latency")
    for _ in range(WARMUP_TRIALS):  # the first runs warm up the RunEngine and the plans
        orchestrator.ingest({orchestrator.request(campaign_id)}, timeout_s)
    latencies_ms = []
    for _ in range(trials):
        start = time.perf_counter()
        trial_id = orchestrator.request(campaign_id)
        orchestrator.ingest({trial_id}, timeout_s)
        if not orchestrator.has_result(trial_id):
            raise TimeoutError(f"no result for trial {trial_id} within {timeout_s} s")
        latencies_ms.append((time.perf_counter() - start) * 1000)
    return {
        "trials": trials,
        "warmup_trials": WARMUP_TRIALS,
        "p50_ms": round(percentile(latencies_ms, 50), 2),
        "p99_ms": round(percentile(latencies_ms, 99), 2),
        "mean_ms": round(statistics.fmean(latencies_ms), 2),
        "max_ms": round(max(latencies_ms), 2),
    }


def throughput(orchestrator: Orchestrator, trials: int, timeout_s: float) -> dict[str, Any]:
    campaign_id = orchestrator.new_campaign("throughput")
    start = time.perf_counter()
    trial_ids = {orchestrator.request(campaign_id) for _ in range(trials)}
    orchestrator.ingest(trial_ids, timeout_s + trials)
    wall = time.perf_counter() - start
    stored = orchestrator.record.document_count(campaign_id)
    expected = DOCUMENTS_PER_RUN * trials
    states: dict[str, int] = {}
    for trial_id in trial_ids:
        state = orchestrator.ended.get(trial_id, "no result")
        states[state] = states.get(state, 0) + 1
    return {
        "trials": trials,
        "wall_s": round(wall, 3),
        "documents_expected": expected,
        "documents_stored": stored,
        "lost": expected - stored,
        "duplicates": orchestrator.duplicates,
        "rejected": orchestrator.rejected,
        "documents_per_s": round(stored / wall, 1),
        "trials_per_s": round(trials / wall, 1),
        "states": states,
    }


def bench_broker(spec: CampaignSpec, broker_url: str, trials: int) -> dict[str, Any]:
    """Latency and throughput through a worker and an orchestrator client on one broker."""
    # A station id of its own, so a shared broker (Mosquitto) never mixes two runs.
    station_id = f"bench-{uuid.uuid4().hex[:8]}"
    ref = spec.station.model_copy(update={"id": station_id})
    spec = spec.model_copy(update={"station": ref})
    station = build_station(ref)
    with tempfile.TemporaryDirectory() as tmp:
        # The worker's outbox is a file, as with 'genesis-lab worker': every result is
        # committed to it before it is published.
        worker = Worker(
            station, station_id, broker_url, plugin=ref.plugin, outbox=Path(tmp) / "outbox.sqlite"
        )
        worker.start()
        try:
            with CampaignRecord(Path(tmp) / "bench.sqlite") as record:
                orchestrator = Orchestrator(spec, broker_url, record)
                with orchestrator.client:
                    result = {
                        "broker_url": broker_url,
                        "latency": latency(orchestrator, trials, spec.trial_timeout_s),
                        "throughput": throughput(orchestrator, trials, spec.trial_timeout_s),
                    }
                    deadline = time.monotonic() + 10
                    while len(worker.outbox) and time.monotonic() < deadline:
                        time.sleep(0.05)
                    result["outbox_left"] = len(worker.outbox)
                    result["resent"] = worker.stats.resent
                    return result
        finally:
            worker.stop()
            station.close()


def listening(url: str) -> bool:
    host, port = parse_broker_url(url)
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@contextmanager
def private_mosquitto(binary: str) -> Iterator[str]:
    """A Mosquitto of our own with ``set_tcp_nodelay true`` (its default, false, lets
    Nagle's algorithm hold a small packet ~40 ms behind the previous one's TCP ACK)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mosquitto.conf"
        config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
        )
        proc = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"mqtt://127.0.0.1:{port}"
            deadline = time.monotonic() + 5
            while not listening(url) and time.monotonic() < deadline:
                time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def instant_spec() -> CampaignSpec:
    """The colour-mixing campaign on an instant, noise-free colour bench."""
    spec = load_campaign(CAMPAIGN).spec
    options = {**spec.station.options, "latency_s": 0.0, "noise_std": 0.0, "fault_rate": 0.0}
    return spec.model_copy(update={"station": spec.station.model_copy(update={"options": options})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials", type=int, default=200, help="trials per measurement (at least 2)"
    )
    parser.add_argument(
        "--broker",
        choices=["embedded", "mosquitto", "both"],
        default="both",
        help="which broker(s) to measure; 'mosquitto' measures the one at --mosquitto-url and "
        "a private one with set_tcp_nodelay true (if the mosquitto binary is installed)",
    )
    parser.add_argument(
        "--mosquitto-url", default=MOSQUITTO_URL, help="where Mosquitto listens (mqtt://HOST:PORT)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results" / "messaging.json",
        help="where to write the figures (JSON)",
    )
    args = parser.parse_args()
    if args.trials < 2:
        parser.error("--trials must be at least 2 (a percentile needs two values)")
    spec = instant_spec()
    brokers: dict[str, Any] = {}
    if args.broker in ("embedded", "both"):
        with EmbeddedBroker() as broker:
            brokers["embedded"] = bench_broker(spec, broker.url, args.trials)
    if args.broker in ("mosquitto", "both"):
        if listening(args.mosquitto_url):
            brokers["mosquitto"] = bench_broker(spec, args.mosquitto_url, args.trials)
        else:
            reason = f"nothing listens on {args.mosquitto_url}; start Mosquitto to measure it"
            print(f"mosquitto skipped: {reason}")
            brokers["mosquitto"] = {"skipped": reason}
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if Path(binary).exists():
            with private_mosquitto(binary) as url:
                brokers["mosquitto-nodelay"] = bench_broker(spec, url, args.trials)
    figures = {
        "brokers": brokers,
        "versions": package_versions(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
