"""Check incoming Bluesky documents (schema, the run's rules) before storing them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from event_model import DocumentNames, schema_validators

from genesis_lab.messages import DocumentMessage
from genesis_lab.orchestration._trials import InFlight
from genesis_lab.planning import Proposal
from genesis_lab.store import DocumentRow, TrialRow

__all__ = [
    "RunRuleBroken",
    "apply_document",
    "document_problem",
    "order_problem",
    "run_of",
    "run_problem",
]


def document_problem(name: str, doc: Mapping[str, Any]) -> str | None:
    """Why ``doc`` is not a valid Bluesky ``name`` document, or ``None`` if it is."""
    try:
        validator = schema_validators[DocumentNames[name]]
    except KeyError:
        return f"unknown document type {name!r}"
    try:
        validator.validate(dict(doc))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "document"
        return f"invalid {name} document: {where}: {exc.message}"
    return None


def run_problem(message: DocumentMessage, station_id: str) -> str | None:
    """Why ``message`` cannot be a document of its trial's run at all, if so: a start
    document must name the campaign, the trial and the station (``station_id``, the one
    the trial was dispatched to) that the message is for. Refused for good."""
    if message.name != "start":
        return None
    for key, want in (
        ("campaign_id", message.campaign_id),
        ("trial_id", message.trial_id),
        ("station_id", station_id),
    ):
        found = message.doc.get(key)
        if found != want:
            return f"its start document names {key} {found!r}, not {want!r}"
    return None


@dataclass(frozen=True)
class RunRuleBroken:
    """Why a document cannot be stored as part of its trial's run. ``final``: it never can
    (a second start or stop, an event the stop does not count): refused for good. Not
    final: it came too early (before the start or its descriptor) and may fit once what
    should come first is stored, so it is not acknowledged and its worker sends it again."""

    why: str
    final: bool


def order_problem(message: DocumentMessage, trial: InFlight) -> RunRuleBroken | None:
    """Why ``message`` cannot be a document of ``trial``'s run, if so; for a trial in flight
    or ended alike (a copy of a stored document, same uid, passes: it is a duplicate).

    One start; the stop and each descriptor name the run's start; one stop; an event names
    one of the run's descriptors and a ``seq_num`` no other event of its stream took, and
    once the stop is stored, one within the count the stop gives its stream (a document the
    broker dropped and the worker sent again may come after the stop, nothing else)."""
    name, doc, uid = message.name, message.doc, message.doc.get("uid")
    if name == "start":
        if trial.run_uid is not None and uid != trial.run_uid:
            return RunRuleBroken(f"a second start document (run {trial.run_uid} started)", True)
        return None
    if trial.run_uid is None:
        return RunRuleBroken(f"{name} document before the run's start document", False)
    if name in ("stop", "descriptor") and doc.get("run_start") != trial.run_uid:
        return RunRuleBroken(
            f"{name} document of run {doc.get('run_start')}, not of run {trial.run_uid}", True
        )
    if name == "stop" and trial.stop_uid is not None and uid != trial.stop_uid:
        return RunRuleBroken(f"a second stop document (run {trial.run_uid} has stopped)", True)
    if name == "event":
        return _event_problem(doc, trial)
    return None


def _event_problem(doc: Mapping[str, Any], trial: InFlight) -> RunRuleBroken | None:
    descriptor, seq, uid = doc.get("descriptor"), doc.get("seq_num"), doc.get("uid")
    if descriptor not in trial.descriptors:
        # Its descriptor may still come (sent again after a drop); not before the stop
        # says which streams the run had and every one of their descriptors is stored.
        final = trial.stop_seen and set(trial.stream_events) <= set(trial.streams.values())
        return RunRuleBroken(
            f"event of descriptor {descriptor}, not one of run {trial.run_uid}'s", final
        )
    by_seq = trial.seq_nums.get(str(descriptor), {})
    taken = by_seq.get(seq) if isinstance(seq, int) else None
    if taken is not None and taken != uid:
        return RunRuleBroken(
            f"a second event with seq_num {seq} of descriptor {descriptor} (another uid)", True
        )
    if taken is None and trial.stop_seen:
        count = trial.stream_events.get(trial.streams.get(str(descriptor), ""), 0)
        if not isinstance(seq, int) or not 1 <= seq <= count:
            return RunRuleBroken(
                f"event seq_num {seq} after the stop, which counts {count} in its stream", True
            )
    return None


def apply_document(
    trial: InFlight, name: str, doc: Mapping[str, Any], readings: Mapping[str, str]
) -> None:
    """What a stored document of ``trial``'s run tells: the run's uid (start), the values of
    ``readings`` (objective name -> data key) in an event (their mean over the run's events:
    replicate measurements), that the run ended and how many events it had (stop). Call
    once per stored document."""
    trial.documents_stored += 1
    if name == "start":
        trial.run_uid = str(doc.get("uid"))
    elif name == "descriptor":
        trial.descriptors.add(str(doc.get("uid")))
        trial.streams[str(doc.get("uid"))] = str(doc.get("name", "primary"))
    elif name == "event":
        trial.events_stored += 1
        seq = doc.get("seq_num")
        if isinstance(seq, int):
            by_seq = trial.seq_nums.setdefault(str(doc.get("descriptor")), {})
            by_seq[seq] = str(doc.get("uid"))
        data = doc.get("data", {})
        for objective, reading in readings.items():
            value = data.get(reading)
            if isinstance(value, int | float) and not isinstance(value, bool):
                count = trial.readings_seen.get(objective, 0) + 1
                mean = trial.outcomes.get(objective, 0.0)
                trial.outcomes[objective] = mean + (float(value) - mean) / count
                trial.readings_seen[objective] = count
    elif name == "stop":
        trial.stop_seen = True
        trial.stop_uid = str(doc.get("uid"))
        counts = doc.get("num_events") or {}
        trial.stream_events = {str(k): n for k, n in counts.items() if isinstance(n, int)}
        trial.events_expected = sum(trial.stream_events.values())


def run_of(
    row: TrialRow, documents: Iterable[DocumentRow], readings: Mapping[str, str]
) -> InFlight:
    """Trial ``row``'s run as its stored ``documents`` (in the order stored) give it."""
    trial = InFlight(Proposal(row.trial_id, dict(row.parameters), row.origin), 0.0)
    trial.state = row.state
    for doc in documents:
        apply_document(trial, doc.name, doc.doc, readings)
    return trial
