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

Signed commands: the nonce of every signed request or control the worker accepted, kept
until that message would have expired anyway, so a replay is refused even after a restart;
and every request or control refused for its signature (or its age, or a replay), with
the reason, for the operator (at most :data:`MAX_REFUSALS` kept, the newest).

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

from genesis_lab.errors import RecordError, SignatureError
from genesis_lab.worker._latch import LATCH_SCHEMA, EstopLatchJournal

__all__ = [
    "MAX_EXPIRED",
    "MAX_NONCES",
    "MAX_REFUSALS",
    "Expired",
    "JournalEntry",
    "Outbox",
    "OutboxEntry",
    "Refusal",
    "Waiting",
]

MAX_NONCES = 100_000
"""Nonces of signed commands kept at once; past it, commands are refused, not forgotten."""
MAX_REFUSALS = 10_000
"""Refused commands kept in the file; the oldest are dropped first."""
MAX_EXPIRED = 100_000
"""Messages set aside (never to be acknowledged) kept in the file; the oldest go first."""

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
CREATE TABLE IF NOT EXISTS campaign_acks (
    campaign_id TEXT PRIMARY KEY,
    last_ack_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS expired (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    expired_at REAL NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS experiment_starts (at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refusals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    reason TEXT NOT NULL,
    what TEXT NOT NULL,
    topic TEXT NOT NULL,
    campaign_id TEXT,
    trial_id TEXT,
    signer TEXT,
    key_id TEXT,
    detail TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL
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
class Waiting:
    """The messages of one campaign waiting for an acknowledgement: how many, since when,
    the most resends of one, when the next is due, when the campaign last acknowledged
    anything (None: never)."""

    campaign_id: str
    count: int
    oldest_at: float
    attempts: int
    next_at: float
    last_ack_at: float | None


@dataclass(frozen=True)
class Expired:
    """Messages of one campaign set aside for one reason: how many, the latest when."""

    campaign_id: str
    reason: str
    count: int
    at: float


@dataclass(frozen=True)
class JournalEntry:
    """One accepted experiment request and how far it got."""

    campaign_id: str
    trial_id: str
    state: str  # accepted, running or ended
    request: bytes


@dataclass(frozen=True)
class Refusal:
    """A command the worker refused for its signature, age or a replay: what it was
    (``request`` or the control's command), the campaign and trial it named, who it said
    signed it, why it was refused, and the SHA-256 of its payload."""

    at: float
    reason: str
    what: str
    topic: str
    campaign_id: str | None
    trial_id: str | None
    signer: str | None
    key_id: str | None
    detail: str
    payload_sha256: str


class Outbox(EstopLatchJournal):
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
            self._db.executescript(_SCHEMA + LATCH_SCHEMA)
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
        self,
        message_id: str,
        campaign_id: str,
        topic: str,
        payload: bytes,
        *,
        resend_s: float,
        ends_trial: str | None = None,
    ) -> bool:
        """Keep a message until acknowledged, due again in ``resend_s`` s unless acknowledged
        by then (the caller publishes it now); ``False`` if its id is already kept.
        ``ends_trial``: the message is that trial's last word (how it ended): the journal
        marks it ended in the same transaction, so a worker killed in between never reports
        it interrupted after saying it completed."""
        now = time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (message_id, campaign_id, topic, payload,"
                " created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, campaign_id, topic, payload, now, now + resend_s),
            )
            if ends_trial is not None:
                db.execute(
                    "UPDATE journal SET state = 'ended', updated_at = ? WHERE campaign_id = ?"
                    " AND trial_id = ?",
                    (now, campaign_id, ends_trial),
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

    def due_now(self, campaign_id: str | None = None) -> int:
        """Make every kept message (of ``campaign_id``, default all) due now; how many."""
        where, args = (
            ("", ()) if campaign_id is None else (" WHERE campaign_id = ?", (campaign_id,))
        )
        with self._write() as db:
            return db.execute(f"UPDATE outbox SET next_at = 0{where}", args).rowcount

    def kept(self, message_ids: Iterable[str]) -> int:
        """How many of ``message_ids`` are still kept (not acknowledged)."""
        ids = list(message_ids)
        with self._lock:
            return sum(
                int(
                    self._db.execute(
                        "SELECT COUNT(*) FROM outbox WHERE message_id IN"
                        f" ({','.join('?' * len(chunk))})",
                        chunk,
                    ).fetchone()[0]
                )
                for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500))
            )

    def ack(self, message_ids: Iterable[str], campaign_id: str | None = None) -> int:
        """Forget acknowledged messages; return how many were still kept. ``campaign_id``:
        whose orchestrator acknowledged them (it is alive: see :meth:`expire_silent`)."""
        with self._write() as db:
            cursor = db.executemany(
                "DELETE FROM outbox WHERE message_id = ?", [(m,) for m in message_ids]
            )
            if campaign_id is not None:
                db.execute(
                    "INSERT OR REPLACE INTO campaign_acks VALUES (?, ?)", (campaign_id, time.time())
                )
            return cursor.rowcount

    def expire_campaign(self, campaign_id: str, reason: str) -> int:
        """Set aside every message of ``campaign_id`` still kept (it will never be
        acknowledged), with ``reason``; how many. Set aside, not deleted: see :meth:`expired`."""
        return self._expire("campaign_id = ?", (campaign_id,), reason)

    def expire_silent(self, after_s: float) -> dict[str, int]:
        """Set aside the messages of every campaign that has acknowledged nothing for
        ``after_s`` seconds (or never did) and none of whose kept messages is younger:
        nobody is there to take them (a campaign that ended, or never existed: a hostile or
        misrouted request). Returns campaign -> messages set aside."""
        cutoff = time.time() - after_s
        with self._lock:
            rows = self._db.execute(
                "SELECT o.campaign_id, COUNT(*) FROM outbox o"
                " LEFT JOIN campaign_acks a ON a.campaign_id = o.campaign_id"
                " GROUP BY o.campaign_id"
                " HAVING MAX(o.created_at) < ? AND COALESCE(MAX(a.last_ack_at), 0) < ?",
                (cutoff, cutoff),
            ).fetchall()
        silent: dict[str, int] = {}
        for campaign_id, _count in rows:
            reason = (
                f"campaign {campaign_id} acknowledged nothing for {after_s:g} s: it ended, "
                "or never had an orchestrator"
            )
            silent[campaign_id] = self.expire_campaign(campaign_id, reason)
        return silent

    def _expire(self, where: str, args: tuple[str, ...], reason: str) -> int:
        now = time.time()
        with self._write() as db:
            db.execute(
                "INSERT INTO expired (message_id, campaign_id, topic, payload, created_at,"
                " attempts, expired_at, reason) SELECT message_id, campaign_id, topic, payload,"
                f" created_at, attempts, ?, ? FROM outbox WHERE {where}",
                (now, reason, *args),
            )
            count = db.execute(f"DELETE FROM outbox WHERE {where}", args).rowcount
            db.execute(
                "DELETE FROM expired WHERE seq <= (SELECT MAX(seq) FROM expired) - ?",
                (MAX_EXPIRED,),
            )
            return count

    def waiting(self) -> list[Waiting]:
        """What waits for an acknowledgement, per campaign, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT o.campaign_id, COUNT(*), MIN(o.created_at), MAX(o.attempts),"
                " MIN(o.next_at), a.last_ack_at FROM outbox o"
                " LEFT JOIN campaign_acks a ON a.campaign_id = o.campaign_id"
                " GROUP BY o.campaign_id ORDER BY MIN(o.created_at)"
            ).fetchall()
        return [Waiting(*row) for row in rows]

    def expired(self) -> list[Expired]:
        """Messages set aside (the newest :data:`MAX_EXPIRED`), per campaign and reason."""
        with self._lock:
            rows = self._db.execute(
                "SELECT campaign_id, reason, COUNT(*), MAX(expired_at) FROM expired"
                " GROUP BY campaign_id, reason ORDER BY MAX(expired_at)"
            ).fetchall()
        return [Expired(*row) for row in rows]

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

    # ------------------------------------------------------- experiment starts
    def add_start(self, at: float) -> None:
        """An experiment started at ``at`` (Unix seconds): kept for the envelope's hourly
        cap (:class:`~genesis_lab.worker._envelope.StartLog`); those over a day old go."""
        with self._write() as db:
            db.execute("INSERT INTO experiment_starts VALUES (?)", (at,))
            db.execute("DELETE FROM experiment_starts WHERE at < ?", (at - 86400.0,))

    def starts_since(self, at: float) -> list[float]:
        """When the experiments started since ``at`` started, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at FROM experiment_starts WHERE at >= ? ORDER BY at", (at,)
            ).fetchall()
        return [float(row[0]) for row in rows]

    # ---------------------------------------------------------- signed commands
    def remember(self, nonce: str, until: float, now: float) -> bool:
        """Keep a signed command's nonce until ``until``; ``False`` if it is kept already
        (a replay). Nonces past ``now`` are forgotten; with :data:`MAX_NONCES` still
        needed, refuse (``SignatureError``) rather than forget one. A
        :class:`~genesis_lab.security.NonceStore`."""
        with self._write() as db:
            row = db.execute("SELECT until FROM nonces WHERE nonce = ?", (nonce,)).fetchone()
            if row is not None and row[0] >= now:
                return False
            db.execute("DELETE FROM nonces WHERE until < ?", (now,))
            if db.execute("SELECT COUNT(*) FROM nonces").fetchone()[0] >= MAX_NONCES:
                raise SignatureError(
                    f"{MAX_NONCES} signed commands in their validity window: refusing more "
                    "rather than forgetting a nonce still needed",
                    reason="replay-cache-full",
                )
            db.execute("INSERT OR REPLACE INTO nonces VALUES (?, ?)", (nonce, until))
            return True

    def add_refusal(self, refusal: Refusal) -> None:
        """Keep a refused command (the newest :data:`MAX_REFUSALS`)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO refusals (at, reason, what, topic, campaign_id, trial_id, signer,"
                " key_id, detail, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    refusal.at,
                    refusal.reason,
                    refusal.what,
                    refusal.topic,
                    refusal.campaign_id,
                    refusal.trial_id,
                    refusal.signer,
                    refusal.key_id,
                    refusal.detail,
                    refusal.payload_sha256,
                ),
            )
            db.execute(
                "DELETE FROM refusals WHERE seq <= (SELECT MAX(seq) FROM refusals) - ?",
                (MAX_REFUSALS,),
            )

    def refusals(self) -> list[Refusal]:
        """The refused commands kept, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, reason, what, topic, campaign_id, trial_id, signer, key_id, detail,"
                " payload_sha256 FROM refusals ORDER BY seq"
            ).fetchall()
        return [Refusal(*row) for row in rows]
