"""The e-stop latch in the worker's journal file (part of :class:`~._outbox.Outbox`).

An e-stop latches: the station stays stopped, across restarts of its worker, until a
release. The journal keeps the stop in force (why, who, when, whether its signature held)
and the SHA-256 of every e-stop message obeyed while it held. A release marks those
messages released, so an e-stop the broker still retains (a lab-wide one, after this
station alone was released) does not stop the station again when its worker reconnects;
any other e-stop message does.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from threading import Lock

__all__ = ["LATCH_SCHEMA", "MAX_RELEASED_ESTOPS", "EstopLatch", "EstopLatchJournal"]

MAX_RELEASED_ESTOPS = 1_000
"""Released e-stop messages remembered (the newest); an older one retained on the broker
would stop the station again, which is the safe way to be wrong."""

LATCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS estop_latch (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at REAL NOT NULL,
    verified INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS estop_messages (
    sha256 TEXT PRIMARY KEY,
    obeyed_at REAL NOT NULL,
    released_at REAL
);
"""


@dataclass(frozen=True)
class EstopLatch:
    """An e-stop in force: why, who pressed it, when (Unix seconds), and whether its
    signature was verified (an unverified e-stop is obeyed all the same)."""

    reason: str
    actor: str
    at: float
    verified: bool


class EstopLatchJournal:
    """The latch's part of the journal; mixed into the outbox, which owns the file."""

    _lock: Lock
    _db: sqlite3.Connection

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # the outbox's

    def latch_estop(
        self, reason: str, actor: str, *, verified: bool, message_sha256: str = ""
    ) -> None:
        """The station is e-stopped by the message whose payload has ``message_sha256``:
        kept until :meth:`clear_estop` (a release), so a restarted worker comes up stopped.
        A second e-stop while stopped keeps the first's reason, and is remembered too."""
        now = time.time()
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO estop_latch VALUES (1, ?, ?, ?, ?)",
                (reason, actor, now, int(verified)),
            )
            if message_sha256:
                db.execute(
                    "INSERT OR REPLACE INTO estop_messages VALUES (?, ?, NULL)",
                    (message_sha256, now),
                )

    def clear_estop(self) -> None:
        """A release lifted the e-stop, and every e-stop message obeyed while it held."""
        now = time.time()
        with self._write() as db:
            db.execute("DELETE FROM estop_latch")
            db.execute(
                "UPDATE estop_messages SET released_at = ? WHERE released_at IS NULL", (now,)
            )
            db.execute(
                "DELETE FROM estop_messages WHERE sha256 NOT IN (SELECT sha256 FROM "
                "estop_messages ORDER BY obeyed_at DESC LIMIT ?)",
                (MAX_RELEASED_ESTOPS,),
            )

    def estop_latch(self) -> EstopLatch | None:
        """The e-stop in force (why, who, when, whether its signature held), or None."""
        with self._lock:
            row = self._db.execute("SELECT reason, actor, at, verified FROM estop_latch").fetchone()
        return None if row is None else EstopLatch(row[0], row[1], row[2], bool(row[3]))

    def estop_released(self, message_sha256: str) -> float | None:
        """When the e-stop message with this payload SHA-256 was released here, or None
        (never obeyed, or still in force)."""
        with self._lock:
            row = self._db.execute(
                "SELECT released_at FROM estop_messages WHERE sha256 = ?", (message_sha256,)
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])
