"""Encrypted, authenticated transport against real Mosquitto processes.

Each test starts its own Mosquitto with a TLS listener whose certificates the test made
(a lab CA, the broker's certificate for 127.0.0.1 and localhost, client certificates) and a
password file made by ``mosquitto_passwd``, then connects with :class:`MqttClient` over
real sockets: what must connect connects and delivers, what must be refused is refused with
a message that says why and how to fix it, and never shows the password.
"""

from __future__ import annotations

import logging
import queue
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from tls_certs import LabPki, write_password_file, write_pki

from genesis_lab.errors import BrokerError, TransportSecurityError
from genesis_lab.messaging import MqttClient, TransportSecurity

pytestmark = pytest.mark.mosquitto

PASSWORD = "correct-horse-7f3a-battery"  # the password of user alice in every broker here
Start = Callable[..., Any]


@pytest.fixture
def pki(tmp_path: Path) -> LabPki:
    return write_pki(tmp_path / "lab", clients=("alice", "orchestrator", "worker-tls-bench"))


@pytest.fixture
def other_pki(tmp_path: Path) -> LabPki:
    """A CA of another lab (or an attacker's), with its own broker and client certificates."""
    return write_pki(tmp_path / "other", lab="other-lab", clients=("alice",))


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    return write_password_file(
        tmp_path / "passwd",
        {"alice": PASSWORD, "orchestrator": "orch-pw-1", "worker-tls-bench": "worker-pw-2"},
    )


def _listener(pki: LabPki, server: LabPki | None = None) -> str:
    """TLS listener lines: the broker trusts ``pki``'s CA and presents ``server``'s
    certificate (default: its own lab's)."""
    cert = (server or pki).server
    return f"cafile {pki.ca}\ncertfile {cert.cert}\nkeyfile {cert.key}\ntls_version tlsv1.2\n"


@pytest.fixture
def password_broker(start_mosquitto: Start, pki: LabPki, password_file: Path) -> Any:
    """TLS, a password file, no anonymous access."""
    return start_mosquitto(
        settings=_listener(pki) + f"password_file {password_file}\nallow_anonymous false\n",
        scheme="mqtts",
    )


@pytest.fixture
def certificate_broker(start_mosquitto: Start, pki: LabPki) -> Any:
    """TLS with client certificates required; the certificate's common name is the user."""
    return start_mosquitto(
        settings=_listener(pki)
        + "require_certificate true\nuse_identity_as_username true\nallow_anonymous false\n",
        scheme="mqtts",
    )


