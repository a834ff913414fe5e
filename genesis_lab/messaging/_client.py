"""A thin, thread-safe wrapper over the paho-mqtt 2 client, speaking MQTT 3.1.1.

paho runs its network loop in a thread of its own (``loop_start``); handlers are called
on that thread. The wrapper adds what every component needs and paho leaves to the
caller: a blocking connect that reports why it failed, subscriptions that are re-made
on every reconnect and wait for their SUBACK, fan-out of one message to every matching
handler, handlers that cannot kill the network thread, and a close that joins the thread.

Over ``mqtts://`` it speaks TLS (1.2 or newer) with the settings of a
:class:`~genesis_lab.messaging.TransportSecurity` (pinned CA, client certificate,
username and password), and says plainly why a secured broker refused it.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from paho.mqtt.client import (
    Client,
    ConnectFlags,
    DisconnectFlags,
    MQTTMessage,
    MQTTMessageInfo,
    topic_matches_sub,
)
from paho.mqtt.enums import CallbackAPIVersion, LogLevel, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from genesis_lab.errors import BrokerError
from genesis_lab.messaging._security import TransportSecurity
from genesis_lab.spec import is_tls_broker_url, parse_broker_url

__all__ = ["MessageHandler", "MqttClient", "discard_session"]

_log = logging.getLogger(__name__)
_paho_log = logging.getLogger(f"{__name__}.paho")

_PAHO_LEVELS = {
    LogLevel.MQTT_LOG_DEBUG: logging.DEBUG,
    LogLevel.MQTT_LOG_INFO: logging.INFO,
    LogLevel.MQTT_LOG_NOTICE: logging.INFO,
    LogLevel.MQTT_LOG_WARNING: logging.WARNING,
    LogLevel.MQTT_LOG_ERR: logging.ERROR,
}

MessageHandler = Callable[[str, bytes], None]
"""``handler(topic, payload)``, called on the client's network thread."""

_REFUSED_CREDENTIALS = ("Bad user name or password", "Not authorized")
_SOCKET_ERROR_LOG = "failed to receive on socket: "
_DROPPED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)

_RECONNECT_MIN_DELAY_S = 1
_RECONNECT_MAX_DELAY_S = 30
_JOIN_TIMEOUT_S = 10.0


def _check_topic_filter(topic: str) -> None:
    """Raise ``ValueError`` unless ``topic`` is a valid MQTT subscription filter."""
    if not topic:
        raise ValueError("an MQTT topic filter must not be empty")
    if "\x00" in topic:
        raise ValueError(f"an MQTT topic filter must not contain NUL: {topic!r}")
    if len(topic.encode("utf-8")) > 65535:
        raise ValueError("an MQTT topic filter must be at most 65535 bytes")
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError(f"'#' must be a whole level and the last one, in {topic!r}")
        if "+" in level and level != "+":
            raise ValueError(f"'+' must be a whole level, in {topic!r}")


@dataclass
class _Subscription:
    qos: int
    handlers: list[MessageHandler] = field(default_factory=list)


