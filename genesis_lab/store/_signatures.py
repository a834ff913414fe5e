"""What a record keeps to prove who produced each measurement: the public keys a campaign
trusted (``signing_keys``) and each document's station signature (``document_signatures``).

Both are ledger entries like every other write: a key as a ``signing-key`` entry, a
signature inside its document's ``document`` entry. The record only stores them; checking
a signature is :func:`genesis_lab.security.verify_document_signature`'s job (the store does
not depend on the security package), put together by ``genesis-lab verify``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

__all__ = ["Seal", "SignatureTables", "SigningKeyRow"]


class Seal(NamedTuple):
    """The chain's head as the orchestrator signed it: ``seq`` is the seal's own ledger
    entry, ``head`` the hash of the entry before it (what was signed), ``signature`` what
    the signer returned (key id, signer, time, signature)."""

    seq: int
    campaign_id: str
    head: str
    signature: dict[str, Any]


class SigningKeyRow(NamedTuple):
    """A public key a campaign used: ``role`` is ``station`` (signs documents and statuses)
    or ``orchestrator`` (signs requests); ``public_key`` is its PEM text; ``station_id``
    the one station a station key speaks for ("" for other keys, and for a station key
    recorded before keys were bound to stations)."""

    key_id: str
    role: str
    public_key: str
    added_at: float
    station_id: str = ""


class SignatureTables:
    """The record's key and signature tables (a part of :class:`CampaignRecord`)."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    @staticmethod
    def _append(db: sqlite3.Connection, campaign_id: str, kind: str, **body: Any) -> None:
        raise NotImplementedError

    def add_signing_key(
        self, campaign_id: str, *, key_id: str, role: str, public_key: str, station_id: str = ""
    ) -> None:
        """Keep a public key the campaign trusts or signs with (once per campaign); a
        station key with the station it speaks for."""
        now = time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO signing_keys"
                " (campaign_id, key_id, role, public_key, added_at, station_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (campaign_id, key_id, role, public_key, now, station_id),
            )
            if cursor.rowcount == 1:
                bound = {"station_id": station_id} if station_id else {}
                self._append(
                    db,
                    campaign_id,
                    "signing-key",
                    key_id=key_id,
                    role=role,
                    public_key=public_key,
                    added_at=now,
                    **bound,
                )

    def seal(self, campaign_id: str, sign: Callable[[str], Mapping[str, Any]]) -> str:
        """Anchor the chain: ``sign(head)`` signs the hash of the ledger's last entry, and
        the signature is chained as a ``seal`` entry in the same transaction (so nothing
        comes between the head and its seal). Returns the sealed head."""
        with self._write() as db:
            last = db.execute("SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
            if last is None:
                raise ValueError("an empty record has no head to seal")
            head = str(last[0])
            self._append(db, campaign_id, "seal", head=head, signature=dict(sign(head)))
        return head

    def seals(self) -> list[Seal]:
        """Every seal of the record's chain, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, campaign_id, body FROM ledger WHERE kind = 'seal' ORDER BY seq"
            ).fetchall()
        seals = []
        for seq, campaign_id, body in rows:
            try:
                data = json.loads(body)
                seals.append(Seal(seq, campaign_id, str(data["head"]), dict(data["signature"])))
            except (ValueError, KeyError, TypeError):
                continue  # an altered entry: its hash says so
        return seals

    @staticmethod
    def _add_signature(
        db: sqlite3.Connection, uid: str, campaign_id: str, signature: Mapping[str, Any]
    ) -> None:
        db.execute(
            "INSERT INTO document_signatures VALUES (?, ?, ?)",
            (uid, campaign_id, json.dumps(dict(signature), sort_keys=True)),
        )

    def _rows(self, query: str, campaign_id: str) -> Iterator[tuple[Any, ...]]:
        """Rows of a table a record written before it existed may lack (then none)."""
        with self._lock:
            try:
                rows = self._db.execute(query, (campaign_id,)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return iter(())
                raise
        return iter(rows)

    def signing_keys(self, campaign_id: str) -> dict[str, SigningKeyRow]:
        """The public keys the campaign trusted or signed with, by key id."""
        try:
            rows = self._rows(
                "SELECT key_id, role, public_key, added_at, station_id FROM signing_keys"
                " WHERE campaign_id = ? ORDER BY added_at, key_id",
                campaign_id,
            )
        except sqlite3.OperationalError as exc:  # a record from before keys had stations
            if "no such column" not in str(exc):
                raise
            rows = self._rows(
                "SELECT key_id, role, public_key, added_at FROM signing_keys"
                " WHERE campaign_id = ? ORDER BY added_at, key_id",
                campaign_id,
            )
        return {row[0]: SigningKeyRow(*row) for row in rows}

    def document_signatures(self, campaign_id: str) -> dict[str, dict[str, Any]]:
        """``uid -> signature`` (station id, key id, signer, nonce, timestamp, signature)
        of every signed document of the campaign."""
        rows = self._rows(
            "SELECT uid, signature_json FROM document_signatures WHERE campaign_id = ?"
            " ORDER BY rowid",
            campaign_id,
        )
        return {row[0]: json.loads(row[1]) for row in rows}
