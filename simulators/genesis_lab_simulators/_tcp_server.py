"""A line-oriented TCP server for simulated instruments: one thread, real sockets, clean close.

:class:`LineServer` listens on a free port of 127.0.0.1 (or a given one) and hands each
line a client sends (newline-terminated, as SCPI over a raw socket is) to a *handler*: a
callable taking the line and returning the reply line, or ``None`` for no reply. Many
clients may be connected at once; one selector thread serves them all, so a handler must
never block (simulated instruments keep time by the clock instead of sleeping).

Link faults, for testing drivers against a flaky transport (:class:`LinkFaults`):

- ``drop_rate`` / ``drop_at``: instead of answering, close the client's connection (with a
  probability per line, or at the given line numbers, counted from 1 across the server);
- ``mute_rate`` / ``mute_at``: swallow a line without answering (the reply is lost; the
  client's read times out).

``close()`` wakes the thread, closes every socket and joins the thread, so no thread or
socket outlives the server. Importing this module starts nothing.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LineHandler", "LineServer", "LinkFaults", "visa_address"]

log = logging.getLogger(__name__)

#: Takes one received line (without its terminator); returns the reply line or None.
LineHandler = Callable[[str], str | None]

_MAX_LINE_BYTES = 64 * 1024


def visa_address(host: str, port: int) -> str:
    """The VISA resource name of a raw TCP socket instrument: ``TCPIP::HOST::PORT::SOCKET``."""
    return f"TCPIP::{host}::{port}::SOCKET"


@dataclass(frozen=True)
class LinkFaults:
    """Faults of the link itself, whatever instrument sits behind it.

    ``drop_rate`` and ``mute_rate`` are probabilities per received line (0..1); ``drop_at``
    and ``mute_at`` are line numbers (1-based, counted across the server) at which the
    fault happens for certain; ``seed`` fixes the random draws.
    """

    drop_rate: float = 0.0
    drop_at: Sequence[int] = field(default_factory=tuple)
    mute_rate: float = 0.0
    mute_at: Sequence[int] = field(default_factory=tuple)
    seed: int = 0

    def __post_init__(self) -> None:
        for label, rate in (("drop_rate", self.drop_rate), ("mute_rate", self.mute_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{label} must be within [0, 1], got {rate}")


class _Client:
    def __init__(self, sock: socket.socket, peer: str) -> None:
        self.sock = sock
        self.peer = peer
        self.buffer = bytearray()


class LineServer:
    """Serve ``handler`` on a TCP port of ``host``; a context manager (``start``/``close``).

    Attributes:
        host, port: where it listens (``port`` is chosen when started with ``port=0``).
        address: the VISA resource name (``TCPIP::host::port::SOCKET``).
        lines_received: lines received so far (faulted ones included).
        connections_accepted, connections_dropped: counts (drops by fault or ``drop_clients``).
    """

    def __init__(
        self,
        handler: LineHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: LinkFaults | None = None,
        name: str = "instrument",
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.name = name
        self.faults = faults or LinkFaults()
        self._rng = np.random.default_rng(self.faults.seed)
        self._lock = threading.Lock()
        self._selector: selectors.BaseSelector | None = None
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._clients: dict[socket.socket, _Client] = {}
        self._drop_requested = False
        self._closing = False
        self.lines_received = 0
        self.connections_accepted = 0
        self.connections_dropped = 0

    @property
    def address(self) -> str:
        return visa_address(self.host, self.port)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> LineServer:
        """Bind, listen and start the serving thread; returns ``self``."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} server already started on {self.address}")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(8)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._closing = False
        self._thread = threading.Thread(
            target=self._serve, name=f"{self.name}-server-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop serving: close every connection and the listener, and join the thread."""
        thread = self._thread
        if thread is None:
            return
        self._closing = True
        self._wake()
        thread.join(timeout_s)
        self._thread = None
        if thread.is_alive():  # pragma: no cover - the loop always wakes within a poll
            log.warning("%s server thread did not stop within %s s", self.name, timeout_s)
            return
        self._release()

    def __enter__(self) -> LineServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def drop_clients(self) -> None:
        """Close every client connection now (a dropped link); the listener stays open."""
        with self._lock:
            self._drop_requested = True
        self._wake()

    @property
    def client_count(self) -> int:
        with self._lock:
            return len(self._clients)

    # --------------------------------------------------------------------- serving
    def _wake(self) -> None:
        if self._wake_w is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")

    def _serve(self) -> None:
        selector = self._selector
        if selector is None:  # start() sets it before the thread runs
            return
        while not self._closing:
            for key, _ in selector.select(timeout=0.5):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    with contextlib.suppress(OSError, AttributeError):
                        self._wake_r.recv(4096)  # type: ignore[union-attr]
                else:
                    self._receive(key.data)
            with self._lock:
                drop, self._drop_requested = self._drop_requested, False
            if drop:
                for client in list(self._clients.values()):
                    self._disconnect(client, dropped=True)

    def _accept(self) -> None:
        if self._listener is None or self._selector is None:
            return
        try:
            sock, peer = self._listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        client = _Client(sock, f"{peer[0]}:{peer[1]}")
        with self._lock:
            self._clients[sock] = client
            self.connections_accepted += 1
        self._selector.register(sock, selectors.EVENT_READ, client)

    def _receive(self, client: _Client) -> None:
        try:
            chunk = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._disconnect(client)
            return
        client.buffer.extend(chunk)
        while b"\n" in client.buffer:
            raw, _, rest = bytes(client.buffer).partition(b"\n")
            client.buffer = bytearray(rest)
            if not self._line(client, raw.decode("utf-8", errors="replace").strip("\r")):
                return
        if len(client.buffer) > _MAX_LINE_BYTES:
            log.warning("%s: line from %s too long; dropping it", self.name, client.peer)
            self._disconnect(client)

    def _line(self, client: _Client, line: str) -> bool:
        """Handle one line; False if the connection was closed."""
        with self._lock:
            self.lines_received += 1
            number = self.lines_received
        faults = self.faults
        if number in faults.drop_at or (
            faults.drop_rate > 0.0 and self._rng.random() < faults.drop_rate
        ):
            self._disconnect(client, dropped=True)
            return False
        if number in faults.mute_at or (
            faults.mute_rate > 0.0 and self._rng.random() < faults.mute_rate
        ):
            return True
        try:
            reply = self.handler(line)
        except Exception:  # a simulator bug must not kill the server
            log.exception("%s: handler failed on %r", self.name, line)
            return True
        if reply is None:
            return True
        try:
            client.sock.settimeout(2.0)
            client.sock.sendall(reply.encode("utf-8") + b"\n")
            client.sock.setblocking(False)
        except OSError:
            self._disconnect(client)
            return False
        return True

    def _disconnect(self, client: _Client, *, dropped: bool = False) -> None:
        with self._lock:
            self._clients.pop(client.sock, None)
            if dropped:
                self.connections_dropped += 1
        if self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(client.sock)
        client.sock.close()

    def _release(self) -> None:
        for client in list(self._clients.values()):
            self._disconnect(client)
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._listener = self._wake_r = self._wake_w = None
