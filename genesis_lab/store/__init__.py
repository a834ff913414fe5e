"""The campaign record (SQLite, WAL): the one source of truth for a campaign."""

from genesis_lab.store._record import (
    CampaignEvent,
    CampaignRecord,
    CampaignRow,
    DocumentRow,
    LedgerEntry,
    Seal,
    SigningKeyRow,
    TrialRow,
    document_key,
)
from genesis_lab.store._schema import RECORD_FORMAT
from genesis_lab.store._states import TERMINAL_STATES, TrialState, can_transition
from genesis_lab.store._verify import RecordProblem, Verification, verify_record

__all__ = [
    "RECORD_FORMAT",
    "TERMINAL_STATES",
    "CampaignEvent",
    "CampaignRecord",
    "CampaignRow",
    "DocumentRow",
    "LedgerEntry",
    "RecordProblem",
    "Seal",
    "SigningKeyRow",
    "TrialRow",
    "TrialState",
    "Verification",
    "can_transition",
    "document_key",
    "verify_record",
]
