"""The campaign record: one SQLite file (WAL) holding spec, trials, transitions, documents.

Every write is its own committed transaction, so what the record says happened did happen
before the caller acts on it. Documents are keyed by uid: storing one twice is a no-op.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_lab.errors import RecordError
from genesis_lab.store._states import TrialState, can_transition

__all__ = [
    "RECORD_FORMAT",
    "CampaignRecord",
    "CampaignRow",
    "DocumentRow",
    "TrialRow",
    "document_key",
]

RECORD_FORMAT = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    spec_text TEXT NOT NULL,
    versions_json TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,
    stop_reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS trials (
    campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
    trial_id TEXT NOT NULL,
    state TEXT NOT NULL,
    parameters_json TEXT NOT NULL,
    origin TEXT NOT NULL,
    explanation_json TEXT,
    outcome REAL,
    outcomes_json TEXT,
    reason TEXT NOT NULL DEFAULT '',
    run_uid TEXT,
    proposed_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (campaign_id, trial_id)
);
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL,
    trial_id TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    uid TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    trial_id TEXT NOT NULL,
    name TEXT NOT NULL,
    doc_json TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_trial ON documents (campaign_id, trial_id);
CREATE TABLE IF NOT EXISTS campaign_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class CampaignRow:
    campaign_id: str
    name: str
    spec: dict[str, Any]
    spec_text: str
    versions: dict[str, str]
    started_at: float
    finished_at: float | None
    status: str
    stop_reason: str


@dataclass(frozen=True)
class TrialRow:
    campaign_id: str
    trial_id: str
    state: TrialState
    parameters: dict[str, Any]
    origin: str
    explanation: dict[str, Any] | None
    outcome: float | None
    outcomes: dict[str, float] | None
    reason: str
    run_uid: str | None
    proposed_at: float
    updated_at: float


@dataclass(frozen=True)
class DocumentRow:
    uid: str
    trial_id: str
    name: str
    doc: dict[str, Any]


def _outcomes_json(outcomes: Mapping[str, float] | None) -> str | None:
    return None if outcomes is None else json.dumps(dict(outcomes), allow_nan=False)


def document_key(doc: Mapping[str, Any]) -> str:
    """The identity of a Bluesky document: ``uid``, or ``datum_id`` for datum documents."""
    key = doc.get("uid") or doc.get("datum_id")
    if not isinstance(key, str) or not key:
        raise RecordError("document has no 'uid' (or 'datum_id'); cannot store it")
    return key


class CampaignRecord:
    """A campaign record file. Safe to share between threads of one process."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            if read_only:
                if not self.path.exists():
                    raise RecordError(f"no record at {self.path}", path=str(self.path))
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('record_format', ?)", (str(RECORD_FORMAT),)
                )
                self._db.commit()
        except sqlite3.Error as exc:
            raise RecordError(
                f"cannot open record {self.path}: {exc}; is it a genesis-lab record?",
                path=str(self.path),
            ) from exc

    def close(self) -> None:
        """Close the file; the record object cannot be used afterwards."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> CampaignRecord:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._db:
                    yield self._db
            except sqlite3.Error as exc:
                raise RecordError(
                    f"cannot write record {self.path}: {exc}", path=str(self.path)
                ) from exc

    # ----------------------------------------------------------------- campaigns
    def create_campaign(
        self,
        campaign_id: str,
        *,
        name: str,
        spec: Mapping[str, Any],
        spec_text: str,
        versions: Mapping[str, str],
    ) -> None:
        """Record the start of a campaign with the spec as run and the package versions."""
        with self._write() as db:
            db.execute(
                "INSERT INTO campaigns (campaign_id, name, spec_json, spec_text, versions_json,"
                " started_at, status) VALUES (?, ?, ?, ?, ?, ?, 'running')",
                (
                    campaign_id,
                    name,
                    json.dumps(spec),
                    spec_text,
                    json.dumps(dict(versions)),
                    time.time(),
                ),
            )

    def finish_campaign(self, campaign_id: str, *, status: str, reason: str) -> None:
        """Record how and why a campaign ended (``completed``, ``failed``, ``stopped``)."""
        with self._write() as db:
            db.execute(
                "UPDATE campaigns SET finished_at = ?, status = ?, stop_reason = ?"
                " WHERE campaign_id = ?",
                (time.time(), status, reason, campaign_id),
            )

    def reopen_campaign(self, campaign_id: str, *, detail: str) -> None:
        """Mark a campaign running again (it is being resumed) and note it with ``detail``."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE campaigns SET finished_at = NULL, status = 'running', stop_reason = ''"
                " WHERE campaign_id = ?",
                (campaign_id,),
            )
            if cursor.rowcount != 1:
                raise RecordError(f"no campaign {campaign_id!r} in {self.path}")
            db.execute(
                "INSERT INTO campaign_events (campaign_id, event, detail, at)"
                " VALUES (?, 'resumed', ?, ?)",
                (campaign_id, detail, time.time()),
            )

    def campaign_events(self, campaign_id: str) -> list[tuple[str, str, float]]:
        """Events of the campaign's life beyond start and finish: ``(event, detail, at)``."""
        with self._lock:
            return self._db.execute(
                "SELECT event, detail, at FROM campaign_events WHERE campaign_id = ? ORDER BY seq",
                (campaign_id,),
            ).fetchall()

    def campaigns(self) -> list[CampaignRow]:
        """Every campaign in this record, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT campaign_id, name, spec_json, spec_text, versions_json, started_at,"
                " finished_at, status, stop_reason FROM campaigns ORDER BY started_at"
            ).fetchall()
        return [
            CampaignRow(
                r[0], r[1], json.loads(r[2]), r[3], json.loads(r[4]), r[5], r[6], r[7], r[8]
            )
            for r in rows
        ]

    # -------------------------------------------------------------------- trials
    def add_trial(
        self,
        campaign_id: str,
        trial_id: str,
        *,
        parameters: Mapping[str, Any],
        origin: str,
        explanation: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a new PROPOSED trial, with why the planner chose it (if it said)."""
        now = time.time()
        with self._write() as db:
            db.execute(
                "INSERT INTO trials (campaign_id, trial_id, state, parameters_json, origin,"
                " explanation_json, proposed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    campaign_id,
                    trial_id,
                    TrialState.PROPOSED,
                    json.dumps(dict(parameters)),
                    origin,
                    None if explanation is None else json.dumps(dict(explanation)),
                    now,
                    now,
                ),
            )
            db.execute(
                "INSERT INTO transitions (campaign_id, trial_id, from_state, to_state, at)"
                " VALUES (?, ?, NULL, ?, ?)",
                (campaign_id, trial_id, TrialState.PROPOSED, now),
            )

    def add_prior_trial(
        self,
        campaign_id: str,
        trial_id: str,
        *,
        parameters: Mapping[str, Any],
        outcome: float,
        source: str,
        outcomes: Mapping[str, float] | None = None,
    ) -> None:
        """Record a result of earlier work: COMPLETED on arrival, origin ``prior``.

        It was not run by this campaign, so its history is one entry saying where it came
        from, not the dispatch and run a campaign trial goes through.
        """
        now = time.time()
        with self._write() as db:
            db.execute(
                "INSERT INTO trials (campaign_id, trial_id, state, parameters_json, origin,"
                " outcome, outcomes_json, reason, proposed_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'prior', ?, ?, ?, ?, ?)",
                (
                    campaign_id,
                    trial_id,
                    TrialState.COMPLETED,
                    json.dumps(dict(parameters)),
                    outcome,
                    _outcomes_json(outcomes),
                    f"imported from {source}",
                    now,
                    now,
                ),
            )
            db.execute(
                "INSERT INTO transitions (campaign_id, trial_id, from_state, to_state, reason, at)"
                " VALUES (?, ?, NULL, ?, ?, ?)",
                (campaign_id, trial_id, TrialState.COMPLETED, f"imported from {source}", now),
            )

    def transition(
        self,
        campaign_id: str,
        trial_id: str,
        new: TrialState,
        *,
        reason: str = "",
        outcome: float | None = None,
        outcomes: Mapping[str, float] | None = None,
        run_uid: str | None = None,
    ) -> None:
        """Move a trial to ``new``; refuse a move the life cycle does not allow.

        ``outcome`` is the first objective's value; ``outcomes`` every measured objective and
        outcome-constraint value by name."""
        now = time.time()
        with self._write() as db:
            row = db.execute(
                "SELECT state FROM trials WHERE campaign_id = ? AND trial_id = ?",
                (campaign_id, trial_id),
            ).fetchone()
            if row is None:
                raise RecordError(f"no trial {trial_id!r} in campaign {campaign_id!r}")
            current = TrialState(row[0])
            if not can_transition(current, new):
                raise RecordError(
                    f"trial {trial_id}: {current} -> {new} is not a transition the life cycle "
                    "allows"
                )
            db.execute(
                "UPDATE trials SET state = ?, reason = ?, outcome = COALESCE(?, outcome),"
                " outcomes_json = COALESCE(?, outcomes_json),"
                " run_uid = COALESCE(?, run_uid), updated_at = ?"
                " WHERE campaign_id = ? AND trial_id = ?",
                (
                    new,
                    reason,
                    outcome,
                    _outcomes_json(outcomes),
                    run_uid,
                    now,
                    campaign_id,
                    trial_id,
                ),
            )
            db.execute(
                "INSERT INTO transitions (campaign_id, trial_id, from_state, to_state, reason, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (campaign_id, trial_id, current, new, reason, now),
            )

    def trials(self, campaign_id: str) -> list[TrialRow]:
        """The campaign's trials in the order they were proposed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT campaign_id, trial_id, state, parameters_json, origin, explanation_json,"
                " outcome, reason, run_uid, proposed_at, updated_at, outcomes_json FROM trials"
                " WHERE campaign_id = ? ORDER BY proposed_at, trial_id",
                (campaign_id,),
            ).fetchall()
        return [
            TrialRow(
                campaign_id=r[0],
                trial_id=r[1],
                state=TrialState(r[2]),
                parameters=json.loads(r[3]),
                origin=r[4],
                explanation=None if r[5] is None else json.loads(r[5]),
                outcome=r[6],
                outcomes=None if r[11] is None else json.loads(r[11]),
                reason=r[7],
                run_uid=r[8],
                proposed_at=r[9],
                updated_at=r[10],
            )
            for r in rows
        ]

    def transitions(self, campaign_id: str) -> list[tuple[str, str | None, str, str, float]]:
        """Every state change: ``(trial_id, from_state, to_state, reason, at)`` in order."""
        with self._lock:
            return self._db.execute(
                "SELECT trial_id, from_state, to_state, reason, at FROM transitions"
                " WHERE campaign_id = ? ORDER BY seq",
                (campaign_id,),
            ).fetchall()

    # ----------------------------------------------------------------- documents
    def add_document(
        self, campaign_id: str, trial_id: str, name: str, doc: Mapping[str, Any]
    ) -> bool:
        """Store a Bluesky document; return ``False`` if one with its uid is already stored."""
        uid = document_key(doc)
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO documents (uid, campaign_id, trial_id, name, doc_json,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (uid, campaign_id, trial_id, name, json.dumps(dict(doc)), time.time()),
            )
            return cursor.rowcount == 1

    def document_count(self, campaign_id: str) -> int:
        """How many documents of the campaign are stored."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM documents WHERE campaign_id = ?", (campaign_id,)
            ).fetchone()
        return int(row[0])

    def documents(self, campaign_id: str, trial_id: str | None = None) -> list[DocumentRow]:
        """Stored documents of a campaign (or of one trial), in the order received."""
        query = "SELECT uid, trial_id, name, doc_json FROM documents WHERE campaign_id = ?"
        args: tuple[str, ...] = (campaign_id,)
        if trial_id is not None:
            query += " AND trial_id = ?"
            args += (trial_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY rowid", args).fetchall()
        return [DocumentRow(r[0], r[1], r[2], json.loads(r[3])) for r in rows]
