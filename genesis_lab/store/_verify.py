"""Check a campaign record against its hash chain: was anything altered, removed or inserted?

Two passes. The chain: every ledger entry must follow the one before it (``prev_hash``) and
hash to what it says (:func:`._ledger.entry_hash`), with no gap in the numbering. The tables:
what a reader queries (campaigns, events, trials, transitions, documents, planner calls)
must be exactly what the ledger's entries say was written, field by field; a document by
the SHA-256 of its stored JSON, its station signature and the campaign's public keys as
recorded (whether each signature is the station's is checked by ``genesis-lab verify``
with :func:`genesis_lab.security.verify_document_signature`). Every difference is a
:class:`RecordProblem` naming the entry, the trial, the document's uid and the field.

What it cannot see: someone who rewrites the whole chain consistently from the altered
entry to the end. The head (``CampaignRecord.chain_head``) printed when a campaign ends,
noted elsewhere, closes that gap: a rewritten chain ends on a different hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from genesis_lab.canonical import canonical_json
from genesis_lab.store._ledger import GENESIS, digest, entry_hash
from genesis_lab.store._record import CampaignRecord
from genesis_lab.store._schema import RECORD_FORMAT

__all__ = ["RecordProblem", "Verification", "verify_record"]

_ENDINGS = frozenset({"completed", "stopped", "failed"})


@dataclass(frozen=True)
class RecordProblem:
    """One place where the record is not what was written: ``where`` names it (a ledger
    entry, a trial's field, a document's uid), ``what`` says how it differs."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Verification:
    """The outcome of :func:`verify_record`: ``ok`` when no problem was found."""

    entries: int
    head: str
    problems: list[RecordProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_record(record: CampaignRecord) -> Verification:
    """Check ``record``'s chain and tables; the first problem is the earliest entry found
    altered, removed or inserted."""
    if record.format < RECORD_FORMAT:
        problem = RecordProblem(
            "record",
            f"format {record.format} has no hash chain (format {RECORD_FORMAT} does); it "
            "cannot be verified",
        )
        return Verification(0, GENESIS, [problem])
    entries = record.ledger()
    result = Verification(len(entries), entries[-1].hash if entries else GENESIS)
    result.problems += _check_chain(entries)
    bodies: list[tuple[int, str, dict[str, Any]]] = []
    for entry in entries:
        try:
            bodies.append((entry.seq, entry.kind, json.loads(entry.body)))
        except ValueError:
            continue  # already reported: its hash cannot match
    result.problems += _TableCheck(record, bodies).run()
    return result


def _check_chain(entries: Iterable[Any]) -> list[RecordProblem]:
    problems = []
    expected, prev = 1, GENESIS
    for entry in entries:
        where = f"ledger entry {entry.seq} ({entry.kind})"
        if entry.seq != expected:
            gap = f"{expected}" if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
            problems.append(RecordProblem(f"ledger entry {gap}", "removed (a gap in the chain)"))
        elif entry.prev_hash != prev:
            problems.append(
                RecordProblem(
                    where,
                    "does not follow the entry before it: that entry was altered and hashed "
                    "again, or an entry was removed or inserted between them",
                )
            )
        if entry_hash(entry.prev_hash, entry.kind, entry.body) != entry.hash:
            problems.append(RecordProblem(where, "altered: its content does not match its hash"))
        expected, prev = entry.seq + 1, entry.hash
    return problems


def _same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


class _TableCheck:
    """Compares each table of ``record`` with what the ledger's ``bodies`` say was written."""

    def __init__(self, record: CampaignRecord, bodies: list[tuple[int, str, dict[str, Any]]]):
        self.record = record
        self.bodies = bodies
        self.problems: list[RecordProblem] = []

    def run(self) -> list[RecordProblem]:
        campaign_ids = [c.campaign_id for c in self.record.campaigns()]
        written = [b["campaign_id"] for _, kind, b in self.bodies if kind == "campaign"]
        for extra in sorted(set(campaign_ids) - set(written)):
            self._problem(f"campaign {extra}", "not in the ledger: inserted afterwards")
        for missing in sorted(set(written) - set(campaign_ids)):
            self._problem(f"campaign {missing}", "in the ledger but removed from the record")
        for campaign_id in dict.fromkeys(written):
            if campaign_id in campaign_ids:
                self._campaign(campaign_id)
        return self.problems

    def _problem(self, where: str, what: str) -> None:
        self.problems.append(RecordProblem(where, what))

    def _of(self, campaign_id: str, *kinds: str) -> list[tuple[int, str, dict[str, Any]]]:
        return [e for e in self.bodies if e[1] in kinds and e[2].get("campaign_id") == campaign_id]

    def _campaign(self, cid: str) -> None:
        self._campaign_row(cid)
        self._events(cid)
        self._trials(cid)
        self._transitions(cid)
        self._documents(cid)
        self._signatures(cid)
        self._signing_keys(cid)
        self._planner_calls(cid)

    def _campaign_row(self, cid: str) -> None:
        row = next(c for c in self.record.campaigns() if c.campaign_id == cid)
        _, _, start = self._of(cid, "campaign")[0]
        expected: dict[str, Any] = {
            "name": start["name"],
            "spec": start["spec"],
            "spec_text": start["spec_text"],
            "versions": start["versions"],
            "started_at": start["started_at"],
            "status": "running",
            "stop_reason": "",
            "finished_at": None,
        }
        for _, _, event in self._of(cid, "event"):
            if event["event"] == "resumed":
                expected.update(status="running", stop_reason="", finished_at=None)
            elif event["event"] in _ENDINGS:
                expected.update(
                    status=event["event"], stop_reason=event["detail"], finished_at=event["at"]
                )
        for name, value in expected.items():
            if not _same(getattr(row, name), value):
                self._problem(f"campaign {cid}", f"{name} differs from what was recorded")

    def _events(self, cid: str) -> None:
        table = [tuple(e) for e in self.record.campaign_events(cid)]
        ledger = [
            (b["event"], b["detail"], b["at"], b["actor"]) for _, _, b in self._of(cid, "event")
        ]
        self._sequence(f"campaign {cid}: event", table, ledger)

    def _sequence(self, what: str, table: list[Any], ledger: list[Any]) -> None:
        """Compare two ordered lists of rows; report the first difference."""
        for i, (got, want) in enumerate(zip(table, ledger, strict=False)):
            if not _same(list(got), list(want)):
                self._problem(f"{what} {i + 1}", f"{got!r} differs from what was recorded")
                return
        if len(table) > len(ledger):
            self._problem(f"{what} {len(ledger) + 1}", "not in the ledger: inserted afterwards")
        elif len(table) < len(ledger):
            self._problem(f"{what} {len(table) + 1}", "in the ledger but removed from the record")

    def _trials(self, cid: str) -> None:
        expected: dict[str, dict[str, Any]] = {}
        for _, kind, b in self._of(cid, "trial", "prior", "transition"):
            tid = b["trial_id"]
            if kind == "trial":
                expected[tid] = {
                    "state": "PROPOSED",
                    "parameters": b["parameters"],
                    "origin": b["origin"],
                    "explanation": b["explanation"],
                    "outcome": None,
                    "outcomes": None,
                    "reason": "",
                    "run_uid": None,
                    "proposed_at": b["at"],
                    "updated_at": b["at"],
                    "station_id": "",
                    "worker": "",
                }
            elif kind == "prior":
                expected[tid] = {
                    "state": "COMPLETED",
                    "parameters": b["parameters"],
                    "origin": "prior",
                    "explanation": None,
                    "outcome": b["outcome"],
                    "outcomes": b["outcomes"],
                    "reason": b["reason"],
                    "run_uid": None,
                    "proposed_at": b["at"],
                    "updated_at": b["at"],
                    "station_id": "",
                    "worker": "",
                }
            elif tid in expected:
                trial = expected[tid]
                trial.update(state=b["to_state"], reason=b["reason"], updated_at=b["at"])
                for name in ("outcome", "outcomes", "run_uid", "station_id", "worker"):
                    if b.get(name) is not None:  # station_id, worker: absent in older entries
                        trial[name] = b[name]
        rows = {row.trial_id: row for row in self.record.trials(cid)}
        for tid in sorted(set(rows) - set(expected)):
            self._problem(f"trial {tid}", "not in the ledger: inserted afterwards")
        for tid, want in expected.items():
            row = rows.get(tid)
            if row is None:
                self._problem(f"trial {tid}", "in the ledger but removed from the record")
                continue
            for name, value in want.items():
                got = str(row.state) if name == "state" else getattr(row, name)
                if not _same(got, value):
                    self._problem(
                        f"trial {tid}", f"{name} is {got!r}; the ledger recorded {value!r}"
                    )

    def _transitions(self, cid: str) -> None:
        ledger = []
        for _, kind, b in self._of(cid, "trial", "prior", "transition"):
            if kind == "trial":
                ledger.append((b["trial_id"], None, "PROPOSED", "", b["at"]))
            elif kind == "prior":
                ledger.append((b["trial_id"], None, "COMPLETED", b["reason"], b["at"]))
            else:
                ledger.append((b["trial_id"], b["from_state"], b["to_state"], b["reason"], b["at"]))
        self._sequence(f"campaign {cid}: transition", self.record.transitions(cid), ledger)

    def _documents(self, cid: str) -> None:
        ledger = {b["uid"]: b for _, _, b in self._of(cid, "document")}
        stored = self.record.stored_documents(cid)
        for uid, (trial_id, name, text, received_at) in stored.items():
            want = ledger.get(uid)
            where = f"document {uid} ({name} of trial {trial_id})"
            if want is None:
                self._problem(where, "not in the ledger: inserted afterwards")
            elif digest(text) != want["sha256"]:
                self._problem(where, "altered: its JSON does not match the SHA-256 recorded")
            elif (trial_id, name, received_at) != (
                want["trial_id"],
                want["name"],
                want["received_at"],
            ):
                self._problem(where, "its trial, name or time differs from what was recorded")
        for uid in ledger.keys() - stored.keys():
            b = ledger[uid]
            where = f"document {uid} ({b['name']} of trial {b['trial_id']})"
            self._problem(where, "in the ledger but removed from the record")

    def _signatures(self, cid: str) -> None:
        ledger = {b["uid"]: b for _, _, b in self._of(cid, "document") if "signature" in b}
        stored = self.record.document_signatures(cid)
        for uid in sorted(stored.keys() | ledger.keys()):
            where = f"signature of document {uid}"
            if uid not in ledger:
                self._problem(where, "not in the ledger: inserted afterwards")
            elif uid not in stored:
                self._problem(where, "in the ledger but removed from the record")
            elif not _same(stored[uid], ledger[uid]["signature"]):
                self._problem(where, "differs from what was recorded")

    def _signing_keys(self, cid: str) -> None:
        ledger = {b["key_id"]: b for _, _, b in self._of(cid, "signing-key")}
        stored = self.record.signing_keys(cid)
        for key_id in sorted(stored.keys() | ledger.keys()):
            where = f"campaign {cid}: signing key {key_id}"
            if key_id not in ledger:
                self._problem(where, "not in the ledger: inserted afterwards")
            elif key_id not in stored:
                self._problem(where, "in the ledger but removed from the record")
            else:
                row, want = stored[key_id], ledger[key_id]
                if (row.role, row.public_key, row.added_at, row.station_id) != (
                    want["role"],
                    want["public_key"],
                    want["added_at"],
                    want.get("station_id", ""),
                ):
                    self._problem(where, "differs from what was recorded")

    def _planner_calls(self, cid: str) -> None:
        ledger = [[b["call"]] for _, _, b in self._of(cid, "planner")]
        table = [[call] for call in self.record.planner_calls(cid)]
        self._sequence(f"campaign {cid}: planner call", table, ledger)
