"""Every check of a record in one: what ``verify``, ``report`` and ``export`` rely on.

The hash chain and the tables against it (:func:`genesis_lab.store.verify_record`), each
document's station signature (:mod:`._signatures`), each completed trial's result against
its own run's documents (:mod:`._measured`), the seals and, when given, the pinned keys and
a noted head (:mod:`._seals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from genesis_lab.orchestration._signatures import SignatureCheck, check_document_signatures
from genesis_lab.review._measured import check_trial_outcomes
from genesis_lab.review._seals import (
    SealCheck,
    check_noted_head,
    check_pinned_keys,
    check_seals,
)
from genesis_lab.security import PublicKey
from genesis_lab.store import CampaignRecord, Verification, verify_record

__all__ = ["IntegrityCheck", "check_record"]


@dataclass
class IntegrityCheck:
    """What every check found: ``chain`` holds the chain's length and head and, in its
    ``problems``, every problem any check found (the chain's first)."""

    chain: Verification
    signatures: SignatureCheck
    seals: SealCheck

    @property
    def ok(self) -> bool:
        return self.chain.ok


def check_record(
    record: CampaignRecord, pinned: Sequence[PublicKey] = (), head: str | None = None
) -> IntegrityCheck:
    """Run every check on ``record`` (see the module); ``pinned`` keys and a noted ``head``
    are checked when given."""
    chain = verify_record(record)
    signatures = check_document_signatures(record)
    seals = check_seals(record, pinned)
    chain.problems += signatures.problems + check_trial_outcomes(record) + seals.problems
    if pinned:
        chain.problems += check_pinned_keys(record, pinned)
    if head is not None:
        chain.problems += check_noted_head(record, head)
    return IntegrityCheck(chain, signatures, seals)
