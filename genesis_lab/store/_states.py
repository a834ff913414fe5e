"""The trial life cycle of ARCHITECTURE.md: states and the transitions allowed between them.

::

    PROPOSED ─► DISPATCHED ─► RUNNING ─► COMPLETED
        │            │            ├────► FAILED
        ├────────────┴────────────┴────► ABANDONED (timeout, or the campaign was stopped)
        └──► REJECTED (also from DISPATCHED: the worker's envelope refused it)
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL_STATES", "TrialState", "can_transition"]


class TrialState(StrEnum):
    PROPOSED = "PROPOSED"
    DISPATCHED = "DISPATCHED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"
    REJECTED = "REJECTED"


TERMINAL_STATES = frozenset(
    {TrialState.COMPLETED, TrialState.FAILED, TrialState.ABANDONED, TrialState.REJECTED}
)

_ALLOWED: dict[TrialState, frozenset[TrialState]] = {
    TrialState.PROPOSED: frozenset(
        {TrialState.DISPATCHED, TrialState.REJECTED, TrialState.ABANDONED}
    ),
    TrialState.DISPATCHED: frozenset(
        {
            TrialState.RUNNING,
            TrialState.FAILED,
            TrialState.ABANDONED,
            TrialState.REJECTED,
        }
    ),
    TrialState.RUNNING: frozenset({TrialState.COMPLETED, TrialState.FAILED, TrialState.ABANDONED}),
}


def can_transition(current: TrialState, new: TrialState) -> bool:
    """Whether the life cycle allows ``current -> new``."""
    return new in _ALLOWED.get(current, frozenset())
