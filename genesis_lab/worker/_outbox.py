"""The worker's outbox and trial journal: one SQLite file that survives a crash.

Outbox: every document and trial status is written here (committed) before it is published,
and removed only when the orchestrator acknowledges it after storing it (a
:class:`~genesis_lab.messages.DeliveryAck`); until then it is re-sent. A broker's PUBACK
proves nothing: a broker restarted without persistence, or one whose per-client queue
overflowed, forgets messages it acknowledged.

Journal: every experiment request the worker accepted, and how far it got (``accepted``,
``running``, ``ended``), committed before anything moves. A request that arrives again
(a re-dispatch, a QoS 1 resend, a restarted broker) is never executed twice; after a restart
an accepted request that never started is run, and one that was running when the worker
died is reported interrupted.

Without a path the file is in memory: the same behaviour, but nothing survives the process.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from genesis_lab.errors import RecordError

__all__ = ["JournalEntry", "Outbox", "OutboxEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    campaign_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    next_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS journal (
    campaign_id TEXT NOT NULL,
    trial_id TEXT NOT NULL,
    state TEXT NOT NULL,
    request BLOB NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (campaign_id, trial_id)
);
"""


@dataclass(frozen=True)
class OutboxEntry:
    """One message waiting for its acknowledgement."""

    seq: int
    message_id: str
    campaign_id: str
    topic: str
    payload: bytes
    attempts: int


@dataclass(frozen=True)
class JournalEntry:
    """One accepted experiment request and how far it got."""

    campaign_id: str
    trial_id: str
    state: str  # accepted, running or ended
    request: bytes


class Outbox:
    """The outbox and journal file at ``path`` (created if missing); in memory if None.

    Thread-safe: the RunEngine's thread adds documents, paho's thread removes acknowledged
    ones, the resender reads what is due."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._lock = threading.Lock()
        try:
            if self.path is None:
                self._db = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode survives the process being killed; only a power cut
                # can lose the last transactions.
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise RecordError(
                f"cannot open the worker's outbox {self.path}: {exc}", path=str(self.path)
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._db:
                    yield self._db
            except sqlite3.Error as exc:
                raise RecordError(
                    f"cannot write the worker's outbox {self.path}: {exc}", path=str(self.path)
                ) from exc

    # ------------------------------------------------------------------ outbox
    def put(
        self, message_id: str, campaign_id: str, topic: str, payload: bytes, *, resend_s: float
    ) -> bool:
        """Keep a message until acknowledged, due again in ``resend_s`` s unless acknowledged
        by then (the caller publishes it now); ``False`` if its id is already kept."""
        now = time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (message_id, campaign_id, topic, payload,"
                " created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, campaign_id, topic, payload, now, now + resend_s),
            )
            return cursor.rowcount == 1

    def due(self, limit: int = 500) -> list[OutboxEntry]:
        """Entries whose acknowledgement is overdue, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, message_id, campaign_id, topic, payload, attempts FROM outbox"
                " WHERE next_at <= ? ORDER BY seq LIMIT ?",
                (time.time(), limit),
            ).fetchall()
        return [OutboxEntry(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows]

    def mark_sent(self, entries: Iterable[OutboxEntry], *, resend_s: float, max_s: float) -> None:
        """These entries were published again: each is due next after ``resend_s`` doubled
        per attempt, at most ``max_s`` s (an orchestrator gone for good is not flooded)."""
        now = time.time()
        with self._write() as db:
            db.executemany(
                "UPDATE outbox SET next_at = ?, attempts = attempts + 1 WHERE seq = ?",
                [(now + min(max_s, resend_s * 2 ** min(e.attempts, 16)), e.seq) for e in entries],
            )

    def ack(self, message_ids: Iterable[str]) -> int:
        """Forget acknowledged messages; return how many were still kept."""
        with self._write() as db:
            cursor = db.executemany(
                "DELETE FROM outbox WHERE message_id = ?", [(m,) for m in message_ids]
            )
            return cursor.rowcount

    def __len__(self) -> int:
        """How many messages wait for their acknowledgement."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    # ----------------------------------------------------------------- journal
    def claim(self, campaign_id: str, trial_id: str, request: bytes) -> bool:
        """Journal an accepted request; ``False`` if this trial was accepted before."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO journal VALUES (?, ?, 'accepted', ?, ?)",
                (campaign_id, trial_id, request, time.time()),
            )
            return cursor.rowcount == 1

    def advance(self, campaign_id: str, trial_id: str, state: str) -> None:
        """Journal that a trial is now ``running`` or ``ended``."""
        if state not in ("running", "ended"):
            raise ValueError(f"journal state must be running or ended, not {state!r}")
        with self._write() as db:
            db.execute(
                "UPDATE journal SET state = ?, updated_at = ? WHERE campaign_id = ?"
                " AND trial_id = ?",
                (state, time.time(), campaign_id, trial_id),
            )

    def unfinished(self) -> list[JournalEntry]:
        """Accepted or running trials, in the order they were accepted."""
        with self._lock:
            rows = self._db.execute(
                "SELECT campaign_id, trial_id, state, request FROM journal"
                " WHERE state != 'ended' ORDER BY rowid"
            ).fetchall()
        return [JournalEntry(r[0], r[1], r[2], bytes(r[3])) for r in rows]

    def journal_state(self, campaign_id: str, trial_id: str) -> str | None:
        """How far an accepted trial got, or None if it was never accepted."""
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM journal WHERE campaign_id = ? AND trial_id = ?",
                (campaign_id, trial_id),
            ).fetchone()
        return None if row is None else str(row[0])
