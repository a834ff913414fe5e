"""What a forger with write access to a record file could do: change rows, then re-hash the
whole ledger so that the hash chain verifies again. For the tests that check what
``verify`` and ``replay`` still catch after such a rewrite."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genesis_lab.canonical import canonical_json
from genesis_lab.store._ledger import GENESIS, entry_hash

__all__ = ["rewrite_record"]

#: Given a ledger entry's kind and body, the new body, or None to keep it.
LedgerEdit = Callable[[str, dict[str, Any]], dict[str, Any] | None]


#: Given a campaign id and the new head a seal entry follows, a new signature for it.
Reseal = Callable[[str, str], dict[str, Any]]


def rewrite_record(
    path: Path,
    statements: list[tuple[str, tuple[Any, ...]]],
    edit: LedgerEdit,
    reseal: Reseal | None = None,
) -> None:
    """Run ``statements`` (SQL, arguments) on the record at ``path``, change each ledger
    entry ``edit`` gives a new body for, and re-hash the whole chain after it. A seal entry
    is pointed at its new head, as a forger would, and signed again by ``reseal`` if given
    (a forger's own key), else left with its old signature."""
    db = sqlite3.connect(path)
    try:
        for sql, args in statements:
            db.execute(sql, args)
        prev = GENESIS
        rows = db.execute("SELECT seq, kind, body FROM ledger ORDER BY seq").fetchall()
        for seq, kind, body in rows:
            changed = edit(kind, json.loads(body))
            if kind == "seal":
                changed = {**(changed or json.loads(body)), "head": prev}
                if reseal is not None:
                    changed["signature"] = reseal(changed["campaign_id"], prev)
            if changed is not None:
                body = canonical_json(changed)
            new_hash = entry_hash(prev, kind, body)
            db.execute(
                "UPDATE ledger SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (body, prev, new_hash, seq),
            )
            prev = new_hash
        db.commit()
    finally:
        db.close()
