"""A TCP proxy that puts faults between a client and a server, for fault-injection tests.

One selector thread (``tcp-proxy-PORT``) accepts connections on 127.0.0.1, opens one upstream
connection per client and copies bytes both ways. Control calls (``drop``, ``stall``,
``resume``) run on that thread, so each has taken effect when it returns.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Self

_CHUNK = 65536
_MAX_BUFFERED = 1 << 20  # bytes held per direction before the proxy stops reading
_CONNECT_TIMEOUT_S = 5.0
_CALL_TIMEOUT_S = 10.0
_JOIN_TIMEOUT_S = 10.0
_READ, _WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with an RST instead of a FIN (SO_LINGER on with a zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Pair:
    """A client connection and its upstream connection; index 0 is the client."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.socks = (client, upstream)
        self.out = (bytearray(), bytearray())  # out[i]: bytes waiting to be sent to socks[i]
        self.eof = [False, False]  # socks[i] has sent its FIN
        self.shut = [False, False]  # that FIN was passed on to socks[i]
        self.events = [0, 0]  # what socks[i] is registered for (0: not registered)


class TcpProxy:
    """Forwards every TCP connection made to 127.0.0.1:<port> to upstream (host, port)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self.port = 0
        """The listening port on 127.0.0.1 (a free one, chosen by ``start()``)."""
        self._lock = threading.Lock()
        self._calls: list[tuple[Callable[[], Any], Future[Any]]] = []
        self._pairs: set[_Pair] = set()
        self._bytes_forwarded = 0
        self._stalled = self._refusing = self._stopped = self._loop_done = False
        self._thread: threading.Thread | None = None
        self._selector = selectors.DefaultSelector()
        self._socks: list[socket.socket] = []  # listener, wake-up reader, wake-up writer

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """Live connection pairs (client and upstream both open)."""
        return len(self._pairs)

    @property
    def bytes_forwarded(self) -> int:
        """Bytes delivered so far, both directions together."""
        return self._bytes_forwarded

    def start(self) -> Self:
        with self._lock:
            if self._thread is not None or self._stopped:
                raise RuntimeError("a TcpProxy starts once; make a new one")
            listener = socket.create_server(("127.0.0.1", 0))
            wake_r, wake_w = socket.socketpair()
            self._socks = [listener, wake_r, wake_w]
            for sock in self._socks:
                sock.setblocking(False)
            self.port = int(listener.getsockname()[1])
            self._selector.register(listener, _READ, "accept")
            self._selector.register(wake_r, _READ, "wake")
            self._thread = threading.Thread(target=self._run, name=f"tcp-proxy-{self.port}")
            self._thread.start()
        return self

    def drop(self) -> int:
        """Reset every current connection pair, both sides; return how many there were."""
        return int(self._call(self._drop_all))

    def stall(self) -> None:
        """Stop forwarding, both ways and on new connections too, until ``resume()``."""
        self._call(lambda: self._set_stalled(True))

    def resume(self) -> None:
        """Forward again; the bytes held during the stall are delivered, in order."""
        self._call(lambda: self._set_stalled(False))

    def refuse(self, on: bool) -> None:
        """While on, close each new connection as soon as it is accepted (broker looks down).

        A connection counts as new until the proxy thread accepts it, which may come just
        after the client's ``connect()`` returns.
        """
        self._refusing = on

    def stop(self) -> None:
        """Close every connection and the listener, and join the thread. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        self._wake()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                raise RuntimeError(f"the proxy thread {thread.name} did not stop")
        with self._lock:
            for sock in self._socks:
                sock.close()
            self._selector.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals: everything below runs on the proxy thread ------------------------------

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the proxy thread (directly if it is not running) and return its result."""
        future: Future[Any] = Future()
        with self._lock:
            if self._thread is None or self._loop_done:
                return fn()
            self._calls.append((fn, future))
        self._wake()
        return future.result(_CALL_TIMEOUT_S)

    def _run_calls(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for fn, future in calls:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def _wake(self) -> None:
        if len(self._socks) == 3:
            with contextlib.suppress(OSError):  # full (already woken) or closed
                self._socks[2].send(b"\0")

    def _run(self) -> None:
        try:
            while not self._stopped:
                for key, mask in self._selector.select():
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._socks[1].recv(4096)
                    elif key.data[0] in self._pairs:  # not closed earlier in this batch
                        pair, i = key.data
                        self._service(pair, i, mask)
                self._run_calls()  # after the batch, so no stale event acts after a call
        finally:
            for pair in list(self._pairs):
                self._close_pair(pair, abort=True)
            with self._lock:
                self._loop_done = True
            self._run_calls()

    def _accept(self) -> None:
        try:
            client, _ = self._socks[0].accept()
        except OSError:
            return
        if self._refusing:
            client.close()
            return
        try:
            upstream = socket.create_connection(self._upstream, _CONNECT_TIMEOUT_S)
        except OSError:
            _reset(client)
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = _Pair(client, upstream)
        self._pairs.add(pair)
        self._update(pair)

    def _service(self, pair: _Pair, i: int, mask: int) -> None:
        sock, peer = pair.socks[i], pair.socks[1 - i]
        try:
            if mask & _READ:
                data = sock.recv(_CHUNK)
                if data:
                    pair.out[1 - i].extend(data)
                else:
                    pair.eof[i] = True
            if mask & _WRITE and pair.out[i]:
                sent = sock.send(pair.out[i])
                del pair.out[i][:sent]
                self._bytes_forwarded += sent
            for j, dest in ((i, sock), (1 - i, peer)):
                if pair.eof[1 - j] and not pair.out[j] and not pair.shut[j]:
                    dest.shutdown(socket.SHUT_WR)
                    pair.shut[j] = True
        except BlockingIOError:
            pass
        except OSError:  # reset, broken pipe: pass the reset on to the other side
            self._close_pair(pair, abort=True)
            return
        if all(pair.shut):
            self._close_pair(pair, abort=False)
        else:
            self._update(pair)

    def _drop_all(self) -> int:
        pairs = list(self._pairs)
        for pair in pairs:
            self._close_pair(pair, abort=True)
        return len(pairs)

    def _set_stalled(self, stalled: bool) -> None:
        self._stalled = stalled
        for pair in self._pairs:
            self._update(pair)

    def _update(self, pair: _Pair) -> None:
        """Register each socket of ``pair`` for what it should wait for now."""
        for i, sock in enumerate(pair.socks):
            want = 0
            if not self._stalled:
                if not pair.eof[i] and len(pair.out[1 - i]) < _MAX_BUFFERED:
                    want |= _READ
                if pair.out[i]:
                    want |= _WRITE
            have, pair.events[i] = pair.events[i], want
            if want == have:
                continue
            if not have:
                self._selector.register(sock, want, (pair, i))
            elif not want:
                self._selector.unregister(sock)
            else:
                self._selector.modify(sock, want, (pair, i))

    def _close_pair(self, pair: _Pair, *, abort: bool) -> None:
        if pair not in self._pairs:
            return
        self._pairs.remove(pair)
        for i, sock in enumerate(pair.socks):
            if pair.events[i]:
                self._selector.unregister(sock)
            if abort:
                _reset(sock)
            else:
                sock.close()
