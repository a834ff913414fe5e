"""The messaging layer on real sockets: embedded amqtt, the system Mosquitto, a private one."""

from __future__ import annotations

import queue
import selectors
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from genesis_lab.errors import BrokerError
from genesis_lab.messaging import EmbeddedBroker, MqttClient

Received = queue.Queue[tuple[str, bytes]]


def _topic(name: str) -> str:
    return f"genesis-lab-test/{uuid.uuid4().hex}/{name}"


def _cid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def _collector() -> tuple[Received, Callable[[str, bytes], None]]:
    received: Received = queue.Queue()
    return received, lambda topic, payload: received.put((topic, payload))


def _drain(received: Received, client: MqttClient, topic: str) -> list[tuple[str, bytes]]:
    """What ``received`` holds once ``client`` has handed on every message the broker sent
    it so far (a barrier on its subscription ``topic``: no waiting on the clock)."""
    client.barrier(topic)
    items = []
    while not received.empty():
        items.append(received.get_nowait())
    return items


@pytest.fixture(params=["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)])
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs against the embedded amqtt broker and the system Mosquitto."""
    fixture = "embedded_broker" if request.param == "embedded" else "system_mosquitto"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def connect(broker_url: str) -> Iterator[Callable[..., MqttClient]]:
    """Make connected clients on ``broker_url``; all are closed at teardown."""
    clients: list[MqttClient] = []

    def make(name: str, **kwargs: Any) -> MqttClient:
        client = MqttClient(broker_url, _cid(name), **kwargs)
        clients.append(client)
        client.connect(timeout=5.0)
        return client

    yield make
    for client in clients:
        client.close()


# -- the public face ----------------------------------------------------------------------


def test_import_starts_nothing_and_defers_amqtt() -> None:
    code = (
        "import sys, threading\n"
        "import genesis_lab.messaging\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert 'amqtt' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=30)


# -- embedded broker ----------------------------------------------------------------------


def test_embedded_broker_delivers_qos1_between_two_clients(embedded_broker: str) -> None:
    assert embedded_broker.startswith("mqtt://127.0.0.1:")
    assert not embedded_broker.endswith(":0")
    topic = _topic("qos1")
    received, handler = _collector()
    with (
        MqttClient(embedded_broker, _cid("sub")) as sub,
        MqttClient(embedded_broker, _cid("pub")) as pub,
    ):
        sub.subscribe(topic, handler, qos=1)
        info = pub.publish(topic, b"hello", qos=1)
        info.wait_for_publish(5.0)
        assert info.is_published()
        assert received.get(timeout=5.0) == (topic, b"hello")


def test_two_embedded_brokers_get_different_ports_and_stop_cleanly() -> None:
    with EmbeddedBroker() as first, EmbeddedBroker() as second:
        assert first.port != second.port
        for broker in (first, second):
            with MqttClient(broker.url, _cid("probe")) as client:
                client.publish_and_wait(_topic("probe"), b"x")
    assert not first.running and not second.running
    alive = [t.name for t in threading.enumerate() if t.name.startswith("genesis-lab-broker")]
    assert alive == []
    first.stop()  # idempotent


def test_embedded_broker_on_a_taken_port_raises(embedded_broker: str) -> None:
    port = int(embedded_broker.rsplit(":", 1)[1])
    with pytest.raises(BrokerError, match=str(port)):
        EmbeddedBroker(port=port).start()


def test_embedded_broker_url_before_start_raises() -> None:
    with pytest.raises(BrokerError, match="start"):
        _ = EmbeddedBroker().url


# -- on both brokers ----------------------------------------------------------------------


def test_publish_and_wait_then_receive(connect: Callable[..., MqttClient]) -> None:
    topic = _topic("roundtrip")
    received, handler = _collector()
    sub = connect("sub")
    sub.subscribe(topic, handler)
    connect("pub").publish_and_wait(topic, b"\x00\x01payload", timeout=5.0)
    assert received.get(timeout=5.0) == (topic, b"\x00\x01payload")


def test_every_matching_handler_gets_the_message(connect: Callable[..., MqttClient]) -> None:
    base = _topic("fanout")
    first, first_handler = _collector()
    second, second_handler = _collector()
    other, other_handler = _collector()
    sub = connect("sub")
    sub.subscribe(f"{base}/+/status", first_handler)
    sub.subscribe(f"{base}/+/status", second_handler)
    sub.subscribe(f"{base}/other", other_handler)
    connect("pub").publish_and_wait(f"{base}/s1/status", b"ok")
    assert first.get(timeout=5.0) == (f"{base}/s1/status", b"ok")
    assert second.get(timeout=5.0) == (f"{base}/s1/status", b"ok")
    assert _drain(other, sub, f"{base}/other") == []


def test_a_raising_handler_does_not_stop_later_messages(
    connect: Callable[..., MqttClient],
) -> None:
    topic = _topic("flaky")
    received, record = _collector()

    def flaky(topic_: str, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("handler bug")
        record(topic_, payload)

    sub = connect("sub")
    sub.subscribe(topic, flaky)
    pub = connect("pub")
    pub.publish_and_wait(topic, b"boom")
    pub.publish_and_wait(topic, b"after")
    assert received.get(timeout=5.0) == (topic, b"after")
    assert sub.handler_errors == 1
    assert sub.is_connected


def test_retained_message_reaches_a_late_subscriber(connect: Callable[..., MqttClient]) -> None:
    topic = _topic("retained")
    pub = connect("pub")
    pub.publish_and_wait(topic, b"last-known", retain=True)
    received, handler = _collector()
    connect("late").subscribe(topic, handler)
    assert received.get(timeout=5.0) == (topic, b"last-known")
    pub.publish_and_wait(topic, b"", retain=True)  # clear it (the system broker is shared)


_WILLED_CLIENT = """
import sys, time
from genesis_lab.messaging import MqttClient
client = MqttClient(sys.argv[1], sys.argv[2], will=(sys.argv[3], b"station lost"))
client.connect(timeout=5.0)
print("connected", flush=True)
time.sleep(60)
"""


def _wait_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError("the willed client did not connect")
    return proc.stdout.readline().strip()


def test_will_is_published_when_a_client_dies(
    broker_url: str, connect: Callable[..., MqttClient]
) -> None:
    will_topic = _topic("will")
    args = [sys.executable, "-c", _WILLED_CLIENT, broker_url, _cid("doomed"), will_topic]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert _wait_line(proc, 15.0) == "connected"
        finally:
            proc.kill()  # SIGKILL: the socket closes without DISCONNECT
    # The will is retained, so a subscriber arriving after the death still learns of it.
    received, handler = _collector()
    connect("watcher").subscribe(will_topic, handler)
    assert received.get(timeout=10.0) == (will_topic, b"station lost")
    connect("cleaner").publish_and_wait(will_topic, b"", retain=True)


def test_clean_close_does_not_publish_the_will(connect: Callable[..., MqttClient]) -> None:
    will_topic = _topic("will")
    received, handler = _collector()
    watcher = connect("watcher")
    watcher.subscribe(will_topic, handler)
    connect("station", will=(will_topic, b"station lost")).close()
    connect("marker").publish_and_wait(will_topic, b"marker")
    assert received.get(timeout=5.0) == (will_topic, b"marker")
    assert _drain(received, watcher, will_topic) == []


# -- failures -----------------------------------------------------------------------------


def test_connect_where_nothing_listens_fails_fast(unused_port: int) -> None:
    """Refused at once, with the reason: not a wait for the (generous) time-out."""
    url = f"mqtt://127.0.0.1:{unused_port}"
    client = MqttClient(url, _cid("lonely"))
    with pytest.raises(BrokerError, match=f"cannot reach the MQTT broker at {url}") as caught:
        client.connect(timeout=60.0)
    assert "did not accept the connection within" not in str(caught.value)
    assert caught.value.url == url
    client.close()


def test_connect_to_a_silent_server_times_out_without_connack() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"mqtt://127.0.0.1:{server.getsockname()[1]}"
        client = MqttClient(url, _cid("patient"))
        with pytest.raises(BrokerError, match="CONNACK"):
            client.connect(timeout=0.5)
        client.close()


def test_publish_and_wait_without_connection_raises(unused_port: int) -> None:
    client = MqttClient(f"mqtt://127.0.0.1:{unused_port}", _cid("offline"))
    with pytest.raises(BrokerError, match="not connected"):
        client.publish_and_wait(_topic("void"), b"x", timeout=0.2)
    client.close()
    client.close()  # idempotent


def test_bad_url_and_bad_filter_are_rejected(embedded_broker: str) -> None:
    with pytest.raises(BrokerError, match="mqtt://HOST:PORT"):
        MqttClient("tcp://somewhere", "x")
    with MqttClient(embedded_broker, _cid("strict")) as client:
        with pytest.raises(ValueError, match="#"):
            client.subscribe("a/#/b", lambda t, p: None)
        with pytest.raises(ValueError, match="qos"):
            client.subscribe("a/b", lambda t, p: None, qos=3)


# -- reconnect ----------------------------------------------------------------------------


@pytest.mark.mosquitto
def test_reconnects_and_resubscribes_after_broker_restart(private_mosquitto: Any) -> None:
    url = private_mosquitto.url
    topic = _topic("restart")
    received, handler = _collector()
    with MqttClient(url, _cid("sub")) as sub, MqttClient(url, _cid("pub")) as pub:
        sub.subscribe(topic, handler)
        pub.publish_and_wait(topic, b"before")
        assert received.get(timeout=5.0) == (topic, b"before")

        private_mosquitto.restart()  # SIGKILL, then a fresh broker on the same port

        deadline = time.monotonic() + 15.0
        while not (sub.is_connected and pub.is_connected):
            assert time.monotonic() < deadline, "clients did not reconnect"
            time.sleep(0.05)
        # The subscriber's SUBSCRIBE may still be in flight: publish until one gets through.
        while True:
            pub.publish_and_wait(topic, b"after", timeout=5.0)
            try:
                assert received.get(timeout=0.5) == (topic, b"after")
                break
            except queue.Empty:
                assert time.monotonic() < deadline, "subscription not re-made after restart"
