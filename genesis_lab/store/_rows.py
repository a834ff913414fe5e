"""What a campaign record returns: its rows as typed values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from genesis_lab.errors import RecordError
from genesis_lab.store._states import TrialState

__all__ = [
    "CampaignEvent",
    "CampaignRow",
    "DocumentRow",
    "LedgerEntry",
    "TrialRow",
    "document_key",
    "outcomes_json",
]


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
    #: The station the trial was dispatched to ("" in a record made before stations were
    #: recorded per trial, and for a prior result).
    station_id: str = ""
    #: The worker process that ran it, as its statuses name it ("" where none said).
    worker: str = ""


class CampaignEvent(NamedTuple):
    """A moment of a campaign's life: ``started``, ``resumed``, ``paused``, ``serving``,
    ``estopped``, ``completed``, ``stopped``, ``failed``; ``actor`` is who did it
    (``user@host``, or what a control message named), ``""`` when nobody said."""

    event: str
    detail: str
    at: float
    actor: str


class LedgerEntry(NamedTuple):
    """One hash-chained entry of the record's ledger (see :mod:`._ledger`)."""

    seq: int
    campaign_id: str
    kind: str
    body: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class DocumentRow:
    uid: str
    trial_id: str
    name: str
    doc: dict[str, Any]


def outcomes_json(outcomes: Mapping[str, float] | None) -> str | None:
    return None if outcomes is None else json.dumps(dict(outcomes), allow_nan=False)


def document_key(doc: Mapping[str, Any]) -> str:
    """The identity of a Bluesky document: ``uid``, or ``datum_id`` for datum documents."""
    key = doc.get("uid") or doc.get("datum_id")
    if not isinstance(key, str) or not key:
        raise RecordError("document has no 'uid' (or 'datum_id'); cannot store it")
    return key
