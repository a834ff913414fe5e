"""Shared fixtures: fail any test that leaks a thread; a RunEngine that is shut down after use."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bluesky import RunEngine


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running once it has finished (after a short grace)."""
    before = _live_threads()
    yield
    deadline = time.monotonic() + 5.0
    leaked = _live_threads() - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = _live_threads() - before
    if leaked:
        names = ", ".join(sorted(t.name for t in leaked))
        pytest.fail(f"test leaked threads: {names}")


@pytest.fixture(autouse=True)
def private_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Workers started by a test keep their outbox in a directory of that test alone."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("GENESIS_LAB_STATE_DIR", str(state))
    return state


@pytest.fixture
def run_engine() -> Iterator[RunEngine]:
    """A real Bluesky RunEngine on its own event loop, stopped and joined afterwards."""
    loop = asyncio.new_event_loop()
    engine = RunEngine(loop=loop, context_managers=[])
    yield engine
    loop.call_soon_threadsafe(loop.stop)
    engine._th.join(timeout=5)
    loop.close()


# -- MQTT brokers for tests: embedded amqtt, the system Mosquitto, a private Mosquitto --------

SYSTEM_MOSQUITTO_URL = "mqtt://127.0.0.1:1883"


def _free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


class PrivateMosquitto:
    """A ``mosquitto`` subprocess on a free port of 127.0.0.1 that a test may kill and restart.

    ``url`` stays the same across ``restart()``; ``kill()`` is SIGKILL (no goodbye to clients).
    ``settings`` are the configuration lines after the ``listener`` line (TLS files, a
    password file, an ACL, ``allow_anonymous``); ``scheme`` is the URL's (``mqtts`` for TLS).
    ``config`` is instead a whole configuration file, used as it is written (one that
    ``genesis-lab security init --port PORT`` made): its listener must be on ``port``.
    """

    def __init__(
        self,
        workdir: Path,
        binary: str,
        *,
        settings: str = "allow_anonymous true\n",
        scheme: str = "mqtt",
        config: Path | None = None,
        port: int | None = None,
    ) -> None:
        if (config is None) != (port is None):
            raise ValueError("give both config and the port of its listener, or neither")
        self.port = _free_port() if port is None else port
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._binary = binary
        self._config = workdir / "mosquitto.conf"
        # Started as root, mosquitto drops to the 'mosquitto' user, which cannot read the
        # test's files (keys, password file, ACL); stay the user who runs the tests.
        user = pwd.getpwuid(os.geteuid()).pw_name
        self._config.write_text(
            f"user {user}\nlistener {self.port} 127.0.0.1\n{settings.rstrip()}\npersistence false\n"
        )
        self._log_path = workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        if config is not None:
            self._config = config

    def start(self, timeout: float = 5.0) -> None:
        """Start it and wait until it says it runs. Its own word, not an open port: a port
        picked free may be taken by another test's broker before this one binds it, and
        this broker then exits while the port answers."""
        logged = self._log_path.stat().st_size if self._log_path.exists() else 0
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [self._binary, "-c", str(self._config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not (self._says_it_runs(logged) and _port_open(self.port)):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                log_text = self._log_path.read_text(errors="replace")
                raise RuntimeError(f"private mosquitto did not start on {self.port}:\n{log_text}")
            time.sleep(0.02)

    def _says_it_runs(self, since: int) -> bool:
        with self._log_path.open("rb") as log:
            log.seek(since)
            return b" running" in log.read()

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=5)
            self._proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def reload(self) -> None:
        """SIGHUP: the broker reads its ACL, password file and revocation list again,
        keeping its clients."""
        if self._proc is None:
            raise RuntimeError("the broker is not running")
        self._proc.send_signal(signal.SIGHUP)

    def log_text(self) -> str:
        """What the broker logged so far (all its runs)."""
        return self._log_path.read_text(errors="replace")


@pytest.fixture
def unused_port() -> int:
    """A port of 127.0.0.1 where nothing listens."""
    return _free_port()


@pytest.fixture
def embedded_broker() -> Iterator[str]:
    """URL of an embedded amqtt broker on a free port, stopped (thread joined) afterwards."""
    from genesis_lab.messaging import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker.url


@pytest.fixture
def system_mosquitto() -> str:
    """URL of the Mosquitto that runs on this machine at 127.0.0.1:1883 (fails if absent).

    It is shared: use unique topic names (a uuid) and clear retained messages you leave.
    """
    if not _port_open(1883):
        pytest.fail(
            "no MQTT broker listens on 127.0.0.1:1883; start one with "
            "'mosquitto -d' (.ci/run does this) and run the tests again"
        )
    return SYSTEM_MOSQUITTO_URL


def _mosquitto_binary() -> str:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.fail("the mosquitto binary is not installed; install Debian's 'mosquitto' package")
    return binary


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    """A mosquitto subprocess of this test alone; always killed at teardown."""
    broker = PrivateMosquitto(tmp_path, _mosquitto_binary())
    try:
        broker.start()
        yield broker
    finally:
        broker.kill()


@pytest.fixture
def start_mosquitto(tmp_path: Path) -> Iterator[Callable[..., PrivateMosquitto]]:
    """Start mosquitto subprocesses of this test alone, each configured by the test:
    ``start_mosquitto(settings="cafile ...\\n", scheme="mqtts")``, or with a whole file,
    ``start_mosquitto(config=PATH, port=PORT, scheme="mqtts")`` (see
    :class:`PrivateMosquitto`); every one is killed at teardown."""
    binary = _mosquitto_binary()
    started: list[PrivateMosquitto] = []

    def start(
        *,
        settings: str = "allow_anonymous true\n",
        scheme: str = "mqtt",
        config: Path | None = None,
        port: int | None = None,
    ) -> PrivateMosquitto:
        workdir = tmp_path / f"mosquitto-{len(started)}"
        workdir.mkdir()
        broker = PrivateMosquitto(
            workdir, binary, settings=settings, scheme=scheme, config=config, port=port
        )
        started.append(broker)
        broker.start()
        return broker

    try:
        yield start
    finally:
        for broker in started:
            broker.kill()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests go first: ``long`` (the ten-minute outage scenario), then ``slow``.
    On parallel workers (``make test`` runs ``pytest -n 4``) one worker runs the scenario
    while the others take the rest, and no long test is left to the end alone."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("long") is None,
            item.get_closest_marker("slow") is None,
        )
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what exists once every test module is imported (torch, botorch, bluesky...):
    the collection after each test then scans only what tests made, in microseconds
    instead of about half a second, and still finds every object a test left unclosed."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def no_unclosed_resources() -> Iterator[None]:
    """Collect garbage after each test, so an unclosed socket or file fails *that* test.

    Warnings are errors, so the ResourceWarning of an object finalised unclosed is reported
    by pytest as an error of the test during which it was collected.
    """
    yield
    gc.collect()
