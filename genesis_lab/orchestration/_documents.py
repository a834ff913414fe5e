"""Check incoming Bluesky documents (schema, order within the run) before storing them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from event_model import DocumentNames, schema_validators

from genesis_lab.messages import DocumentMessage
from genesis_lab.orchestration._trials import InFlight

__all__ = ["apply_document", "document_problem", "order_problem", "run_problem"]


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


def order_problem(message: DocumentMessage, trial: InFlight | None) -> str | None:
    """Why ``message`` cannot be a document of ``trial``'s run in the order received, if so.

    A trial that has ended has no order left to check (a late copy is stored or dropped as a
    duplicate by uid). In flight: the start comes first and once, the stop names the run's
    start, a descriptor names the run's start, an event one of the run's descriptors (the
    trial's result comes from that run alone), and after the stop only what it says is
    missing may come (a document the broker dropped and the worker sent again): no event
    beyond its ``num_events``.
    """
    if trial is None:
        return None
    name, doc = message.name, message.doc
    if name == "start":
        if trial.run_uid is not None and doc.get("uid") != trial.run_uid:
            return f"a second start document (run {trial.run_uid} has started)"
        return None
    if trial.run_uid is None:
        return f"{name} document before the run's start document"
    if trial.stop_seen and name == "event" and trial.events_stored >= trial.events_expected:
        return f"event document beyond the stop's num_events ({trial.events_expected})"
    if trial.stop_seen and name == "start":
        return "start document after the run's stop document"
    if name in ("stop", "descriptor") and doc.get("run_start") != trial.run_uid:
        return f"{name} document of run {doc.get('run_start')}, not of run {trial.run_uid}"
    if name == "event":
        descriptor, seq = doc.get("descriptor"), doc.get("seq_num")
        if descriptor not in trial.descriptors:
            return f"event of descriptor {descriptor}, not one of run {trial.run_uid}'s"
        taken = trial.seq_nums.get(str(descriptor), {}).get(seq) if isinstance(seq, int) else None
        if taken is not None and taken != doc.get("uid"):
            return f"a second event with seq_num {seq} of descriptor {descriptor} (another uid)"
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
        counts = doc.get("num_events") or {}
        trial.stream_events = {str(k): n for k, n in counts.items() if isinstance(n, int)}
        trial.events_expected = sum(trial.stream_events.values())
