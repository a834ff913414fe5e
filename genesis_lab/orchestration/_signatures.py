"""Check, offline, that each signed document of a record is what its station signed.

The orchestrator stores a document with its station's signature when it was given the
station's public key (which it then keeps in the record too). The signature covers a
statement the record can rebuild, ``{campaign, trial, station, document name, SHA-256 of
the document's canonical JSON}``, so whoever holds the record can check which station
produced each measurement, without the station and without trusting the record's writer:
even a record rewritten with a consistent hash chain cannot carry a changed measurement
with a valid signature. A station's key speaks for its own station only: a document must
be signed by the key the record binds to the campaign's station, and name that station.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from genesis_lab.security import MessageSigning, verify_document_signature
from genesis_lab.store import CampaignRecord, RecordProblem

__all__ = ["SignatureCheck", "check_document_signatures", "record_signing_keys"]


@dataclass
class SignatureCheck:
    """How many documents the record holds, how many carry a station signature, how many
    of those verify, the signing stations (``signer (key id)``), and every problem."""

    documents: int = 0
    signed: int = 0
    verified: int = 0
    signers: set[str] = field(default_factory=set)
    problems: list[RecordProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_document_signatures(record: CampaignRecord) -> SignatureCheck:
    """Verify every document signature of every campaign in ``record`` with the public
    keys the record holds."""
    result = SignatureCheck()
    for campaign in record.campaigns():
        cid = campaign.campaign_id
        station = campaign.spec.get("station", {})
        station_id = str(station.get("id") or station.get("plugin"))
        keys = record.signing_keys(cid)
        signatures = record.document_signatures(cid)
        stored = record.stored_documents(cid)
        result.documents += len(stored)
        if any(key.role == "station" for key in keys.values()):  # run with station trust
            for uid in sorted(stored.keys() - signatures.keys()):
                trial_id, name = stored[uid][:2]
                result.problems.append(
                    RecordProblem(
                        f"document {uid} ({name} of trial {trial_id})",
                        "carries no station signature, in a campaign that accepted only "
                        "signed results: its signature was removed, or it was inserted",
                    )
                )
        for uid, signature in signatures.items():
            result.signed += 1
            where = f"signature of document {uid}"
            if uid not in stored:
                continue  # the ledger check names a removed document
            trial_id, name, text, _ = stored[uid]
            key_id = str(signature.get("key_id"))
            key = keys.get(key_id)
            if key is None or key.role != "station":
                result.problems.append(
                    RecordProblem(
                        where, f"made with key {key_id}, not a station key the record holds"
                    )
                )
                continue
            claimed = signature.get("station_id")
            if key.station_id != station_id or claimed != station_id:
                speaks_for = f"station {key.station_id!r}" if key.station_id else "no station"
                result.problems.append(
                    RecordProblem(
                        f"document {uid} of trial {trial_id}",
                        f"signed for station {claimed!r} with key {key_id}, which the record "
                        f"binds to {speaks_for}; the campaign's station is {station_id!r}",
                    )
                )
                continue
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            if not isinstance(doc, dict) or not verify_document_signature(
                key.public_key,
                campaign_id=cid,
                trial_id=trial_id,
                name=name,
                doc=doc,
                signature=signature,
            ):
                result.problems.append(
                    RecordProblem(
                        f"document {uid} ({name} of trial {trial_id})",
                        f"does not match the signature of {signature.get('signer')!r} (key "
                        f"{key_id}): altered after the station signed it",
                    )
                )
                continue
            result.verified += 1
            result.signers.add(f"{signature.get('signer')} ({key_id})")
    return result


def record_signing_keys(record: CampaignRecord, campaign_id: str, signing: MessageSigning) -> None:
    """Keep in the record the stations' public keys the campaign trusts and the
    orchestrator's own, so its documents' signatures can be checked from the record alone."""
    for key in signing.trusted:
        record.add_signing_key(
            campaign_id,
            key_id=key.key_id,
            role="station",
            public_key=key.pem,
            station_id=key.station_id or "",
        )
    if signing.key is not None:
        own = signing.key.public
        record.add_signing_key(
            campaign_id, key_id=own.key_id, role="orchestrator", public_key=own.pem
        )
