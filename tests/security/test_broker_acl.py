"""Least privilege on a real Mosquitto, configured by ``genesis-lab security init`` alone.

Each test starts a private Mosquitto with the ``mosquitto.conf`` that ``security init``
wrote (TLS listener, a lab client certificate required, its name the identity, revocation
list, ACL) and talks to it over real TLS sockets with paho. Mosquitto drops a publish its
ACL denies without telling the publisher (MQTT 3.1.1 has no way to: the publisher still
gets its PUBACK), so "nothing delivered" is checked with a subscriber entitled to read
everything, and a publish that is allowed is sent after the denied ones: once it arrives,
the denied ones would have too.
"""

from __future__ import annotations

import os
import pwd
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.messages import (
    TOPIC_PREFIX,
    campaign_control_topic,
    campaign_results_topic,
    station_acks_topic,
    station_control_topic,
    station_requests_topic,
    station_status_topic,
)
from genesis_lab.security import create_lab_ca, issue_client_certificate, load_public_key

pytestmark = pytest.mark.mosquitto

A, B = "bench-a", "bench-b"
WAIT_S = 5.0


# ------------------------------------------------------------------- the lab
@dataclass(frozen=True)
class Lab:
    directory: Path
    port: int
    broker: Any  # the PrivateMosquitto running on the lab's files

    def broker_logged(self, text: str) -> bool:
        """Whether the broker's log says ``text`` (within a moment: it writes after closing)."""
        deadline = time.monotonic() + WAIT_S
        while text not in self.broker.log_text():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def identity(self, username: str) -> Path:
        return self.directory / "identities" / username


