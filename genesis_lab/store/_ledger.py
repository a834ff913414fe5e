"""The record's hash chain: every write to a campaign record is also an entry of its ledger.

An entry is ``(seq, kind, body)``: ``kind`` names the write (``campaign``, ``trial``,
``transition``, ``document``, ...), ``body`` is what was written as canonical JSON (sorted
keys, no spaces). Its hash is ``sha256(prev_hash + "\\n" + kind + "\\n" + body)``, the first
entry's ``prev_hash`` being :data:`GENESIS`. Altering, removing or inserting an entry breaks
the chain from that entry on; the tables a reader queries are checked against the ledger by
:mod:`._verify`. A document's body holds the SHA-256 of its JSON, not the document again.
"""

from __future__ import annotations

import hashlib

__all__ = ["GENESIS", "digest", "entry_hash"]

GENESIS = "0" * 64
"""The ``prev_hash`` of a ledger's first entry."""


def digest(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8), in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(prev_hash: str, kind: str, body: str) -> str:
    """The hash of a ledger entry of ``kind`` and canonical ``body`` after ``prev_hash``."""
    return digest(f"{prev_hash}\n{kind}\n{body}")
