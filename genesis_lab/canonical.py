"""Canonical JSON: the one way genesis-lab writes a value that is hashed or signed (the
record's ledger, message signatures, document digests), so the same value always gives
the same bytes on every machine."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["canonical_json"]


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON: sorted keys, no spaces, non-ASCII kept, floats as Python
    writes them (``NaN`` and ``Infinity`` kept as JSON's common extension, so a reading is
    never lost)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