@pytest.fixture
def clients() -> Iterator[Callable[..., MqttClient]]:
    """Make clients that are closed at teardown."""
    made: list[MqttClient] = []

    def make(url: str, security: TransportSecurity | None = None, **kwargs: Any) -> MqttClient:
        client = MqttClient(url, f"tls-test-{uuid.uuid4().hex[:8]}", security=security, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _round_trip(make: Callable[..., MqttClient], url: str, security: TransportSecurity) -> None:
    """A QoS 1 message from one client to another, both over ``url`` with ``security``."""
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    topic = f"genesis-lab-test/{uuid.uuid4().hex}/tls"
    subscriber = make(url, security)
    subscriber.subscribe(topic, lambda t, p: received.put((t, p)), qos=1)
    subscriber.connect(timeout=5)
    publisher = make(url, security)
    publisher.connect(timeout=5)
    publisher.publish_and_wait(topic, b"over tls", qos=1, timeout=5)
    assert received.get(timeout=5) == (topic, b"over tls")


# -- what must connect --------------------------------------------------------------------


def test_round_trip_over_mqtts_with_the_pinned_ca_and_a_password(
    password_broker: Any, pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    security = TransportSecurity(ca_file=pki.ca, username="alice", password=PASSWORD)
    assert password_broker.url.startswith("mqtts://127.0.0.1:")
    _round_trip(clients, password_broker.url, security)
    assert "u'alice'" in password_broker.log_text()  # Mosquitto saw the user


def test_round_trip_with_a_client_certificate(
    certificate_broker: Any, pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    alice = pki.clients["alice"]
    security = TransportSecurity(ca_file=pki.ca, cert_file=alice.cert, key_file=alice.key)
    _round_trip(clients, certificate_broker.url, security)
    assert "u'alice'" in certificate_broker.log_text()  # the user is the certificate's CN


def test_the_broker_is_reached_by_any_name_its_certificate_lists(
    password_broker: Any, pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    url = password_broker.url.replace("127.0.0.1", "localhost")
    client = clients(url, TransportSecurity(ca_file=pki.ca, username="alice", password=PASSWORD))
    client.connect(timeout=5)


def test_a_tls_client_reconnects_after_the_broker_restarts(
    password_broker: Any, pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    """The TLS context and credentials are used again on every reconnect."""
    security = TransportSecurity(ca_file=pki.ca, username="alice", password=PASSWORD)
    received: queue.Queue[bytes] = queue.Queue()
    topic = f"genesis-lab-test/{uuid.uuid4().hex}/reconnect"
    subscriber = clients(password_broker.url, security)
    subscriber.subscribe(topic, lambda t, p: received.put(p))
    subscriber.connect(timeout=5)
    password_broker.restart()
    deadline = time.monotonic() + 10
    while not subscriber.is_connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert subscriber.is_connected
    publisher = clients(password_broker.url, security)
    publisher.connect(timeout=5)
    publisher.publish_and_wait(topic, b"after the restart", timeout=5)
    assert received.get(timeout=5) == b"after the restart"


# -- what must be refused -----------------------------------------------------------------


def test_a_broker_certificate_from_another_ca_is_refused(
    start_mosquitto: Start, pki: LabPki, other_pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    impostor = start_mosquitto(
        settings=_listener(pki, server=other_pki) + "allow_anonymous true\n", scheme="mqtts"
    )
    client = clients(impostor.url, TransportSecurity(ca_file=pki.ca))
    with pytest.raises(BrokerError) as caught:
        client.connect(timeout=5)
    message = str(caught.value)
    assert "failed TLS certificate verification" in message
    assert "unable to get local issuer certificate" in message
    assert str(pki.ca) in message and "--tls-ca" in message
    assert not client.is_connected


def test_a_broker_certificate_for_another_host_is_refused(
    start_mosquitto: Start, tmp_path: Path, clients: Callable[..., MqttClient]
) -> None:
    """The right CA, but the certificate does not name the address the client dialled."""
    elsewhere = write_pki(tmp_path / "elsewhere", hosts=("broker.lab.example",))
    broker = start_mosquitto(
        settings=_listener(elsewhere) + "allow_anonymous true\n", scheme="mqtts"
    )
    client = clients(broker.url, TransportSecurity(ca_file=elsewhere.ca))
    with pytest.raises(BrokerError, match=r"mismatch, certificate is not valid for '127\.0\.0\.1'"):
        client.connect(timeout=5)


def test_the_system_cas_are_not_trusted(pki: LabPki) -> None:
    """Pinned: the context trusts the lab CA and nothing else."""
    context = TransportSecurity(ca_file=pki.ca).ssl_context()
    assert len(context.get_ca_certs()) == 1
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_a_wrong_password_is_refused_and_never_shown(
    password_broker: Any,
    pki: LabPki,
    clients: Callable[..., MqttClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "wrong-password-d41d8cd98f"
    security = TransportSecurity(ca_file=pki.ca, username="alice", password=wrong)
    client = clients(password_broker.url, security)
    # paho's own debug log included
    with caplog.at_level(logging.DEBUG), pytest.raises(BrokerError) as caught:
        client.connect(timeout=5)
    message = str(caught.value)
    assert "Not authorized" in message
    assert "user 'alice'" in message and "--password-file" in message
    for shown in (message, caplog.text, repr(security), str(security), repr(client)):
        assert wrong not in shown
    assert "password=<hidden>" in repr(security)


def test_anonymous_access_is_refused(
    password_broker: Any, pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    client = clients(password_broker.url, TransportSecurity(ca_file=pki.ca))
    with pytest.raises(BrokerError, match=r"Not authorized.*anonymously.*--username"):
        client.connect(timeout=5)


def test_a_client_without_a_certificate_is_refused_where_one_is_required(
    certificate_broker: Any, pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    client = clients(certificate_broker.url, TransportSecurity(ca_file=pki.ca))
    with pytest.raises(BrokerError, match=r"--tls-cert and --tls-key"):  # not the time-out's
        client.connect(timeout=60)


def test_a_client_certificate_from_another_ca_is_refused(
    certificate_broker: Any, pki: LabPki, other_pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    forged = other_pki.clients["alice"]
    security = TransportSecurity(ca_file=pki.ca, cert_file=forged.cert, key_file=forged.key)
    client = clients(certificate_broker.url, security)
    with pytest.raises(BrokerError, match=r"refused the client certificate .*alice\.crt"):
        client.connect(timeout=10)
    assert "u'alice'" not in certificate_broker.log_text()


def test_plaintext_to_the_tls_port_fails_cleanly(
    password_broker: Any, clients: Callable[..., MqttClient]
) -> None:
    url = password_broker.url.replace("mqtts://", "mqtt://")
    client = clients(url)
    with pytest.raises(BrokerError) as caught:
        client.connect(timeout=60)
    assert "closed the connection before accepting" in str(caught.value)  # not the time-out's
    assert f"use {password_broker.url} with --tls-ca" in str(caught.value)


def test_tls_to_a_plaintext_port_fails_cleanly(
    private_mosquitto: Any, pki: LabPki, clients: Callable[..., MqttClient]
) -> None:
    url = private_mosquitto.url.replace("mqtt://", "mqtts://")
    client = clients(url, TransportSecurity(ca_file=pki.ca))
    with pytest.raises(BrokerError, match=r"TLS handshake.*is port \d+ a TLS listener"):
        client.connect(timeout=5)


# -- insecure -----------------------------------------------------------------------------


def test_insecure_connects_to_any_certificate_and_warns_on_every_connect(
    start_mosquitto: Start,
    pki: LabPki,
    other_pki: LabPki,
    clients: Callable[..., MqttClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = start_mosquitto(
        settings=_listener(pki, server=other_pki) + "allow_anonymous true\n", scheme="mqtts"
    )
    security = TransportSecurity(insecure=True)
    with caplog.at_level(logging.WARNING, logger="genesis_lab.messaging"):
        for _ in range(2):
            clients(broker.url, security).connect(timeout=5)
    warnings = [r for r in caplog.records if "certificate verification is OFF" in r.message]
    assert len(warnings) == 2 and all(r.levelno == logging.WARNING for r in warnings)


# -- settings -----------------------------------------------------------------------------


def test_settings_come_from_the_environment_and_the_password_from_a_file(
    tmp_path: Path, pki: LabPki
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\nthe second line is not the password\n")
    secret.chmod(0o600)
    env = {
        "GENESIS_LAB_MQTT_CA": str(pki.ca),
        "GENESIS_LAB_MQTT_CERT": str(pki.clients["alice"].cert),
        "GENESIS_LAB_MQTT_KEY": str(pki.clients["alice"].key),
        "GENESIS_LAB_MQTT_USERNAME": "alice",
        "GENESIS_LAB_MQTT_PASSWORD_FILE": str(secret),
        "GENESIS_LAB_MQTT_PASSWORD": "from-the-environment",
    }
    loaded = TransportSecurity.load(environ=env)
    assert loaded.ca_file == pki.ca and loaded.cert_file == pki.clients["alice"].cert
    assert loaded.username == "alice" and loaded.password == "from-the-file"
    del env["GENESIS_LAB_MQTT_PASSWORD_FILE"]
    assert TransportSecurity.load(environ=env).password == "from-the-environment"
    # An explicit value wins over the environment.
    assert TransportSecurity.load(username="bob", environ=env).username == "bob"
    assert "from-the" not in repr(loaded) + loaded.describe()


def _encrypted_key(tmp_path: Path, pki: LabPki) -> Path:
    key = serialization.load_pem_private_key(pki.clients["alice"].key.read_bytes(), None)
    path = tmp_path / "encrypted.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("case", "setting", "message"),
    [
        ("missing-ca", "ca_file", "cannot use the CA certificate file .*nowhere.pem"),
        ("not-a-ca", "ca_file", "not a PEM certificate"),
        ("no-ca", "ca_file", "no CA certificate was given .*--tls-ca.*--insecure"),
        ("password-without-user", "username", "password was given without a username"),
        ("key-without-cert", "key_file", "key was given without its certificate"),
        ("foreign-key", "cert_file", "the key does not belong to the certificate"),
        ("encrypted-key", "key_file", "encrypted with a passphrase"),
        ("tls-on-plaintext", "url", "broker URL mqtt://.* is plaintext: use mqtts://"),
        ("empty-password-file", "password_file", "password file .* has an empty first line"),
        ("open-password-file", "password_file", "password file .* is open to others .*0644"),
        ("open-client-key", "key_file", "client key .* is open to others .*0640"),
        ("missing-password-file", "password_file", "cannot read the MQTT password file"),
    ],
)
def test_unusable_settings_are_named(
    tmp_path: Path, pki: LabPki, other_pki: LabPki, case: str, setting: str, message: str
) -> None:
    tls, plain = "mqtts://127.0.0.1:8883", "mqtt://127.0.0.1:1883"
    alice, other = pki.clients["alice"], other_pki.clients["alice"]
    empty = tmp_path / "empty"
    empty.write_text("\n")
    open_password = tmp_path / "open-password"
    open_password.write_text("secret\n")
    open_password.chmod(0o644)
    open_key = tmp_path / "open.key"
    open_key.write_bytes(alice.key.read_bytes())
    open_key.chmod(0o640)
    attempts: dict[str, Callable[[], Any]] = {
        "missing-ca": lambda: TransportSecurity(ca_file=tmp_path / "nowhere.pem").check(tls),
        "not-a-ca": lambda: TransportSecurity(ca_file=empty).check(tls),
        "no-ca": lambda: TransportSecurity(username="alice").check(tls),
        "password-without-user": lambda: TransportSecurity.load(
            environ={"GENESIS_LAB_MQTT_PASSWORD": "x"}
        ),
        "key-without-cert": lambda: TransportSecurity(key_file=alice.key),
        "foreign-key": lambda: TransportSecurity(
            ca_file=pki.ca, cert_file=alice.cert, key_file=other.key
        ).check(tls),
        "encrypted-key": lambda: TransportSecurity(
            ca_file=pki.ca, cert_file=alice.cert, key_file=_encrypted_key(tmp_path, pki)
        ).check(tls),
        "tls-on-plaintext": lambda: TransportSecurity(ca_file=pki.ca).check(plain),
        "empty-password-file": lambda: TransportSecurity.load(
            username="alice", password_file=empty.chmod(0o600) or empty, environ={}
        ),
        "open-password-file": lambda: TransportSecurity.load(
            username="alice", password_file=open_password, environ={}
        ),
        "open-client-key": lambda: TransportSecurity(
            ca_file=pki.ca, cert_file=alice.cert, key_file=open_key
        ).check(tls),
        "missing-password-file": lambda: TransportSecurity.load(
            username="alice", password_file=tmp_path / "nope", environ={}
        ),
    }
    with pytest.raises(TransportSecurityError, match=message) as caught:
        attempts[case]()
    assert caught.value.setting == setting


def test_the_client_checks_its_settings_before_connecting(pki: LabPki) -> None:
    with pytest.raises(TransportSecurityError, match="no CA certificate"):
        MqttClient("mqtts://127.0.0.1:8883", "x")
    with pytest.raises(TransportSecurityError, match="plaintext"):
        MqttClient("mqtt://127.0.0.1:1883", "x", security=TransportSecurity(ca_file=pki.ca))


def test_mqtt_urls_parse_as_before_and_mqtts_is_tls() -> None:
    from genesis_lab.spec import is_tls_broker_url, parse_broker_url

    assert parse_broker_url("mqtt://127.0.0.1:1883") == ("127.0.0.1", 1883)
    assert parse_broker_url("mqtts://broker.lab:8883") == ("broker.lab", 8883)
    assert not is_tls_broker_url("mqtt://h:1") and is_tls_broker_url("mqtts://h:1")
    for bad in ("mqtts://user:pw@h:8883", "ssl://h:8883", "mqtts://h"):
        with pytest.raises(ValueError, match="mqtts://HOST:PORT"):
            parse_broker_url(bad)


def test_a_campaign_file_cannot_carry_credentials(tmp_path: Path) -> None:
    from genesis_lab.errors import CampaignFileError
    from genesis_lab.spec import load_campaign

    campaign = Path(__file__).parents[2] / "campaigns" / "colour_mixing.yaml"
    spec = yaml.safe_load(campaign.read_text())
    spec["broker"] = "mqtts://127.0.0.1:8883"
    ok = tmp_path / "ok.yaml"
    ok.write_text(yaml.safe_dump(spec))
    assert load_campaign(ok).spec.broker == "mqtts://127.0.0.1:8883"
    spec["broker"] = "mqtts://alice:secret@127.0.0.1:8883"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))
    with pytest.raises(CampaignFileError, match="broker"):
        load_campaign(bad)


# -- a whole campaign over mqtts --------------------------------------------------------


def _campaign_file(tmp_path: Path, broker_url: str, station_id: str, budget: int = 3) -> Path:
    campaign = Path(__file__).parents[2] / "campaigns" / "colour_mixing.yaml"
    spec = yaml.safe_load(campaign.read_text())
    spec.update(name="tls-campaign", budget=budget, initial_design=budget, broker=broker_url)
    spec["station"]["id"] = station_id
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.slow
def test_a_campaign_runs_end_to_end_over_mqtts(
    start_mosquitto: Start, pki: LabPki, password_file: Path, tmp_path: Path
) -> None:
    """Orchestrator and worker each with a client certificate and a password (a broker that
    wants both), the colour bench behind the worker: every trial completes over TLS."""
    from genesis_lab.orchestration import CampaignRunner
    from genesis_lab.spec import load_campaign
    from genesis_lab.station import build_station
    from genesis_lab.store import CampaignRecord
    from genesis_lab.worker import Worker

    broker = start_mosquitto(
        settings=_listener(pki)
        + f"require_certificate true\npassword_file {password_file}\nallow_anonymous false\n",
        scheme="mqtts",
    )
    orchestrator, worker_cert = pki.clients["orchestrator"], pki.clients["worker-tls-bench"]
    as_orchestrator = TransportSecurity(
        ca_file=pki.ca,
        cert_file=orchestrator.cert,
        key_file=orchestrator.key,
        username="orchestrator",
        password="orch-pw-1",
    )
    as_worker = TransportSecurity(
        ca_file=pki.ca,
        cert_file=worker_cert.cert,
        key_file=worker_cert.key,
        username="worker-tls-bench",
        password="worker-pw-2",
    )
    loaded = load_campaign(_campaign_file(tmp_path, broker.url, "tls-bench"))
    station = build_station(loaded.spec.station)
    worker = Worker(station, "tls-bench", broker.url, security=as_worker)
    try:
        worker.start()
        with CampaignRecord(tmp_path / "record.sqlite") as record:
            runner = CampaignRunner(
                loaded.spec,
                spec_text=loaded.text,
                record=record,
                broker_url=broker.url,
                presence_timeout_s=10,
                poll_s=0.05,
                security=as_orchestrator,
            )
            result = runner.run()
            started = record.campaign_events(result.campaign_id)[0]
    finally:
        worker.stop()
        station.close()
    assert result.states == {"COMPLETED": 3}
    # The record names who started it as the broker knows them, and where they sat.
    assert started.event == "started" and started.actor.startswith("orchestrator (")
    assert worker.stats.completed == 3
    log = broker.log_text()
    assert "u'orchestrator'" in log and "u'worker-tls-bench'" in log
