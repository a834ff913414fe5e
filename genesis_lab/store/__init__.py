"""The campaign record (SQLite, WAL): the one source of truth for a campaign."""

from genesis_lab.store._record import (
    RECORD_FORMAT,
    CampaignRecord,
    CampaignRow,
    DocumentRow,
    TrialRow,
    document_key,
)
from genesis_lab.store._states import TERMINAL_STATES, TrialState, can_transition

__all__ = [
    "RECORD_FORMAT",
    "TERMINAL_STATES",
    "CampaignRecord",
    "CampaignRow",
    "DocumentRow",
    "TrialRow",
    "TrialState",
    "can_transition",
    "document_key",
]
