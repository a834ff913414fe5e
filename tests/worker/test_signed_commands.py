"""A worker that trusts the orchestrator's key, on a real Mosquitto whose access is wide open
(anonymous, no ACL: anyone may publish anything): forged, tampered, expired, replayed and
unsigned requests are each refused before anything moves, counted, kept in the worker's
outbox and reported to the campaign they name; controls must be signed, except an e-stop,
which is obeyed all the same. Every result the worker publishes carries the station's
signature."""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from genesis_lab.messages import (
    DocumentMessage,
    ExperimentRequest,
    StationControl,
    TrialStatusMessage,
    campaign_results_topic,
    decode_worker_message,
    encode_message,
    station_control_topic,
    station_requests_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.security import (
    MessageSigner,
    MessageSigning,
    MessageVerifier,
    SigningKey,
    generate_signing_key,
)
from genesis_lab.spec import StationRef
from genesis_lab.station import Station, build_station
from genesis_lab.worker import Worker

pytestmark = pytest.mark.mosquitto

SETPOINTS = {"pump_cyan": 3.2, "pump_magenta": 6.1, "pump_yellow": 1.5}


@dataclass
class Keys:
    orchestrator: SigningKey
    station: SigningKey
    attacker: SigningKey
    operator: SigningKey


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(
        generate_signing_key(tmp_path / "keys" / "orchestrator.key"),
        generate_signing_key(tmp_path / "keys" / "station.key"),
        generate_signing_key(tmp_path / "keys" / "attacker.key"),
        generate_signing_key(tmp_path / "keys" / "carol.key", operator="carol"),
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Bench:
    """A signing worker on the colour bench, and a client anyone on the broker could be."""

    url: str
    keys: Keys
    outbox: Path
    station_id: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    campaign_id: str = field(default_factory=lambda: f"c-{uuid.uuid4().hex[:8]}")
    results: queue.Queue[DocumentMessage | TrialStatusMessage] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        self.station: Station = build_station(
            StationRef(plugin="colour-bench", options={"noise_std": 0.0})
        )
        self.client = MqttClient(self.url, client_id=f"anyone-{uuid.uuid4().hex[:8]}")
        self.worker = self.new_worker()
        self.signer = MessageSigner(self.keys.orchestrator, "orchestrator ana@lab")
        self.station_check = MessageVerifier([self.keys.station.public])

    def new_worker(self) -> Worker:
        return Worker(
            self.station,
            self.station_id,
            self.url,
            plugin="colour-bench",
            outbox=self.outbox,
            signing=MessageSigning(
                key=self.keys.station,
                trusted=(self.keys.orchestrator.public, self.keys.operator.public),
                max_age_s=60.0,
            ),
        )

    def start(self) -> None:
        self.client.subscribe(campaign_results_topic(self.campaign_id), self._on_result)
        self.client.connect()
        self.worker.start()

    def _on_result(self, _topic: str, payload: bytes) -> None:
        message = decode_worker_message(payload)
        # Every result is signed by the station (raises, failing the test, if not).
        self.station_check.verify(message, fresh=False)
        self.results.put(message)

    def close(self) -> None:
        self.worker.stop()
        self.client.close()
        self.station.close()

    def request(self, trial_id: str, **fields: Any) -> ExperimentRequest:
        return ExperimentRequest(
            campaign_id=self.campaign_id,
            trial_id=trial_id,
            station_id=self.station_id,
            setpoints=fields.pop("setpoints", SETPOINTS),
            parameters={"cyan": 3.2, "magenta": 6.1, "yellow": 1.5},
            expires_at=fields.pop("expires_at", time.time() + 30),
            **fields,
        )

    def send(self, payload: bytes) -> None:
        self.client.publish_and_wait(station_requests_topic(self.station_id), payload)

    def control(self, payload: bytes) -> None:
        self.client.publish_and_wait(station_control_topic(self.station_id), payload)

    def status_of(self, trial_id: str, *, until: tuple[str, ...]) -> TrialStatusMessage:
        """The trial's first status in ``until``; documents and others are skipped."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = self.results.get(timeout=max(0.01, deadline - time.monotonic()))
            if (
                isinstance(message, TrialStatusMessage)
                and message.trial_id == trial_id
                and message.state in until
            ):
                return message
        pytest.fail(f"no {until} status for trial {trial_id}")

    def pumps(self) -> dict[str, tuple[float, int, list[tuple[float, float]]]]:
        """Each pump's position, how many commands it got, and its motion log."""
        return {
            name: (
                float(device.position),  # type: ignore[attr-defined]
                len(device.command_log),  # type: ignore[attr-defined]
                list(device.motion_log),  # type: ignore[attr-defined]
            )
            for name, device in self.station.actuators.items()
        }


@pytest.fixture
def bench(private_mosquitto: Any, keys: Keys, tmp_path: Path) -> Iterator[Bench]:
    bench = Bench(private_mosquitto.url, keys, tmp_path / "outbox.sqlite")
    try:
        bench.start()
        yield bench
    finally:
        bench.close()


def test_forged_tampered_expired_replayed_and_unsigned_requests_move_nothing(
    bench: Bench,
) -> None:
    # A request the orchestrator signed runs, and every result comes back signed.
    accepted = encode_message(bench.signer.sign(bench.request("t0001")))
    bench.send(accepted)
    assert bench.status_of("t0001", until=("completed", "failed")).state == "completed"
    before = bench.pumps()
    assert all(log for _, _, log in before.values())  # the run did move them

    attacker = MessageSigner(bench.keys.attacker, "orchestrator ana@lab")
    forged = encode_message(attacker.sign(bench.request("t0002")))
    claimed = attacker.sign(bench.request("t0003"))
    claimed = claimed.model_copy(
        update={
            "auth": claimed.auth.model_copy(  # type: ignore[union-attr]
                update={"key_id": bench.keys.orchestrator.key_id}
            )
        }
    )
    signed = encode_message(bench.signer.sign(bench.request("t0004")))
    tampered = signed.replace(b'"pump_cyan":3.2', b'"pump_cyan":9.9')
    assert tampered != signed
    late = MessageSigner(bench.keys.orchestrator, "ana", clock=lambda: time.time() - 120)
    expired = encode_message(late.sign(bench.request("t0005", expires_at=None)))
    unsigned = encode_message(bench.request("t0006"))
    cases = [
        ("t0002", forged, "unknown-key"),
        ("t0003", encode_message(claimed), "bad-signature"),
        ("t0004", tampered, "bad-signature"),
        ("t0005", expired, "expired"),
        ("t0001", accepted, "replayed"),  # the exact bytes of the request that ran
        ("t0006", unsigned, "unsigned"),
    ]
    for trial_id, payload, reason in cases:
        bench.send(payload)
        refused = bench.status_of(trial_id, until=("refused", "accepted", "running"))
        assert refused.state == "refused", f"{reason}: {refused}"
        assert refused.reason.startswith(f"request refused ({reason})")

    stats = bench.worker.stats
    assert stats.requests == 1 and stats.completed == 1
    assert dict(stats.refusals) == {
        "unknown-key": 1,
        "bad-signature": 2,
        "expired": 1,
        "replayed": 1,
        "unsigned": 1,
    }
    kept = bench.worker.outbox.refusals()
    assert [(r.trial_id, r.reason) for r in kept] == [(t, r) for t, _, r in cases]
    assert kept[0].signer == "orchestrator ana@lab" and kept[0].key_id == bench.keys.attacker.key_id
    assert bench.pumps() == before, "a refused request moved a pump"
    # The worker still serves what the orchestrator signs.
    bench.send(encode_message(bench.signer.sign(bench.request("t0007"))))
    assert bench.status_of("t0007", until=("completed", "failed")).state == "completed"


def test_controls_must_be_signed_but_an_unsigned_estop_is_obeyed(bench: Bench) -> None:
    worker = bench.worker

    def control(command: str, signer: MessageSigner | None = None) -> bytes:
        message = StationControl(command=command, station_id=bench.station_id)  # type: ignore[arg-type]
        return encode_message(message if signer is None else signer.sign(message))

    def refusals() -> int:
        return sum(worker.stats.refusals.values())

    bench.control(control("pause"))
    wait_for(lambda: refusals() == 1, "the unsigned pause to be refused")
    assert worker.mode == "serving" and worker.stats.refusals["unsigned"] == 1

    bench.control(control("estop"))  # unsigned: obeyed all the same
    wait_for(lambda: worker.mode == "estopped", "the unsigned e-stop to be obeyed")
    assert worker.stats.unverified_estops == 1 and refusals() == 1

    bench.control(control("release"))  # unsigned: refused
    bench.control(control("release", MessageSigner(bench.keys.attacker, "ana")))  # forged
    wait_for(lambda: refusals() == 3, "the unsigned and the forged release to be refused")
    assert worker.mode == "estopped"
    assert worker.stats.refusals["unknown-key"] == 1

    release = control("release", bench.signer)
    bench.control(release)
    wait_for(lambda: worker.mode == "serving", "the signed release")
    # A verified command names the key that signed it as who changed the mode.
    assert worker.mode_changed_by.endswith(f"(key {bench.signer.key.key_id})")
    bench.control(control("estop", bench.signer))
    wait_for(lambda: worker.mode == "estopped", "the signed e-stop")
    bench.control(release)  # the signed release again, word for word: a replay
    wait_for(lambda: refusals() == 4, "the replayed release to be refused")
    assert worker.mode == "estopped" and worker.stats.refusals["replayed"] == 1
    assert [(r.what.split()[0], r.reason) for r in worker.outbox.refusals()] == [
        ("pause", "unsigned"),
        ("estop", "unsigned"),
        ("release", "unsigned"),
        ("release", "unknown-key"),
        ("release", "replayed"),
    ]
    assert "obeyed" in worker.outbox.refusals()[1].what


def test_a_restarted_worker_still_refuses_a_replay(bench: Bench) -> None:
    accepted = encode_message(bench.signer.sign(bench.request("t0001")))
    bench.send(accepted)
    assert bench.status_of("t0001", until=("completed", "failed")).state == "completed"
    bench.worker.stop()
    bench.worker = bench.new_worker()  # the same outbox file: its journal and nonces
    bench.worker.start()
    before = bench.pumps()
    bench.send(accepted)
    refused = bench.status_of("t0001", until=("refused", "accepted"))
    assert refused.state == "refused" and "replayed" in refused.reason
    assert bench.worker.stats.refusals["replayed"] == 1
    assert bench.pumps() == before


def test_an_unverified_estop_is_obeyed_but_its_words_are_marked_and_defanged(bench: Bench) -> None:
    """Issue 14, item 3: who and why of an unsigned e-stop are attacker-chosen. They must not
    plant a log line (newlines, escape sequences), must be capped, and must be marked
    unverified in the station's status and in the reason of the trial it stops."""
    worker = bench.worker
    forged_line = "2026-12-04 10:00:00 WARNING station released by admin (key 0123456789abcdef)"
    raw = {
        "kind": "station_control",
        "command": "estop",
        "station_id": bench.station_id,
        "requested_by": f"mallory\n{forged_line}\x1b[2K\r",
        "reason": "\u202e" + "x" * 900,  # a bidirectional override and more than the cap
    }
    bench.control(json.dumps(raw).encode())
    wait_for(lambda: worker.mode == "estopped", "the unsigned e-stop to be obeyed")
    who, why = worker.mode_changed_by, worker.mode_change_reason
    for text in (who, why):
        assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u202e" not in text
    assert who.startswith("mallory ") and who.endswith("(unverified: unsigned)")
    assert why.startswith("estop: ") and why.endswith("(unverified: unsigned)")
    assert len(why) <= 600
    # A request that comes now is refused and its trial abandoned: the reason says so too.
    bench.send(encode_message(bench.signer.sign(bench.request("t0001"))))
    status = bench.status_of("t0001", until=("abandoned", "failed", "rejected"))
    assert "(unverified: unsigned)" in status.reason and "\n" not in status.reason


def test_an_operators_key_controls_the_station_but_never_dispatches(bench: Bench) -> None:
    """Issue 14, item 4: the worker trusts operator carol's key (its file names her) for
    pause, resume, e-stop and release; a request she signs is refused before anything
    moves, and a control she signs names her (and her key) as who changed the mode."""
    worker, carol = bench.worker, MessageSigner(bench.keys.operator, "the night shift")
    before = bench.pumps()
    bench.send(encode_message(carol.sign(bench.request("t0001"))))
    wait_for(lambda: worker.stats.refusals["not-a-dispatcher"] == 1, "the request to be refused")
    assert bench.pumps() == before and worker.stats.requests == 0

    def control(command: str) -> bytes:
        message = StationControl(command=command, station_id=bench.station_id)  # type: ignore[arg-type]
        return encode_message(carol.sign(message))

    bench.control(control("estop"))
    wait_for(lambda: worker.mode == "estopped", "carol's e-stop")
    assert worker.mode_changed_by == f"carol (key {bench.keys.operator.key_id})"
    assert worker.stats.unverified_estops == 0
    bench.control(control("release"))
    wait_for(lambda: worker.mode == "serving", "carol's release")
    # The orchestrator's key still dispatches.
    bench.send(encode_message(bench.signer.sign(bench.request("t0002"))))
    assert bench.status_of("t0002", until=("completed", "failed")).state == "completed"
