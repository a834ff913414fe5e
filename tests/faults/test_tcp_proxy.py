"""The fault-injection TCP proxy on real sockets: an echo server in the test, and Mosquitto."""

from __future__ import annotations

import contextlib
import queue
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from genesis_lab.messaging import MqttClient

from .tcp_proxy import TcpProxy


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(10.0)
        with contextlib.suppress(OSError):  # a reset from the proxy ends the connection
            while data := self.request.recv(65536):
                self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    block_on_close = True  # server_close() joins the handler threads


@pytest.fixture
def echo_port() -> Iterator[int]:
    """Port of an echo server on 127.0.0.1; stopped and its threads joined afterwards."""
    server = _EchoServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="echo-server")
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5.0)


@pytest.fixture
def proxy(echo_port: int) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", echo_port) as running:
        yield running


@contextlib.contextmanager
def _connect(port: int, timeout: float = 5.0) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        yield sock


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {size} bytes")
        data.extend(chunk)
    return bytes(data)


def _roundtrip(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(payload)
    assert _recv_exactly(sock, len(payload)) == payload


def _assert_closed_by_peer(sock: socket.socket) -> None:
    """The peer closed ``sock``: the next read gets a reset or EOF, never data."""
    try:
        data = sock.recv(1024)
    except ConnectionResetError:
        return
    assert data == b""


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _proxy_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("tcp-proxy")]


# -- forwarding ---------------------------------------------------------------------------


def test_bytes_go_through_both_ways(proxy: TcpProxy) -> None:
    assert proxy.port != 0
    assert proxy.url == f"mqtt://127.0.0.1:{proxy.port}"
    with _connect(proxy.port) as sock:
        _roundtrip(sock, b"hello")
        assert proxy.connections == 1
        assert _wait_for(lambda: proxy.bytes_forwarded == 10, 5.0)  # counted after the send
        payload = bytes(range(256)) * 4096  # 1 MiB, in chunks, checks order and buffering
        for start in range(0, len(payload), 65536):
            _roundtrip(sock, payload[start : start + 65536])
        assert _wait_for(lambda: proxy.bytes_forwarded == 10 + 2 * len(payload), 5.0)


def test_a_half_close_is_passed_on_and_the_pair_ends(proxy: TcpProxy) -> None:
    with _connect(proxy.port) as sock:
        _roundtrip(sock, b"bye")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1024) == b""  # the echo server saw EOF and closed
    assert _wait_for(lambda: proxy.connections == 0, 5.0)


def test_an_unreachable_upstream_closes_the_client(unused_port: int) -> None:
    with TcpProxy("127.0.0.1", unused_port) as proxy:
        # The reset can come so fast that connect() itself reports it.
        with contextlib.suppress(ConnectionResetError), _connect(proxy.port) as sock:
            _assert_closed_by_peer(sock)
        assert proxy.connections == 0


# -- faults -------------------------------------------------------------------------------


def test_drop_resets_every_pair_and_new_connections_still_work(proxy: TcpProxy) -> None:
    with _connect(proxy.port) as first, _connect(proxy.port) as second:
        _roundtrip(first, b"one")
        _roundtrip(second, b"two")
        assert proxy.drop() == 2
        assert proxy.connections == 0
        _assert_closed_by_peer(first)
        _assert_closed_by_peer(second)
    with _connect(proxy.port) as third:
        _roundtrip(third, b"three")
        assert proxy.connections == 1
    assert proxy.drop() <= 1  # the pair may already have ended after the close


def test_stall_holds_bytes_and_resume_delivers_them_in_order(proxy: TcpProxy) -> None:
    with _connect(proxy.port) as old:
        _roundtrip(old, b"before")
        proxy.stall()
        with _connect(proxy.port) as new:  # accepted while stalled, but stalled too
            for sock in (old, new):
                for piece in (b"one-", b"two-", b"three"):
                    sock.sendall(piece)
                    time.sleep(0.02)
                sock.settimeout(0.5)
                with pytest.raises(TimeoutError):
                    sock.recv(1024)
            assert proxy.connections == 2
            forwarded = proxy.bytes_forwarded
            proxy.resume()
            for sock in (old, new):
                sock.settimeout(5.0)
                assert _recv_exactly(sock, 13) == b"one-two-three"
            assert _wait_for(lambda: proxy.bytes_forwarded == forwarded + 4 * 13, 5.0)
            _roundtrip(new, b"after")


def test_refuse_closes_new_connections_until_turned_off(proxy: TcpProxy) -> None:
    with _connect(proxy.port) as old:
        # A connection is refused when the proxy accepts it, which may come after connect()
        # returns: a round trip makes sure this one was accepted before refusing starts.
        _roundtrip(old, b"accepted")
        proxy.refuse(True)
        with _connect(proxy.port) as refused:
            _assert_closed_by_peer(refused)
        _roundtrip(old, b"still up")  # connections accepted before are untouched
        proxy.refuse(False)
        with _connect(proxy.port) as accepted:
            _roundtrip(accepted, b"back")


def test_stop_is_idempotent_closes_connections_and_leaves_no_thread(echo_port: int) -> None:
    proxy = TcpProxy("127.0.0.1", echo_port).start()
    assert _proxy_threads() == [f"tcp-proxy-{proxy.port}"]
    with _connect(proxy.port) as sock:
        _roundtrip(sock, b"x")
        proxy.stop()
        _assert_closed_by_peer(sock)
    proxy.stop()
    assert _proxy_threads() == []
    assert proxy.connections == 0
    assert proxy.drop() == 0
    with pytest.raises(RuntimeError, match="once"):
        proxy.start()
    TcpProxy("127.0.0.1", echo_port).stop()  # never started: nothing to do


# -- through a real broker ----------------------------------------------------------------


@pytest.mark.mosquitto
def test_mqtt_client_reconnects_through_the_proxy_after_a_drop(system_mosquitto: str) -> None:
    host, port = system_mosquitto.removeprefix("mqtt://").rsplit(":", 1)
    topic = f"genesis-lab-test/{uuid.uuid4().hex}/tcp-proxy"
    received: queue.Queue[bytes] = queue.Queue()
    with TcpProxy(host, int(port)) as proxy:
        client = MqttClient(proxy.url, client_id=f"tcp-proxy-{uuid.uuid4().hex[:8]}")
        try:
            client.connect(timeout=5.0)
            client.subscribe(topic, lambda _topic, payload: received.put(payload))
            client.publish_and_wait(topic, b"first", timeout=5.0)
            assert received.get(timeout=5.0) == b"first"

            assert proxy.drop() == 1
            assert _wait_for(lambda: not client.is_connected, 5.0)
            assert _wait_for(lambda: client.is_connected, 10.0)
            assert proxy.connections == 1

            client.publish_and_wait(topic, b"second", timeout=5.0)
            while (payload := received.get(timeout=5.0)) != b"second":
                assert payload == b"first"  # at least once: a resend may come first
        finally:
            client.close()
