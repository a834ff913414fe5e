"""Anchor a record outside its own control: sealed chain heads, pinned keys, noted heads.

A hash chain proves a record was not edited only to someone who knows its head: whoever
can write the file can re-hash the whole chain after an edit. Three anchors close that:

- **Seals.** The orchestrator signs the chain's head with its key at the end of a
  campaign, and when it resumes one (a ``seal`` ledger entry). Re-hashing the chain moves
  every head after the edit, and a forger without the orchestrator's private key cannot
  seal the new one.
- **Pinned keys.** The record holds the public keys it was checked with, and a forger can
  replace them (and re-sign everything with keys of their own). ``verify --trust`` pins the
  keys a reviewer expects: every key the record holds must be one of them (a station's
  for the same station), and the last seal must be by a pinned orchestrator key with
  nothing written after it.
- **A noted head.** ``run`` prints the chain head: ``verify --head HASH`` checks that the
  record's chain still passes through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from genesis_lab.security import PublicKey, public_key_from_pem, verify_record_head
from genesis_lab.store import CampaignRecord, RecordProblem

__all__ = ["SealCheck", "check_noted_head", "check_pinned_keys", "check_seals"]


@dataclass
class SealCheck:
    """The record's seals, how many verify, the last verified one's head and who sealed
    (``signer (key id)``), and every problem."""

    seals: int = 0
    verified: int = 0
    sealed_head: str | None = None
    unsealed_after: int = 0
    sealers: set[str] = field(default_factory=set)
    problems: list[RecordProblem] = field(default_factory=list)


def check_seals(record: CampaignRecord, pinned: Sequence[PublicKey] = ()) -> SealCheck:
    """Verify every seal against the orchestrator's key: a pinned one (``pinned`` keys
    bound to no station) if any is given, else the key the record holds for the campaign.
    With pinned keys, the record must end with a seal by one of them."""
    result = SealCheck()
    entries = record.ledger()
    prev_of = {entry.seq: entry.prev_hash for entry in entries}
    orchestrators = {k.key_id: k for k in pinned if k.station_id is None}
    last_verified_seq = 0
    for seal in record.seals():
        result.seals += 1
        where = f"seal (ledger entry {seal.seq}) of campaign {seal.campaign_id}"
        key_id = str(seal.signature.get("key_id"))
        if prev_of.get(seal.seq) != seal.head:
            result.problems.append(
                RecordProblem(where, "seals a head that is not the entry before it")
            )
            continue
        key = _sealing_key(record, seal.campaign_id, key_id, orchestrators)
        if key is None:
            source = "pinned with --trust" if orchestrators else "the record holds"
            result.problems.append(
                RecordProblem(where, f"made with key {key_id}, not an orchestrator key {source}")
            )
            continue
        if not verify_record_head(key, seal.campaign_id, seal.head, seal.signature):
            result.problems.append(
                RecordProblem(
                    where,
                    f"does not match the signature of key {key_id}: the chain before it was "
                    "rewritten, or the seal forged",
                )
            )
            continue
        result.verified += 1
        result.sealed_head = seal.head
        result.sealers.add(f"{seal.signature.get('signer')} ({key_id})")
        last_verified_seq = seal.seq
    result.unsealed_after = sum(entry.seq > last_verified_seq for entry in entries)
    if orchestrators and result.unsealed_after:
        what = (
            "no seal by a pinned orchestrator key"
            if not last_verified_seq
            else f"{result.unsealed_after} entries after the last seal are not sealed"
        )
        result.problems.append(
            RecordProblem(
                "record",
                f"{what}: written after the orchestrator signed the head, or rewritten",
            )
        )
    return result


def _sealing_key(
    record: CampaignRecord, campaign_id: str, key_id: str, pinned: dict[str, PublicKey]
) -> PublicKey | None:
    if pinned:
        return pinned.get(key_id)
    row = record.signing_keys(campaign_id).get(key_id)
    if row is None or row.role != "orchestrator":
        return None
    try:
        return public_key_from_pem(row.public_key)
    except ValueError:
        return None


def check_pinned_keys(record: CampaignRecord, pinned: Sequence[PublicKey]) -> list[RecordProblem]:
    """Every key the record holds must be a pinned one: a station key pinned for the same
    station, an orchestrator key pinned for none."""
    by_id = {key.key_id: key for key in pinned}
    problems = []
    for campaign in record.campaigns():
        for key_id, row in record.signing_keys(campaign.campaign_id).items():
            where = f"campaign {campaign.campaign_id}: {row.role} key {key_id}"
            key = by_id.get(key_id)
            if key is None:
                problems.append(
                    RecordProblem(where, "is not one of the keys pinned with --trust: replaced?")
                )
            elif (key.station_id or "") != row.station_id:
                bound = f"station {key.station_id!r}" if key.station_id else "no station"
                problems.append(
                    RecordProblem(
                        where,
                        f"is bound to station {row.station_id!r} in the record, but pinned "
                        f"for {bound}",
                    )
                )
    return problems


def check_noted_head(record: CampaignRecord, head: str) -> list[RecordProblem]:
    """The record's chain must pass through ``head`` (a head noted elsewhere earlier)."""
    if any(entry.hash == head for entry in record.ledger()):
        return []
    return [
        RecordProblem(
            "record",
            f"its chain does not pass through the noted head {head}: rewritten, or not the "
            "record the head was noted from",
        )
    ]
