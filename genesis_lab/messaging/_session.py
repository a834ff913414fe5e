"""The broker a command uses: a fresh embedded one, or the one it was given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from genesis_lab.messaging._broker import EmbeddedBroker
from genesis_lab.spec import parse_broker_url

__all__ = ["broker_session"]


@contextmanager
def broker_session(broker: str) -> Iterator[str]:
    """Yield the URL of the broker to use: a fresh embedded one (``"embedded"``, stopped on
    leaving), or ``broker`` itself (its URL checked first)."""
    if broker != "embedded":
        parse_broker_url(broker)
        yield broker
        return
    embedded = EmbeddedBroker()
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()
