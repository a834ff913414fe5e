"""The tables of a campaign record (SQLite).

The ``ledger`` holds every write as a hash-chained entry (:mod:`._ledger`); the other tables
are what readers query, and :mod:`._verify` checks them against the ledger.
"""

__all__ = ["MIGRATIONS", "RECORD_FORMAT", "SCHEMA"]

RECORD_FORMAT = 2
"""Version of the record's layout: 2 added the hash-chained ledger, the planner's calls and
who did what (``campaign_events.actor``). Format 2 records may also hold the stations' and
the orchestrator's public keys (``signing_keys``) and each document's station signature
(``document_signatures``); a record without those tables has no signed documents. A
station key's row names the one station it speaks for (``signing_keys.station_id``, added
to the table of an older format 2 record when it is opened for writing). Each trial names
the station it was dispatched to and the worker process that ran it (``trials.station_id``
and ``trials.worker``, added the same way; empty in a record made before them)."""

MIGRATIONS = (
    ("signing_keys", "station_id", "TEXT NOT NULL DEFAULT ''"),
    ("trials", "station_id", "TEXT NOT NULL DEFAULT ''"),
    ("trials", "worker", "TEXT NOT NULL DEFAULT ''"),
)
"""Columns added to a format 2 table after the format was first written: (table, column,
declaration), added by ``ALTER TABLE`` to a record that lacks them."""

SCHEMA = """
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
    station_id TEXT NOT NULL DEFAULT '',
    worker TEXT NOT NULL DEFAULT '',
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
    at REAL NOT NULL,
    actor TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS planner_calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL,
    call_json TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_keys (
    campaign_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    role TEXT NOT NULL,
    public_key TEXT NOT NULL,
    added_at REAL NOT NULL,
    station_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, key_id)
);
CREATE TABLE IF NOT EXISTS document_signatures (
    uid TEXT PRIMARY KEY REFERENCES documents(uid),
    campaign_id TEXT NOT NULL,
    signature_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
"""
