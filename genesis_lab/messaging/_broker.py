"""An MQTT 3.1.1 broker (amqtt) running in a thread of its own, for one-process campaigns.

The broker owns a private asyncio event loop in a dedicated thread, so callers stay
synchronous. Nothing starts at import; ``start()`` starts, ``stop()`` joins. No thread,
task or executor worker outlives ``stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from genesis_lab.errors import BrokerError

if TYPE_CHECKING:
    from amqtt.broker import Broker
    from amqtt.contexts import BrokerConfig

    class _ClosingBroker(Broker):
        def close_connections(self) -> None: ...


__all__ = ["EmbeddedBroker"]

_log = logging.getLogger(__name__)

# Loggers of amqtt and of the state-machine library it uses; INFO on every connection.
_NOISY_LOGGERS = ("amqtt", "transitions")


def _quiet_noisy_loggers() -> None:
    """Raise amqtt's loggers to WARNING, unless the application has set them already."""
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _make_broker(config: BrokerConfig) -> _ClosingBroker:
    """An amqtt broker that closes every client connection it accepted, whatever happens."""
    from amqtt.broker import Broker

    class ClosingBroker(Broker):
        # amqtt 0.12 can finish with a connection without closing its transport: its
        # writer adapter marks itself closed, then awaits drain(), and amqtt cancels that
        # await while tearing the session down, so transport.close() is never reached. A
        # connection accepted just before shutdown may also have its handler task cancelled
        # before it ever ran. Either way the socket lingers until garbage collection
        # (ResourceWarning). So every writer is registered the moment the connection is
        # made (this method runs synchronously inside asyncio's connection_made) and closed
        # when its handler ends or, at the latest, by close_connections() after shutdown.
        _open_writers: set[asyncio.StreamWriter]

        def stream_connected(
            self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
        ) -> Coroutine[Any, Any, None]:
            self._open_writers.add(writer)
            return self._serve_connection(reader, writer, listener_name)

        async def _serve_connection(
            self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
        ) -> None:
            try:
                await super().stream_connected(reader, writer, listener_name=listener_name)
            finally:
                writer.close()
                self._open_writers.discard(writer)

        def close_connections(self) -> None:
            for writer in list(self._open_writers):
                writer.close()
            self._open_writers.clear()

    broker = ClosingBroker(config, loop=asyncio.get_running_loop())
    broker._open_writers = set()
    return broker


def _bound_port(broker: Broker) -> int:
    """The TCP port the broker's listener actually bound (resolves a requested port 0)."""
    # amqtt keeps no public handle on its listening sockets; `_servers` maps listener names
    # to wrappers of the `asyncio.Server` it created (amqtt 0.12).
    server = broker._servers["default"].instance
    sockets = getattr(server, "sockets", None)
    if not sockets:
        raise BrokerError("the embedded broker started but has no listening socket")
    return int(sockets[0].getsockname()[1])