@pytest.fixture
def lab(tmp_path: Path, unused_port: int, start_mosquitto: Callable[..., Any]) -> Lab:
    """``security init`` for two stations and two observers; Mosquitto started on its files."""
    out = tmp_path / "lab"
    me = pwd.getpwuid(os.geteuid()).pw_name  # root in CI containers: Mosquitto stays root
    result = CliRunner().invoke(
        app,
        [
            "security", "init", "--lab", "acl-test", "--station", A, "--station", B,
            "--observer", "alice", "--observer", "bob", "--operator", "carol",
            "--hostname", "127.0.0.1", "--hostname", "localhost",
            "--port", str(unused_port), "--broker-user", me, "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    broker = start_mosquitto(config=out / "mosquitto.conf", port=unused_port, scheme="mqtts")
    return Lab(out, unused_port, broker)


# --------------------------------------------------------- a client, by hand
class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when its handshake fails (paho would drop it unclosed)."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _context(ca: Path, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = _ClosingSSLSocket
    context.load_verify_locations(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


@dataclass
class Attempt:
    """How one connection attempt ended."""

    connack: str | None = None  # the broker's CONNACK reason; None if none came
    ended: str | None = None  # why the connection ended without a CONNACK


def attempt(
    lab: Lab,
    *,
    username: str | None,
    password: str | None,
    cert_of: str | None,
    tls: bool = True,
    cert_files: tuple[Path, Path] | None = None,
) -> Attempt:
    """Connect once (no retry) and report the CONNACK, or how the connection ended."""
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"attempt-{time.monotonic_ns()}",
        protocol=MQTTProtocolVersion.MQTTv311,
        reconnect_on_failure=False,
    )
    outcome = Attempt()

    def on_connect(
        c: Client, u: Any, f: ConnectFlags, rc: ReasonCode, p: Properties | None
    ) -> None:
        outcome.connack = str(rc)

    client.on_connect = on_connect
    if tls:
        cert, key = cert_files or (
            (lab.identity(cert_of) / "client.crt", lab.identity(cert_of) / "client.key")
            if cert_of
            else (None, None)
        )
        client.tls_set_context(_context(lab.identity("alice") / "ca.crt", cert, key))
    if username is not None:
        client.username_pw_set(username, password)
    try:
        client.connect("127.0.0.1", lab.port, keepalive=10)
    except (OSError, ssl.SSLError) as exc:
        outcome.ended = f"{type(exc).__name__}: {exc}"
        return outcome
    deadline = time.monotonic() + WAIT_S
    while outcome.connack is None and time.monotonic() < deadline:
        rc = client.loop(0.05)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            outcome.ended = str(rc)
            break
    client.disconnect()
    client.loop(0.05)
    sock = client.socket()
    if sock is not None:
        sock.close()
    return outcome


# ------------------------------------------------------- a connected client
class Peer:
    """A connected client of one identity with a network thread; records what it receives."""

    def __init__(
        self,
        lab: Lab,
        username: str,
        *,
        client_id: str | None = None,
        clean: bool = True,
        claim: tuple[str, str] | None = None,
    ) -> None:
        self.username = username
        self._client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{username}-{time.monotonic_ns()}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=clean,
            reconnect_on_failure=False,
        )
        home = lab.identity(username)
        self._client.tls_set_context(
            _context(home / "ca.crt", home / "client.crt", home / "client.key")
        )
        if claim is not None:  # a username and password sent with the certificate
            self._client.username_pw_set(*claim)
        self._cond = threading.Condition()
        self.received: list[tuple[str, bytes, bool]] = []
        self._connack: str | None = None
        self.dropped = threading.Event()
        self._subacks: set[int] = set()
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.connect("127.0.0.1", lab.port, keepalive=10)
        self._client.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self._connack is not None, WAIT_S)
        if self._connack != "Success":
            self.close()
            pytest.fail(f"{username} could not connect: {self._connack}")

    def _on_connect(self, c: Client, u: Any, f: ConnectFlags, rc: ReasonCode, p: Any) -> None:
        with self._cond:
            self._connack = str(rc)
            self._cond.notify_all()

    def _on_disconnect(self, c: Client, u: Any, f: DisconnectFlags, rc: ReasonCode, p: Any) -> None:
        self.dropped.set()

    def _on_message(self, c: Client, u: Any, message: MQTTMessage) -> None:
        with self._cond:
            self.received.append((message.topic, message.payload, bool(message.retain)))
            self._cond.notify_all()

    def _on_subscribe(self, c: Client, u: Any, mid: int, rcs: Any, p: Any) -> None:
        with self._cond:
            self._subacks.add(mid)
            self._cond.notify_all()

    def subscribe(self, *filters: str) -> None:
        rc, mid = self._client.subscribe([(f, 1) for f in filters])
        assert rc == MQTTErrorCode.MQTT_ERR_SUCCESS
        with self._cond:
            assert self._cond.wait_for(lambda: mid in self._subacks, WAIT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the PUBACK (which a denied publish gets too)."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), f"no PUBACK for {topic}"

    def wait_for(self, topic: str, payload: bytes) -> None:
        """Wait until (topic, payload) arrived, then :meth:`barrier`: whatever the broker
        sent this client before it is in :attr:`received` too."""
        with self._cond:
            arrived = self._cond.wait_for(
                lambda: any(t == topic and p == payload for t, p, _ in self.received), WAIT_S
            )
        assert arrived, f"{self.username} never received {payload!r} on {topic}"
        self.barrier()

    def barrier(self) -> None:
        """Return once every message the broker sent this client before now has been
        handled: subscribe to a topic of this call alone (nothing retained there) and wait
        for its SUBACK, which the broker sends after them, on the one connection, and paho
        hands on in order. Publishers here wait for their PUBACK, which the broker sends
        after routing, so what they published is before the SUBACK too. No waiting on the
        clock."""
        self.subscribe(f"barrier/{self.username}/{uuid.uuid4().hex}")

    def topics(self) -> list[tuple[str, bytes]]:
        with self._cond:
            return [(t, p) for t, p, _ in self.received]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def peers(lab: Lab) -> Iterator[Callable[..., Peer]]:
    """Connect clients as the lab's identities; all closed (threads joined) afterwards."""
    made: list[Peer] = []

    def connect(username: str, **kwargs: Any) -> Peer:
        made.append(Peer(lab, username, **kwargs))
        return made[-1]

    yield connect
    for peer in made:
        peer.close()


EVERYTHING = f"{TOPIC_PREFIX}/#"


# ---------------------------------------------------------- who may connect
def test_each_identity_connects_with_its_certificate_as_the_name_it_holds(lab: Lab) -> None:
    for username in ("orchestrator", f"worker-{A}", f"worker-{B}", "carol", "alice", "bob"):
        outcome = attempt(lab, username=None, password=None, cert_of=username)
        assert outcome.connack == "Success", (username, outcome)
        assert lab.broker_logged(f"u'{username}'")


def test_without_a_lab_certificate_nothing_connects(lab: Lab) -> None:
    """No certificate, with or without a name and password: the TLS handshake fails."""
    for username, password in ((None, None), ("orchestrator", "any password")):
        outcome = attempt(lab, username=username, password=password, cert_of=None)
        assert outcome.connack is None and outcome.ended, outcome
    assert lab.broker_logged("peer did not return a certificate")


def test_another_identitys_name_and_password_do_not_change_who_connects(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    """Issue 14, item 5: the certificate is the identity. A worker's certificate sent
    with the orchestrator's username (and any password) connects as the worker, and the
    broker applies the worker's rules: it cannot dispatch."""
    outcome = attempt(lab, username="orchestrator", password="stolen", cert_of=f"worker-{A}")
    assert outcome.connack == "Success", outcome
    assert lab.broker_logged(f"u'worker-{A}'")
    assert "u'orchestrator'" not in lab.broker.log_text()
    impostor = peers(f"worker-{A}", claim=("orchestrator", "stolen"))
    target = peers(f"worker-{B}")
    target.subscribe(station_requests_topic(B))
    impostor.publish(station_requests_topic(B), b"forged dispatch")
    peers("orchestrator").publish(station_requests_topic(B), b"the real request")
    target.wait_for(station_requests_topic(B), b"the real request")
    assert target.topics() == [(station_requests_topic(B), b"the real request")]


def test_a_revoked_certificate_is_refused_once_the_broker_reloads(lab: Lab) -> None:
    revoked = CliRunner().invoke(app, ["security", "revoke", "alice", "--out", str(lab.directory)])
    assert revoked.exit_code == 0, revoked.output
    unknown = CliRunner().invoke(
        app, ["security", "revoke", "mallory", "--out", str(lab.directory)]
    )
    assert unknown.exit_code == 2 and "no certificate of 'mallory'" in unknown.output
    lab.broker.reload()
    assert lab.broker_logged("Reloading config")
    outcome = attempt(lab, username=None, password=None, cert_of="alice")
    assert outcome.connack is None and outcome.ended, outcome
    assert lab.broker_logged("certificate verify failed")
    still = attempt(lab, username=None, password=None, cert_of="bob")
    assert still.connack == "Success", still


def test_a_client_certificate_from_another_ca_is_refused(lab: Lab, tmp_path: Path) -> None:
    """A certificate with the right name, signed by a CA that is not the lab's: the broker
    ends the TLS handshake, no MQTT is spoken."""
    username = f"worker-{A}"
    intruder = issue_client_certificate(create_lab_ca("intruder"), username)
    cert, key = tmp_path / "intruder.crt", tmp_path / "intruder.key"
    cert.write_bytes(intruder.certificate_pem())
    key.write_bytes(intruder.key_pem())
    outcome = attempt(lab, username=None, password=None, cert_of=None, cert_files=(cert, key))
    assert outcome.connack is None and outcome.ended, outcome
    assert lab.broker_logged("certificate verify failed")


def test_plaintext_to_the_tls_port_is_refused(lab: Lab) -> None:
    outcome = attempt(lab, username="orchestrator", password="x", cert_of=None, tls=False)
    assert outcome.connack is None and outcome.ended, outcome
    assert lab.broker_logged("wrong version number")


# ------------------------------------------------------------ who may do what
def test_a_worker_cannot_publish_on_another_workers_topics(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    watcher = peers("bob")  # an observer: reads everything
    watcher.subscribe(EVERYTHING)
    victim = peers(f"worker-{B}")
    victim.subscribe(
        station_requests_topic(B), station_control_topic(B), station_control_topic(),
        station_acks_topic(B),
    )  # fmt: skip
    forger = peers(f"worker-{A}")
    forged = [
        station_status_topic(B),  # B's presence, retained: would fake B online or offline
        station_requests_topic(B),  # an experiment for B
        station_control_topic(B),  # pause or e-stop B
        station_control_topic(),  # every station
        station_acks_topic(B),  # acknowledge B's results for the orchestrator
        campaign_control_topic("c-1"),  # a manual trial
    ]
    for topic in forged:
        forger.publish(topic, b"forged", retain=topic == station_status_topic(B))
    forger.publish(station_status_topic(A), b"allowed", retain=False)  # its own: delivered

    watcher.wait_for(station_status_topic(A), b"allowed")
    assert watcher.topics() == [(station_status_topic(A), b"allowed")]
    victim.barrier()
    assert victim.topics() == []
    # Nothing retained either: a newcomer reading B's status finds nothing.
    newcomer = peers("alice")
    newcomer.subscribe(station_status_topic(B), station_status_topic(A))
    newcomer.barrier()  # after the retained messages of those subscriptions, if any
    assert newcomer.topics() == []


def test_a_worker_reads_only_its_own_requests(lab: Lab, peers: Callable[..., Peer]) -> None:
    """The broker grants the subscription (Mosquitto 2.0 does) but delivers nothing the
    ACL does not let this user read."""
    snoop = peers(f"worker-{A}")
    snoop.subscribe(station_requests_topic(B), station_control_topic(B), EVERYTHING)
    orchestrator = peers("orchestrator")
    orchestrator.publish(station_requests_topic(B), b"for B")
    orchestrator.publish(station_control_topic(B), b"pause B")
    orchestrator.publish(station_acks_topic(B), b"ack B")
    orchestrator.publish(station_requests_topic(A), b"for A")
    snoop.wait_for(station_requests_topic(A), b"for A")
    assert snoop.topics() == [(station_requests_topic(A), b"for A")]


def test_the_orchestrator_dispatches_to_the_right_worker_and_controls_stations(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    worker_a, worker_b = peers(f"worker-{A}"), peers(f"worker-{B}")
    for worker, station in ((worker_a, A), (worker_b, B)):
        worker.subscribe(
            station_requests_topic(station), station_control_topic(station),
            station_control_topic(), station_acks_topic(station),
        )  # fmt: skip
    orchestrator = peers("orchestrator")
    orchestrator.publish(station_requests_topic(A), b"request")
    orchestrator.publish(station_acks_topic(A), b"ack")
    orchestrator.publish(station_control_topic(A), b"pause")
    orchestrator.publish(station_control_topic(), b"e-stop all")
    worker_a.wait_for(station_control_topic(), b"e-stop all")
    assert worker_a.topics() == [
        (station_requests_topic(A), b"request"),
        (station_acks_topic(A), b"ack"),
        (station_control_topic(A), b"pause"),
        (station_control_topic(), b"e-stop all"),
    ]
    assert worker_b.topics() == [(station_control_topic(), b"e-stop all")]


def test_a_workers_status_and_results_reach_the_orchestrator_and_observers(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    worker = peers(f"worker-{A}")
    worker.publish(station_status_topic(A), b"online", retain=True)
    orchestrator, observer = peers("orchestrator"), peers("alice")
    for reader in (orchestrator, observer):
        reader.subscribe(f"{TOPIC_PREFIX}/stations/+/status", campaign_results_topic("c-1"))
    worker.publish(campaign_results_topic("c-1"), b"event")
    for reader in (orchestrator, observer):
        reader.wait_for(campaign_results_topic("c-1"), b"event")
        assert reader.received == [
            (station_status_topic(A), b"online", True),  # retained, read on subscribing
            (campaign_results_topic("c-1"), b"event", False),
        ]
    worker.publish(station_status_topic(A), b"", retain=True)  # clear the retained status


def test_an_observer_cannot_dispatch_or_control(lab: Lab, peers: Callable[..., Peer]) -> None:
    watcher = peers("bob")
    watcher.subscribe(EVERYTHING)
    worker = peers(f"worker-{A}")
    worker.subscribe(station_requests_topic(A), station_control_topic(A), station_control_topic())
    observer = peers("alice")
    for topic in (
        station_requests_topic(A),
        station_control_topic(A),
        station_control_topic(),
        station_acks_topic(A),
        campaign_control_topic("c-1"),
        station_status_topic(A),
        campaign_results_topic("c-1"),
    ):
        observer.publish(topic, b"observer says")
    orchestrator = peers("orchestrator")
    orchestrator.publish(station_requests_topic(A), b"the real request")

    worker.wait_for(station_requests_topic(A), b"the real request")
    watcher.wait_for(station_requests_topic(A), b"the real request")
    assert worker.topics() == [(station_requests_topic(A), b"the real request")]
    assert watcher.topics() == [(station_requests_topic(A), b"the real request")]


def test_an_operator_controls_stations_and_can_neither_dispatch_nor_publish_results(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    """Issue 14, item 4: the operator's identity reaches a worker's control topics (and the
    all-stations one) and reads presence; what it sends anywhere else is dropped."""
    watcher = peers("bob")
    watcher.subscribe(EVERYTHING)
    worker = peers(f"worker-{A}")
    worker.subscribe(station_requests_topic(A), station_control_topic(A), station_control_topic())
    operator = peers("carol")
    operator.subscribe(station_status_topic(A))
    for topic in (
        station_requests_topic(A),
        station_acks_topic(A),
        campaign_control_topic("c-1"),
        station_status_topic(A),
        campaign_results_topic("c-1"),
    ):
        operator.publish(topic, b"operator overreaches")
    operator.publish(station_control_topic(A), b"estop")
    operator.publish(station_control_topic(), b"pause all")
    worker.publish(station_status_topic(A), b"online")

    worker.wait_for(station_control_topic(), b"pause all")
    watcher.wait_for(station_control_topic(), b"pause all")  # after every denied one
    operator.wait_for(station_status_topic(A), b"online")
    assert worker.topics() == [
        (station_control_topic(A), b"estop"),
        (station_control_topic(), b"pause all"),
    ]
    assert [t for t in watcher.topics() if t[1] == b"operator overreaches"] == []
    worker.publish(station_status_topic(A), b"", retain=True)

    # An e-stop latches on the broker (issue 21): the operator reads the e-stops retained
    # on every control topic, to show them ('estop --status') and clear them (a release).
    operator.publish(station_control_topic(A), b"latched", retain=True)
    reader = peers("carol")
    reader.subscribe(f"{TOPIC_PREFIX}/stations/+/control")
    reader.wait_for(station_control_topic(A), b"latched")
    operator.publish(station_control_topic(A), b"", retain=True)


def test_an_operator_and_a_station_added_later_work_with_every_old_credential(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    """Issue 14, item 4: 'security add-operator' and 'add-station' issue one newcomer's
    credentials under the lab's CA, without 'init --force'; after a SIGHUP the broker
    knows them, with the newcomer's role, and every old identity still connects."""
    for command, name in (("add-operator", "dave"), ("add-station", "bench-c")):
        added = CliRunner().invoke(app, ["security", command, name, "--out", str(lab.directory)])
        assert added.exit_code == 0, added.output
    again = CliRunner().invoke(
        app, ["security", "add-operator", "dave", "--out", str(lab.directory)]
    )
    assert again.exit_code == 2 and "has the same username" in again.output
    lab.broker.reload()
    assert lab.broker_logged("Reloading config")
    # Each worker takes dave's controls (his key names him); the orchestrator trusts the
    # new station's key for that station alone, and the new worker its commanders' keys.
    assert load_public_key(lab.identity(f"worker-{A}") / "trust" / "dave.pub").operator == "dave"
    new_station = load_public_key(lab.identity("orchestrator") / "trust" / "worker-bench-c.pub")
    assert new_station.station_id == "bench-c"
    assert {p.name for p in (lab.identity("worker-bench-c") / "trust").iterdir()} == {
        "orchestrator.pub",
        "carol.pub",
        "dave.pub",
    }

    watcher = peers("bob")  # an old identity
    watcher.subscribe(EVERYTHING)
    worker = peers("worker-bench-c")
    worker.subscribe(station_requests_topic("bench-c"), station_control_topic("bench-c"))
    dave = peers("dave")
    dave.publish(station_requests_topic("bench-c"), b"dave dispatches")
    dave.publish(station_control_topic("bench-c"), b"estop")
    peers("orchestrator").publish(station_requests_topic("bench-c"), b"the real request")
    worker.wait_for(station_requests_topic("bench-c"), b"the real request")
    worker.wait_for(station_control_topic("bench-c"), b"estop")
    watcher.wait_for(station_control_topic("bench-c"), b"estop")
    assert (station_requests_topic("bench-c"), b"dave dispatches") not in worker.topics()
    assert (station_requests_topic("bench-c"), b"dave dispatches") not in watcher.topics()


def test_any_worker_may_publish_any_campaigns_results_which_signatures_must_settle(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    """The known gap: the results topic names the campaign, not the station, so the ACL
    cannot keep station B's worker off the results of a campaign that runs on station A.
    Signed results (the worker's signature) are what tells the orchestrator who sent them."""
    orchestrator = peers("orchestrator")
    orchestrator.subscribe(campaign_results_topic("campaign-on-a"))
    peers(f"worker-{B}").publish(campaign_results_topic("campaign-on-a"), b"from B")
    orchestrator.wait_for(campaign_results_topic("campaign-on-a"), b"from B")


def test_a_worker_taking_another_workers_client_id_gets_none_of_its_requests(
    lab: Lab, peers: Callable[..., Peer]
) -> None:
    """Mosquitto lets any user take a connected client id (the first connection is
    dropped) and its persistent session, but still checks every delivery against the
    new user's ACL: station B's requests never reach station A's identity."""
    session = "genesis-lab-worker-bench-b"
    victim = peers(f"worker-{B}", client_id=session, clean=False)
    victim.subscribe(station_requests_topic(B))
    thief = peers(f"worker-{A}", client_id=session, clean=False)
    assert victim.dropped.wait(WAIT_S), "the first connection was not dropped"
    thief.subscribe(station_requests_topic(A))
    orchestrator = peers("orchestrator")
    orchestrator.publish(station_requests_topic(B), b"for B")
    orchestrator.publish(station_requests_topic(A), b"for A")
    thief.wait_for(station_requests_topic(A), b"for A")
    assert (station_requests_topic(B), b"for B") not in thief.topics()