class MqttClient:
    """One MQTT 3.1.1 connection with automatic reconnect.

    ``url`` is ``mqtt://HOST:PORT``, or ``mqtts://HOST:PORT`` for TLS with ``security``
    saying how to verify the broker (``security`` also carries a client certificate and
    MQTT credentials, which a plaintext URL may use too). ``will`` is ``(topic, payload)``:
    the broker publishes it (QoS 1, retained) if this client vanishes without a clean
    ``close()``.
    ``clean_session=False`` asks the broker to keep subscriptions and queued QoS 1
    messages while the client is away. ``keepalive`` is in seconds.

    Handlers run on the client's network thread: keep them short and hand work off (a
    queue). Delivery is at least once; a handler may see a message twice (a QoS 1 resend,
    or amqtt's one copy per matching filter when a client's filters overlap).

    Used as a context manager, the client connects on entry (unless already connected)
    and closes on exit. Works with any broker that speaks MQTT 3.1.1 (amqtt, Mosquitto,
    EMQX); it speaks 3.1.1 to MQTT 5 brokers too.
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        will: tuple[str, bytes] | None = None,
        clean_session: bool = True,
        keepalive: int = 30,
        security: TransportSecurity | None = None,
    ) -> None:
        try:
            self._host, self._port = parse_broker_url(url)
        except ValueError as exc:
            raise BrokerError(str(exc), url=url) from exc
        if keepalive < 0:
            raise ValueError(f"keepalive must be >= 0 seconds, got {keepalive}")
        self._security = security or TransportSecurity()
        self._security.check(url)  # TransportSecurityError (a ValueError) if they do not fit
        self._tls = is_tls_broker_url(url)
        self._url = url
        self._client_id = client_id
        self._keepalive = keepalive

        self.handler_errors = 0
        """How many times a handler raised (each was logged and skipped)."""

        # Guards every field below; waiters block on it until the network thread reports.
        self._cond = threading.Condition()
        self._subscriptions: dict[str, _Subscription] = {}
        self._acked: set[str] = set()  # filters with a SUBACK on the current connection
        self._barriers: set[int] = set()  # mids of barrier SUBSCRIBEs awaiting their SUBACK
        self._refused: dict[str, str] = {}  # filter -> reason the broker gave
        self._pending_subacks: dict[int, list[str]] = {}  # SUBSCRIBE mid -> filters
        self._connected = False
        self._connack: ReasonCode | None = None
        # Why the broker closed the connection before its CONNACK, while connect() waits.
        self._early_close: str | None = None
        self._socket_error: str | None = None  # the last receive error paho logged
        self._thread: threading.Thread | None = None
        self._closing = False
        self._closed = False
        self._reconnect_hooks: list[Callable[[], None]] = []
        self._connections = 0  # successful CONNACKs so far

        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=True,
        )
        client.on_log = self._on_log
        client.reconnect_delay_set(_RECONNECT_MIN_DELAY_S, _RECONNECT_MAX_DELAY_S)
        if will is not None:
            will_topic, will_payload = will
            client.will_set(will_topic, will_payload, qos=1, retain=True)
        if self._tls:
            client.tls_set_context(self._security.ssl_context())
        if self._security.username is not None:
            client.username_pw_set(self._security.username, self._security.password)
        client.on_connect = self._on_connect
        client.on_socket_open = self._on_socket_open
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    # -- public API -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The broker's URL, ``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT``."""
        return self._url

    @property
    def security(self) -> TransportSecurity:
        """The TLS and credential settings this client connects with."""
        return self._security

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def is_connected(self) -> bool:
        """True while a connection is up (CONNACK received, not yet lost)."""
        with self._cond:
            return self._connected

    def connect(self, timeout: float = 10.0) -> None:
        """Connect and block until the broker accepts (CONNACK), within ``timeout`` seconds,
        and has acknowledged the subscriptions registered before (their SUBACKs).

        Starts the network thread; from then on a lost connection is re-established
        automatically and every subscription is re-made. Raises ``BrokerError`` naming the
        URL and the reason if the broker cannot be reached, refuses, or does not answer.
        Calling it again while connected does nothing.
        """
        with self._cond:
            if self._closed:
                raise BrokerError(
                    f"MQTT client {self._client_id!r} is closed; make a new one", url=self._url
                )
            if self._thread is not None:
                return
            self._connack = None
            self._early_close = None
            self._socket_error = None
            self._closing = False
        self._warn_about_security()
        self._client.connect_timeout = timeout
        try:
            # Blocking TCP connect, TLS handshake and CONNECT packet: a refused or unreachable
            # broker, or one whose certificate does not verify, fails here with the reason,
            # instead of retrying in the background.
            self._client.connect(self._host, self._port, keepalive=self._keepalive)
        except ssl.SSLCertVerificationError as exc:
            raise BrokerError(self._verification_failed(exc), url=self._url) from exc
        except ssl.SSLError as exc:
            raise BrokerError(self._handshake_failed(exc), url=self._url) from exc
        except OSError as exc:
            if self._tls and isinstance(exc, _DROPPED):
                # Connected, then dropped before the handshake ended: a plaintext listener.
                raise BrokerError(
                    f"the MQTT broker at {self._url} dropped the connection during the TLS "
                    f"handshake ({exc}): is port {self._port} a TLS listener? A plaintext "
                    f"listener takes mqtt://{self._host}:{self._port}.",
                    url=self._url,
                ) from exc
            raise BrokerError(
                f"cannot reach the MQTT broker at {self._url}: {exc}. "
                "Check that the broker is running and the URL is right.",
                url=self._url,
            ) from exc
        self._client.loop_start()
        # paho forgets its thread when the loop ends on its own (after a disconnect), which
        # makes loop_stop() return without joining; keep a handle to join it ourselves.
        self._thread = self._client._thread
        with self._cond:
            answered = self._cond.wait_for(
                lambda: self._connack is not None or self._early_close is not None, timeout
            )
            connack, early_close = self._connack, self._early_close
        if connack is None and early_close is not None:
            self._stop_network()
            raise BrokerError(self._closed_before_connack(early_close), url=self._url)
        if not answered or connack is None:
            self._stop_network()
            raise BrokerError(
                f"the MQTT broker at {self._url} did not accept the connection within "
                f"{timeout} s (no CONNACK); is it an MQTT broker, and is it overloaded?",
                url=self._url,
            )
        if connack.is_failure:
            self._stop_network()
            raise BrokerError(self._refusal(connack), url=self._url)
        self._wait_for_initial_subacks(timeout)

    # -- why a connection failed, and how to fix it (never with the password) -------------

    def _warn_about_security(self) -> None:
        if self._security.insecure:
            _log.warning(
                "certificate verification is OFF for %s (--insecure): the connection is "
                "encrypted, but anyone on the network path can pose as the broker%s; give "
                "the lab's CA with --tls-ca instead",
                self._url,
                " and is sent the password" if self._security.password is not None else "",
            )
        if not self._tls and self._security.password is not None:
            _log.warning(
                "the password of MQTT user %r is sent unencrypted to %s; use an mqtts:// "
                "broker URL (a TLS listener)",
                self._security.username,
                self._url,
            )

    def _verification_failed(self, exc: ssl.SSLCertVerificationError) -> str:
        return (
            f"the MQTT broker at {self._url} failed TLS certificate verification "
            f"({exc.verify_message or exc.reason}): its certificate must be signed by the CA "
            f"in {self._security.ca_file} and name the host {self._host!r}. Check that "
            "--tls-ca (GENESIS_LAB_MQTT_CA) is the lab's CA and that the URL uses a host "
            "name or address the broker's certificate lists."
        )

    def _handshake_failed(self, exc: ssl.SSLError) -> str:
        reason = str(exc.reason or exc)
        text = f"the TLS handshake with the MQTT broker at {self._url} failed ({reason})"
        if isinstance(exc, ssl.SSLEOFError) or "WRONG_VERSION_NUMBER" in reason:
            return (
                f"{text}: is port {self._port} a TLS listener? A plaintext listener takes "
                f"mqtt://{self._host}:{self._port}."
            )
        return f"{text}. {self._certificate_hint()}"

    def _certificate_hint(self) -> str:
        if self._security.cert_file is None:
            return (
                "If the broker requires client certificates, give one signed by its CA with "
                "--tls-cert and --tls-key (GENESIS_LAB_MQTT_CERT, GENESIS_LAB_MQTT_KEY); the "
                "broker's log says why it refused."
            )
        return (
            f"The broker may have refused the client certificate {self._security.cert_file}: "
            "it must be signed by the broker's CA and be valid now; the broker's log says why."
        )

    def _closed_before_connack(self, reason: str) -> str:
        text = (
            f"the MQTT broker at {self._url} closed the connection before accepting client "
            f"{self._client_id!r} (no CONNACK; {reason})"
        )
        if not self._tls:
            return (
                f"{text}. If port {self._port} is a TLS listener, use "
                f"mqtts://{self._host}:{self._port} with --tls-ca."
            )
        return f"{text}. {self._certificate_hint()}"

    def _refusal(self, connack: ReasonCode) -> str:
        text = f"the MQTT broker at {self._url} refused client {self._client_id!r}: {connack}"
        if str(connack) not in _REFUSED_CREDENTIALS:
            return text
        if self._security.username is None:
            who = (
                f"as the identity of the client certificate {self._security.cert_file}"
                if self._security.cert_file is not None
                else "anonymously (no username given)"
            )
            return (
                f"{text}. It did not accept this client {who}: give the credentials the "
                "broker expects with --username and --password-file (GENESIS_LAB_MQTT_USERNAME, "
                "GENESIS_LAB_MQTT_PASSWORD_FILE), or a client certificate."
            )
        password = "with a password" if self._security.password else "without a password"
        return (
            f"{text}. It did not accept user {self._security.username!r} {password}: check "
            "the username (--username, GENESIS_LAB_MQTT_USERNAME) and the password in the file "
            "given with --password-file (GENESIS_LAB_MQTT_PASSWORD_FILE), and that the user "
            "may connect (the broker's password file and ACL)."
        )

    def _wait_for_initial_subacks(self, timeout: float) -> None:
        """Wait until every subscription registered before ``connect()`` has its SUBACK.

        Registering before connecting matters with a persistent session: the broker may
        deliver queued messages right after CONNACK, and a message with no handler yet
        would be acknowledged and dropped."""
        with self._cond:
            wanted = set(self._subscriptions)
            self._cond.wait_for(
                lambda: wanted <= self._acked | set(self._refused) or not self._connected,
                timeout,
            )
            refused = {t: r for t, r in self._refused.items() if t in wanted}
            missing = wanted - self._acked - set(self._refused)
        if refused:
            topic, reason = next(iter(refused.items()))
            raise BrokerError(
                f"the MQTT broker at {self._url} refused the subscription to {topic!r}: {reason}",
                url=self._url,
            )
        if missing:
            _log.warning(
                "no SUBACK from %s within %g s for %s; retried on the next reconnect",
                self._url,
                timeout,
                sorted(missing),
            )

    def on_reconnect(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` on paho's network thread after every connection but the first
        (the broker may have lost what it held: a retained status, a session). It must not
        wait for the broker (publish without waiting); an exception is logged, not raised."""
        self._reconnect_hooks.append(hook)

    def subscribe(
        self, topic: str, handler: MessageHandler, qos: int = 1, *, timeout: float = 10.0
    ) -> None:
        """Call ``handler(topic, payload)`` for every message matching the filter ``topic``.

        Several handlers may share a filter, and a message is given to every handler whose
        filter matches. The subscription is re-made on every reconnect. Once connected,
        waits for the broker's SUBACK; raises ``BrokerError`` if the broker refuses or does
        not answer within ``timeout`` s (the subscription then stays registered and is
        retried on the next reconnect). Before ``connect()`` it only registers.
        """
        _check_topic_filter(topic)
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        with self._cond:
            if self._closed:
                raise BrokerError(f"MQTT client {self._client_id!r} is closed", url=self._url)
            sub = self._subscriptions.get(topic)
            if sub is None:
                sub = self._subscriptions[topic] = _Subscription(qos)
                send = True
            else:
                send = qos > sub.qos or topic in self._refused
                sub.qos = max(sub.qos, qos)
            sub.handlers.append(handler)
            if send:
                self._acked.discard(topic)
                self._refused.pop(topic, None)
                if self._connected:
                    self._send_subscribe([(topic, sub.qos)])
            if self._thread is None:
                return
            self._cond.wait_for(
                lambda: topic in self._acked or topic in self._refused or self._closed, timeout
            )
            if topic in self._refused:
                reason = self._refused[topic]
                raise BrokerError(
                    f"the MQTT broker at {self._url} refused the subscription to {topic!r}: "
                    f"{reason}",
                    url=self._url,
                )
            if topic not in self._acked and not self._closed:
                raise BrokerError(
                    f"no SUBACK from the MQTT broker at {self._url} for {topic!r} within "
                    f"{timeout} s; the subscription is retried on the next reconnect",
                    url=self._url,
                )

    def barrier(self, topic: str, *, timeout: float = 10.0) -> None:
        """Return once every message the broker sent before now has been given to the
        handlers (the retained messages of the subscriptions made at connect, say).

        Sends the SUBSCRIBE for ``topic`` (already subscribed; pick a filter that holds no
        retained message, or its retained messages come again) once more and waits for its
        SUBACK: the broker answers after what it sent before, and paho's one network thread
        hands messages to the handlers in the order they came. Raises ``BrokerError`` if no
        SUBACK comes within ``timeout`` s."""
        with self._cond:
            sub = self._subscriptions.get(topic)
            if sub is None:
                raise ValueError(f"barrier on {topic!r}: not subscribed")
            rc, mid = self._client.subscribe([(topic, sub.qos)])
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
                raise BrokerError(
                    f"not connected to the MQTT broker at {self._url}: no barrier ({rc})",
                    url=self._url,
                )
            self._barriers.add(mid)
            answered = self._cond.wait_for(lambda: mid not in self._barriers, timeout)
            self._barriers.discard(mid)
        if not answered:
            raise BrokerError(
                f"no SUBACK from the MQTT broker at {self._url} within {timeout} s "
                f"(a barrier on {topic!r})",
                url=self._url,
            )

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> MQTTMessageInfo:
        """Queue a message and return paho's handle on it, without waiting.

        A QoS 1 or 2 message published while the connection is down is kept and sent after
        the reconnect; a QoS 0 one is dropped (``info.rc`` says so).
        """
        if self._closed:
            raise BrokerError(f"MQTT client {self._client_id!r} is closed", url=self._url)
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def publish_and_wait(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float = 10.0,
    ) -> None:
        """Publish and block until the broker acknowledges (PUBACK for QoS 1).

        Raises ``BrokerError`` if not connected within ``timeout`` s, or if the broker does
        not acknowledge within ``timeout`` s. A QoS 1 message that was sent but not yet
        acknowledged stays queued and may still be delivered (at least once).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            if not self._cond.wait_for(lambda: self._connected or self._closed, timeout):
                raise BrokerError(
                    f"not connected to the MQTT broker at {self._url} within {timeout} s; "
                    f"the message to {topic!r} was not sent",
                    url=self._url,
                )
        info = self.publish(topic, payload, qos=qos, retain=retain)
        self.wait_published(info, topic, max(0.0, deadline - time.monotonic()), timeout)

    def wait_published(
        self, info: MQTTMessageInfo, topic: str, timeout: float, said: float | None = None
    ) -> None:
        """Block until the message ``info`` (from :meth:`publish`, to ``topic``) is
        acknowledged by the broker; raise ``BrokerError`` if it is not within ``timeout`` s
        (``said``: the time-out to name in the error, if not ``timeout``)."""
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            raise BrokerError(
                f"the connection to {self._url} dropped while publishing to {topic!r}; "
                "the message is queued and sent after the reconnect",
                url=self._url,
            )
        try:
            info.wait_for_publish(timeout)
            published = info.is_published()
        except (RuntimeError, ValueError) as exc:
            raise BrokerError(
                f"publishing to {topic!r} on {self._url} failed: {exc}", url=self._url
            ) from exc
        if not published:
            raise BrokerError(
                f"the MQTT broker at {self._url} did not acknowledge the message to {topic!r} "
                f"within {timeout if said is None else said:g} s",
                url=self._url,
            )

    def close(self) -> None:
        """Disconnect cleanly (the broker then discards the will) and join the network thread.

        Idempotent. Must not be called from a handler (it would wait for its own thread).
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._stop_network()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "connected" if self._connected else ("closed" if self._closed else "offline")
        return f"MqttClient({self._url!r}, {self._client_id!r}, {state})"

    # -- internals ------------------------------------------------------------------------

    def _stop_network(self) -> None:
        thread = self._thread
        self._closing = True
        # DISCONNECT first: a connection that ends with DISCONNECT does not fire the will.
        self._client.disconnect()
        self._client.loop_stop()
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                _log.error("the MQTT network thread %s did not stop", thread.name)
            else:
                # paho closes its wake-up socket pair (made by loop_start) and a socket left
                # open by a loop that ended before flushing DISCONNECT only in Client.__del__.
                # The Client sits in a reference cycle with our callbacks, so the garbage
                # collector may finalise the sockets first (ResourceWarning). Close them now.
                self._client._reset_sockets()
        with self._cond:
            self._thread = None
            self._connected = False
            self._cond.notify_all()

    def _send_subscribe(self, topics: list[tuple[str, int]]) -> None:
        """Send one SUBSCRIBE; the caller holds ``self._cond``."""
        rc, mid = self._client.subscribe(topics)
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_subacks[mid] = [name for name, _ in topics]
        else:
            # The connection is gone; on_connect re-subscribes after the reconnect.
            _log.debug("SUBSCRIBE to %s not sent (%s)", [t for t, _ in topics], rc)

    # paho callbacks, all on the network thread. They must never raise: paho would re-raise
    # and end the network thread.

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self._connack = reason_code
            if reason_code.is_failure:
                self._connected = False
                self._cond.notify_all()
                _log.warning("MQTT broker %s refused the connection: %s", self._url, reason_code)
                return
            self._connected = True
            self._connections += 1
            reconnected = self._connections > 1
            self._acked.clear()
            self._pending_subacks.clear()
            topics = [(name, sub.qos) for name, sub in self._subscriptions.items()]
            if topics:
                self._send_subscribe(topics)
            self._cond.notify_all()
        _log.info(
            "MQTT client %r connected to %s (session present: %s)",
            self._client_id,
            self._url,
            flags.session_present,
        )
        if reconnected:
            for hook in list(self._reconnect_hooks):
                try:
                    hook()
                except Exception:  # never end paho's network thread
                    _log.exception("a reconnect hook of MQTT client %r failed", self._client_id)

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cond:
            was_connected = self._connected
            self._connected = False
            if self._connack is None and not self._closing and self._early_close is None:
                self._early_close = self._socket_error or "the connection was closed"
                self._cond.notify_all()
            self._acked.clear()
            self._pending_subacks.clear()
            self._cond.notify_all()
        if self._closing:
            _log.debug("MQTT client %r disconnected from %s", self._client_id, self._url)
        elif was_connected:
            _log.warning(
                "MQTT client %r lost its connection to %s (%s); reconnecting",
                self._client_id,
                self._url,
                reason_code,
            )

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._cond:
            if mid in self._barriers:
                self._barriers.discard(mid)
                self._cond.notify_all()
                return
            topics = self._pending_subacks.pop(mid, None)
            if topics is None:
                return
            for topic, code in zip(topics, reason_codes, strict=False):
                if code.is_failure:
                    self._refused[topic] = str(code)
                    _log.error(
                        "MQTT broker %s refused the subscription to %r: %s", self._url, topic, code
                    )
                else:
                    self._acked.add(topic)
            self._cond.notify_all()

    def _on_socket_open(self, client: Client, userdata: Any, sock: Any) -> None:
        # Small MQTT packets must not wait for the previous one's TCP acknowledgement
        # (Nagle's algorithm): without this, a status right after another is held ~40 ms.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError) as exc:  # not a TCP socket (a proxy, a test double)
            _log.debug("TCP_NODELAY not set on the MQTT socket: %s", exc)

    def _on_log(self, client: Client, userdata: Any, level: int, buf: str) -> None:
        std_level = _PAHO_LEVELS.get(LogLevel(level), logging.WARNING)
        # paho 2.2 logs an ERROR each time its loop runs without a socket, which happens on
        # every clean disconnect and every reconnect attempt: expected, so DEBUG.
        if buf.startswith("Client is not connected"):
            std_level = logging.DEBUG
        if buf.startswith(_SOCKET_ERROR_LOG):  # kept to say why a connection attempt failed
            self._socket_error = buf[len(_SOCKET_ERROR_LOG) :]
        _paho_log.log(std_level, "%s: %s", self._client_id, buf)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            _log.warning("dropped a message whose topic is not UTF-8: %r", message._topic)
            return
        with self._cond:
            handlers = [
                handler
                for name, sub in self._subscriptions.items()
                if topic_matches_sub(name, topic)
                for handler in sub.handlers
            ]
        if not handlers:
            _log.debug("no handler for a message on %r", topic)
        payload = bytes(message.payload)
        for handler in handlers:
            try:
                handler(topic, payload)
            except Exception:
                self.handler_errors += 1
                _log.exception("handler %r failed on a message on %r; skipped", handler, topic)


def discard_session(
    url: str,
    client_id: str,
    timeout: float = 5.0,
    *,
    security: TransportSecurity | None = None,
) -> None:
    """Ask the broker to forget the persistent session of ``client_id`` (connect once with a
    clean session, then leave). For a client that is done for good; failures are logged."""
    client = MqttClient(url, client_id, clean_session=True, security=security)
    try:
        client.connect(timeout)
    except BrokerError as exc:
        _log.warning("could not discard the MQTT session of %r: %s", client_id, exc)
    finally:
        client.close()
