"""The campaign record: one SQLite file (WAL) holding spec, trials, transitions, documents.

Every write is its own committed transaction, so what the record says happened did happen
before the caller acts on it. Documents are keyed by uid: storing one twice is a no-op.
Every write also appends a hash-chained entry to the record's ledger in the same
transaction (:mod:`._ledger`), so an edit made afterwards can be found (:mod:`._verify`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genesis_lab.canonical import canonical_json
from genesis_lab.errors import RecordError
from genesis_lab.store._ledger import GENESIS, digest, entry_hash
from genesis_lab.store._rows import (
    CampaignEvent,
    CampaignRow,
    DocumentRow,
    LedgerEntry,
    TrialRow,
    document_key,
    outcomes_json,
)
from genesis_lab.store._schema import MIGRATIONS, RECORD_FORMAT, SCHEMA
from genesis_lab.store._signatures import Seal, SignatureTables, SigningKeyRow
from genesis_lab.store._states import TrialState, can_transition

__all__ = [
    "RECORD_FORMAT",
    "CampaignEvent",
    "CampaignRecord",
    "CampaignRow",
    "DocumentRow",
    "LedgerEntry",
    "Seal",
    "SigningKeyRow",
    "TrialRow",
    "document_key",
]


class CampaignRecord(SignatureTables):
    """A campaign record file. Safe to share between threads of one process.

    ``read_only`` opens it for reading only (``mode=ro``), so it sees what a campaign still
    running commits; and leaves nothing beside it: a reader of a WAL database makes its
    ``-wal`` and ``-shm`` files when no one else has it open, and cannot remove them (only a
    connection that may write checkpoints), so on close the record is opened for an
    instant as a writer that writes nothing, and SQLite removes them when that writer
    is the last one on the file (never while a campaign or another reader has it open)."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._tidy = False
        self._has_station_columns: bool | None = None
        try:
            if read_only:
                if not self.path.exists():
                    raise RecordError(f"no record at {self.path}", path=str(self.path))
                self._tidy = not any(p.exists() for p in self._wal_files())
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(SCHEMA)
                for table, column, declaration in MIGRATIONS:
                    columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                    if column not in columns:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('record_format', ?)", (str(RECORD_FORMAT),)
                )
        except sqlite3.Error as exc:
            raise RecordError(
                f"cannot open record {self.path}: {exc}; is it a genesis-lab record?",
                path=str(self.path),
            ) from exc
        found = self.format
        if not read_only and found != RECORD_FORMAT:
            self._db.close()
            raise RecordError(
                f"record {self.path} has format {found}, written by an older "
                f"genesis-lab without a hash chain; this version writes format {RECORD_FORMAT}. "
                "Start a new record (--record NEW.sqlite); the old one stays readable",
                path=str(self.path),
            )

    @property
    def format(self) -> int:
        """The record's layout version (``RECORD_FORMAT`` for one this version writes)."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT value FROM meta WHERE key = 'record_format'"
                ).fetchone()
            except sqlite3.Error as exc:
                raise RecordError(
                    f"cannot read record {self.path}: {exc}; is it a genesis-lab record?",
                    path=str(self.path),
                ) from exc
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        """Close the file; the record object cannot be used afterwards."""
        with self._lock:
            self._db.close()
            if self._tidy:
                self._tidy = False
                self._remove_wal_files()

    def _wal_files(self) -> tuple[Path, Path]:
        return self.path.with_name(self.path.name + "-wal"), self.path.with_name(
            self.path.name + "-shm"
        )

    def _remove_wal_files(self) -> None:
        """Let SQLite remove the ``-wal``/``-shm`` files a read-only open made: the last
        connection that may write removes them on close, after checkpointing: a no-op, since a
        writer that closed meanwhile checkpointed (and removed them) itself, and one still
        open keeps them (only a writer that crashed meanwhile leaves a log to checkpoint, as
        the next writer would). Where the record may not be written, they stay."""
        if not any(p.exists() for p in self._wal_files()):
            return
        try:
            writer = sqlite3.connect(f"file:{self.path.resolve()}?mode=rw", uri=True, timeout=0)
            try:
                writer.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            finally:
                writer.close()
        except sqlite3.Error:
            pass  # read-only file or directory, or a writer holds it: theirs to remove

    def __enter__(self) -> CampaignRecord:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, taken with a write lock from its start so the ledger's
        head cannot move under it (another process may write the same file)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise RecordError(
                    f"cannot write record {self.path}: {exc}", path=str(self.path)
                ) from exc

    @staticmethod
    def _append(db: sqlite3.Connection, campaign_id: str, kind: str, **body: Any) -> None:
        """Chain an entry of ``kind`` saying what this transaction wrote onto the ledger."""
        last = db.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
        text = canonical_json({"campaign_id": campaign_id, **body})
        db.execute(
            "INSERT INTO ledger (seq, campaign_id, kind, body, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (seq, campaign_id, kind, text, prev, entry_hash(prev, kind, text)),
        )

    def _event(
        self, db: sqlite3.Connection, campaign_id: str, event: str, detail: str, actor: str
    ) -> float:
        now = time.time()
        db.execute(
            "INSERT INTO campaign_events (campaign_id, event, detail, at, actor)"
            " VALUES (?, ?, ?, ?, ?)",
            (campaign_id, event, detail, now, actor),
        )
        self._append(db, campaign_id, "event", event=event, detail=detail, at=now, actor=actor)
        return now

    # ----------------------------------------------------------------- campaigns
    def create_campaign(
        self,
        campaign_id: str,
        *,
        name: str,
        spec: Mapping[str, Any],
        spec_text: str,
        versions: Mapping[str, str],
        actor: str = "",
    ) -> None:
        """Record the start of a campaign with the spec as run, the package versions and who
        started it (a ``started`` event)."""
        now = time.time()
        with self._write() as db:
            db.execute(
                "INSERT INTO campaigns (campaign_id, name, spec_json, spec_text, versions_json,"
                " started_at, status) VALUES (?, ?, ?, ?, ?, ?, 'running')",
                (campaign_id, name, json.dumps(spec), spec_text, json.dumps(dict(versions)), now),
            )
            self._append(
                db,
                campaign_id,
                "campaign",
                name=name,
                spec=spec,
                spec_text=spec_text,
                versions=dict(versions),
                started_at=now,
            )
            self._event(db, campaign_id, "started", "", actor)

    def finish_campaign(
        self, campaign_id: str, *, status: str, reason: str, actor: str = ""
    ) -> None:
        """Record how and why a campaign ended (``completed``, ``failed``, ``stopped``), and
        who ended it when someone did (an event named after ``status``)."""
        with self._write() as db:
            now = self._event(db, campaign_id, status, reason, actor)
            db.execute(
                "UPDATE campaigns SET finished_at = ?, status = ?, stop_reason = ?"
                " WHERE campaign_id = ?",
                (now, status, reason, campaign_id),
            )

    def reopen_campaign(self, campaign_id: str, *, detail: str, actor: str = "") -> None:
        """Mark a campaign running again (it is being resumed) and note it with ``detail``."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE campaigns SET finished_at = NULL, status = 'running', stop_reason = ''"
                " WHERE campaign_id = ?",
                (campaign_id,),
            )
            if cursor.rowcount != 1:
                raise RecordError(f"no campaign {campaign_id!r} in {self.path}")
            self._event(db, campaign_id, "resumed", detail, actor)

    def add_event(self, campaign_id: str, event: str, *, detail: str = "", actor: str = "") -> None:
        """Note a moment of the campaign's life that changes no trial (its station paused,
        say) with who caused it."""
        with self._write() as db:
            self._event(db, campaign_id, event, detail, actor)

    def campaign_events(self, campaign_id: str) -> list[CampaignEvent]:
        """The campaign's life in order: started, paused, resumed, ..., how it ended."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event, detail, at, actor FROM campaign_events WHERE campaign_id = ?"
                " ORDER BY seq",
                (campaign_id,),
            ).fetchall()
        return [CampaignEvent(*row) for row in rows]

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
            self._append(
                db,
                campaign_id,
                "trial",
                trial_id=trial_id,
                parameters=dict(parameters),
                origin=origin,
                explanation=None if explanation is None else dict(explanation),
                at=now,
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
                    outcomes_json(outcomes),
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
            self._append(
                db,
                campaign_id,
                "prior",
                trial_id=trial_id,
                parameters=dict(parameters),
                outcome=outcome,
                outcomes=None if outcomes is None else dict(outcomes),
                reason=f"imported from {source}",
                at=now,
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
        station_id: str | None = None,
        worker: str | None = None,
    ) -> None:
        """Move a trial to ``new``; refuse a move the life cycle does not allow.

        ``outcome`` is the first objective's value; ``outcomes`` every measured objective and
        outcome-constraint value by name; ``station_id`` the station it is dispatched to and
        ``worker`` the worker process that runs it (None: unchanged)."""
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
                " run_uid = COALESCE(?, run_uid), station_id = COALESCE(?, station_id),"
                " worker = COALESCE(?, worker), updated_at = ?"
                " WHERE campaign_id = ? AND trial_id = ?",
                (
                    new,
                    reason,
                    outcome,
                    outcomes_json(outcomes),
                    run_uid,
                    station_id,
                    worker,
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
            self._append(
                db,
                campaign_id,
                "transition",
                trial_id=trial_id,
                from_state=str(current),
                to_state=str(new),
                reason=reason,
                outcome=outcome,
                outcomes=None if outcomes is None else dict(outcomes),
                run_uid=run_uid,
                at=now,
                # only when given: the entries of a record made before them stay as they were
                **({} if station_id is None else {"station_id": station_id}),
                **({} if worker is None else {"worker": worker}),
            )

    def trials(self, campaign_id: str) -> list[TrialRow]:
        """The campaign's trials in the order they were proposed."""
        return self._trial_rows("campaign_id = ?", (campaign_id,))

    def trial(self, campaign_id: str, trial_id: str) -> TrialRow:
        """Trial ``trial_id`` of the campaign; KeyError if there is none."""
        rows = self._trial_rows("campaign_id = ? AND trial_id = ?", (campaign_id, trial_id))
        if not rows:
            raise KeyError(f"no trial {trial_id!r} in campaign {campaign_id!r}")
        return rows[0]

    def _trial_rows(self, where: str, args: tuple[str, ...]) -> list[TrialRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT campaign_id, trial_id, state, parameters_json, origin, explanation_json,"
                " outcome, reason, run_uid, proposed_at, updated_at, outcomes_json,"
                f" {self._station_columns} FROM trials"
                f" WHERE {where} ORDER BY proposed_at, trial_id",
                args,
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
                station_id=r[12],
                worker=r[13],
            )
            for r in rows
        ]

    @property
    def _station_columns(self) -> str:
        """The trials' station and worker columns, or empty ones for a record opened read-only
        that was made before them (a writer adds them: :data:`._schema.MIGRATIONS`)."""
        if self._has_station_columns is None:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(trials)")}
            self._has_station_columns = {"station_id", "worker"} <= columns
        return "station_id, worker" if self._has_station_columns else "'', ''"

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
        self,
        campaign_id: str,
        trial_id: str,
        name: str,
        doc: Mapping[str, Any],
        *,
        signature: Mapping[str, Any] | None = None,
    ) -> bool:
        """Store a Bluesky document; return ``False`` if one with its uid is already stored.

        ``signature``: the station's signature of it (see :meth:`document_signatures`),
        kept with it and in its ledger entry."""
        uid = document_key(doc)
        text = json.dumps(dict(doc))
        now = time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO documents (uid, campaign_id, trial_id, name, doc_json,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (uid, campaign_id, trial_id, name, text, now),
            )
            if cursor.rowcount != 1:
                return False
            signed: dict[str, Any] = {}
            if signature is not None:
                self._add_signature(db, uid, campaign_id, signature)
                signed["signature"] = dict(signature)
            self._append(
                db,
                campaign_id,
                "document",
                uid=uid,
                trial_id=trial_id,
                name=name,
                sha256=digest(text),
                received_at=now,
                **signed,
            )
            return True

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

    def stored_documents(self, campaign_id: str) -> dict[str, tuple[str, str, str, float]]:
        """``uid -> (trial_id, name, JSON text as stored, received_at)``: the documents
        exactly as the file holds them, for checking against the ledger."""
        with self._lock:
            rows = self._db.execute(
                "SELECT uid, trial_id, name, doc_json, received_at FROM documents"
                " WHERE campaign_id = ? ORDER BY rowid",
                (campaign_id,),
            ).fetchall()
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    # ------------------------------------------------------------------ planner
    def add_planner_call(self, campaign_id: str, call: Mapping[str, Any]) -> None:
        """Record one call the orchestrator made on the planner (``{"op": "ask", ...}``), in
        order, so the decisions can be replayed (``genesis_lab.review.replay_decisions``)."""
        now = time.time()
        text = json.dumps(dict(call), allow_nan=False)
        with self._write() as db:
            db.execute(
                "INSERT INTO planner_calls (campaign_id, call_json, at) VALUES (?, ?, ?)",
                (campaign_id, text, now),
            )
            self._append(db, campaign_id, "planner", call=dict(call), at=now)

    def planner_calls(self, campaign_id: str) -> list[dict[str, Any]]:
        """The calls made on the campaign's planner, in order (see ``add_planner_call``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT call_json FROM planner_calls WHERE campaign_id = ? ORDER BY seq",
                (campaign_id,),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    # ------------------------------------------------------------------- ledger
    def ledger(self) -> list[LedgerEntry]:
        """Every entry of the record's hash chain, in order (every campaign's)."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT seq, campaign_id, kind, body, prev_hash, hash FROM ledger ORDER BY seq"
                ).fetchall()
            except sqlite3.Error as exc:
                raise RecordError(f"cannot read the ledger of {self.path}: {exc}") from exc
        return [LedgerEntry(*row) for row in rows]

    def chain_head(self) -> tuple[int, str]:
        """``(entries, hash of the last entry)``: note it elsewhere, and a later copy of the
        record that verifies and starts with the same chain is the same record."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