class EmbeddedBroker:
    """An amqtt broker on ``host:port`` in a thread with its own event loop.

    ``port=0`` (the default) binds a free port chosen by the operating system; ``start()``
    returns the URL with the real port. Anonymous clients are allowed; no ``$SYS`` topics
    are published. Use it as a context manager, which starts it and yields the broker
    itself (read ``.url``), and stops it on exit::

        with EmbeddedBroker() as broker:
            client = MqttClient(broker.url, "orchestrator")

    amqtt speaks MQTT 3.1.1 only, and differs from Mosquitto in two ways that matter:
    it keeps no messages for an offline ``clean_session=False`` client when anonymous
    access is on (every session counts as anonymous), and it delivers one copy of a message
    per matching subscription of a client (overlapping filters mean duplicates). Nothing is
    persisted: retained messages vanish with the broker.

    A broker can be started once; make a new one to restart.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not 0 <= port < 65536:
            raise ValueError(f"port must be 0 (any free port) or 1..65535, got {port}")
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    @property
    def url(self) -> str:
        """``mqtt://HOST:PORT`` of the running broker."""
        if self._port is None:
            raise BrokerError("the embedded broker is not running; call start() first")
        return f"mqtt://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The TCP port the broker listens on."""
        if self._port is None:
            raise BrokerError("the embedded broker is not running; call start() first")
        return self._port

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and ``stop()``."""
        return self._port is not None and self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> str:
        """Start the broker, wait until it listens, and return its URL.

        Raises ``BrokerError`` if the port cannot be bound or the broker does not come up
        within ``timeout`` seconds.
        """
        if self._thread is not None:
            raise BrokerError(
                "this embedded broker was already started; create a new EmbeddedBroker",
                url=self.url if self._port is not None else None,
            )
        _quiet_noisy_loggers()
        # Import amqtt (heavy: websockets, transitions, pwdlib) here rather than inside the
        # broker's event loop, where it would block the loop; the import itself starts nothing.
        import amqtt.broker  # noqa: F401

        # Not yet bound to a loop (asyncio binds an Event on first wait), so stop() works even
        # before the broker's coroutine has reached its wait.
        self._stop_requested = asyncio.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"genesis-lab-broker-{self._host}:{self._requested_port}"
        )
        self._thread.start()
        where = f"{self._host}:{self._requested_port}"
        if not self._ready.wait(timeout):
            self._shutdown_thread(timeout)
            raise BrokerError(f"the embedded MQTT broker on {where} did not start in {timeout} s")
        if self._startup_error is not None:
            self._shutdown_thread(timeout)
            raise BrokerError(
                f"the embedded MQTT broker could not listen on {where}: {self._startup_error}; "
                "choose another port (0 picks a free one) or stop what uses it"
            ) from self._startup_error
        _log.info("embedded MQTT broker listening at %s", self.url)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the broker down, stop its event loop and join its thread. Idempotent."""
        if self._thread is None:
            return
        url = self.url if self._port is not None else None
        self._shutdown_thread(timeout)
        self._port = None
        if url is not None:
            _log.info("embedded MQTT broker at %s stopped", url)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not running"
        return f"EmbeddedBroker({where})"

    # -- the broker's thread --------------------------------------------------------------

    def _shutdown_thread(self, timeout: float) -> None:
        thread = self._thread
        if thread is None:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # RuntimeError: the loop closed in between, so the thread is finishing anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._request_stop)
        thread.join(timeout)
        if thread.is_alive():
            raise BrokerError(f"the embedded MQTT broker thread did not stop within {timeout} s")

    def _request_stop(self) -> None:
        if self._stop_requested is not None:
            self._stop_requested.set()

    def _run(self) -> None:
        # asyncio.Runner cancels leftover tasks, shuts down async generators and the default
        # executor (used by getaddrinfo when binding), then closes the loop.
        with asyncio.Runner() as runner:
            self._loop = runner.get_loop()
            try:
                runner.run(self._serve())
            except Exception:
                _log.exception("the embedded MQTT broker failed")
            finally:
                self._ready.set()

    async def _serve(self) -> None:
        from amqtt.contexts import BrokerConfig, ListenerConfig, ListenerType

        config = BrokerConfig(
            listeners={
                "default": ListenerConfig(
                    type=ListenerType.TCP, bind=f"{self._host}:{self._requested_port}"
                )
            },
            # Listing plugins explicitly keeps amqtt off the deprecated entry-point loading
            # and leaves out the $SYS plugin (and its psutil DeprecationWarning).
            plugins={"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        )
        broker = _make_broker(config)
        try:
            await broker.start()
        except Exception as exc:
            self._startup_error = exc
            self._ready.set()
            return
        try:
            port = _bound_port(broker)
        except Exception as exc:
            self._startup_error = exc
            self._ready.set()
            await broker.shutdown()
            return
        self._port = port
        self._ready.set()
        try:
            if self._stop_requested is not None:
                await self._stop_requested.wait()
        finally:
            await broker.shutdown()
            broker.close_connections()
            await asyncio.sleep(0.05)  # let the closed transports release their sockets
