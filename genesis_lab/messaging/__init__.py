"""MQTT transport: the paho client wrapper and the embedded amqtt broker.

Importing this package starts nothing: no thread, no socket, no event loop. amqtt is
imported only when an ``EmbeddedBroker`` starts.

- ``EmbeddedBroker``: an MQTT 3.1.1 broker in a thread of its own (the one-process default).
- ``MqttClient``: one connection with automatic reconnect, re-made subscriptions and
  handlers that cannot crash the network thread; works with amqtt and with Mosquitto.
- ``broker_session``: the broker a command uses (a fresh embedded one, or a URL).
- ``discard_session``: make the broker forget a persistent session that is done for good.
- ``TransportSecurity``: TLS (pinned CA, client certificate) and credentials of a
  connection, from options or the ``GENESIS_LAB_MQTT_*`` environment variables
  (``SECURITY_ENVIRONMENT``).
- ``process_identity``: who this process is for the record (broker identity, user@host).
"""

from genesis_lab.messaging._broker import EmbeddedBroker
from genesis_lab.messaging._client import MessageHandler, MqttClient, discard_session
from genesis_lab.messaging._identity import broker_identity, current_actor, process_identity
from genesis_lab.messaging._security import SECURITY_ENVIRONMENT, TransportSecurity
from genesis_lab.messaging._session import broker_session

__all__ = [
    "SECURITY_ENVIRONMENT",
    "EmbeddedBroker",
    "MessageHandler",
    "MqttClient",
    "TransportSecurity",
    "broker_identity",
    "broker_session",
    "current_actor",
    "discard_session",
    "process_identity",
]
