"""A campaign exported to the formats the ecosystem reads: Bluesky JSON Lines and CSV.

**Documents.** Each line of a ``.jsonl`` file is the JSON array ``[name, doc]``: the
convention suitcase-jsonl writes and databroker's JSONL readers (its intake catalog and
its tiled adapter: ``name, doc = json.loads(line)``, the first line a start, the last a
stop) consume. By default there is one file per run, ``<run start uid>.jsonl`` (the name
suitcase-jsonl gives it), or ``<campaign id>-<trial id>.jsonl`` for a run whose start
document is not in the record; with ``one_stream`` every run goes, one after the other in
record order, into ``<campaign id>.jsonl`` (a stream for event-model's ``RunRouter`` or
any consumer of several runs; databroker's readers take one run a file).

A run is written start first and stop last, the rest in the order the record received it,
except that an event waits for its descriptor and a datum for its resource: delivery is
at least once, so a document the broker dropped may have been stored after the stop when
the worker sent it again. How many documents moved is reported.

Every document is checked against event-model's JSON schema before it is written. An
invalid one is *not* written (the files stay event-model-valid, which is what their readers
rely on); it is listed in :attr:`ExportSummary.invalid` with its name, uid, trial and the
schema's complaint, and everything valid is still written. A run without its start or
stop (a trial abandoned mid-run) is written as far as it goes, with a warning.

**Trials.** ``<campaign id>-trials.csv``: one row a trial in the order proposed; columns
``trial_id, state, origin``, each parameter in campaign order, each objective and outcome
constraint by name (header ``name (units)`` where the campaign gives units), then
``reason, run_uid, proposed_at, updated_at`` (ISO 8601, UTC). Numbers are written in
Python's shortest round-trip form (``float(cell)`` gives the recorded value back
exactly), a missing value as an empty cell; the csv module quotes commas, quotes and newlines. The
file is UTF-8 with a byte-order mark, so Excel shows units such as ``ΔA×100`` correctly
(pandas and ``encoding="utf-8-sig"`` read it).

Files are written to a temporary name and renamed into place: an export that is run again
replaces its earlier files, and a file is never left half-written.
"""

from __future__ import annotations

import bisect
import csv
import errno
import json
import os
import re
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from genesis_lab.errors import RecordError
from genesis_lab.orchestration._documents import document_problem
from genesis_lab.review._summary import _campaign
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, CampaignRow, DocumentRow, TrialRow

__all__ = [
    "ExportSummary",
    "ExportedFile",
    "InvalidDocument",
    "export_documents",
    "export_trials_csv",
]

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

# Where a document says which run (or which parent document) it belongs to.
_RUN_KEY = {
    "descriptor": "run_start",
    "stop": "run_start",
    "resource": "run_start",
    "stream_resource": "run_start",
}
_PARENT_KEY = {
    "event": "descriptor",
    "event_page": "descriptor",
    "datum": "resource",
    "datum_page": "resource",
    "stream_datum": "stream_resource",
}


@dataclass(frozen=True)
class ExportedFile:
    """One file written: its path, what it holds (``jsonl`` documents or ``csv`` trial rows),
    how many, and the runs (start uids) and trials in it."""

    path: Path
    kind: Literal["jsonl", "csv"]
    count: int
    run_uids: tuple[str, ...] = ()
    trial_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class InvalidDocument:
    """A stored document that event-model's schema refuses, so it was not written."""

    trial_id: str
    name: str
    uid: str
    problem: str

    def __str__(self) -> str:
        return f"trial {self.trial_id}: {self.name} document {self.uid}: {self.problem}"


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote (``files``; ``runs``: how many runs' documents), refused
    (``invalid``) and noticed (``warnings``)."""

    campaign_id: str
    files: tuple[ExportedFile, ...] = ()
    invalid: tuple[InvalidDocument, ...] = ()
    warnings: tuple[str, ...] = ()
    runs: int = 0

    @property
    def documents(self) -> int:
        """Documents written, over every JSON Lines file."""
        return sum(f.count for f in self.files if f.kind == "jsonl")

    @property
    def ok(self) -> bool:
        """Whether every stored document was valid and written."""
        return not self.invalid


@dataclass
class _Run:
    """The documents of one run (or of one trial's documents that name no run)."""

    trial_id: str
    run_uid: str | None
    first: int  # position of its first document in the record
    documents: list[tuple[int, DocumentRow]] = field(default_factory=list)


# ------------------------------------------------------------------- reading the record
@contextmanager
def _reading(record: CampaignRecord) -> Iterator[None]:
    """Turn a failure to read the file (not SQLite, not a record) into a RecordError."""
    try:
        yield
    except sqlite3.Error as exc:
        raise RecordError(
            f"cannot read record {record.path}: {exc}; is it a genesis-lab record?",
            path=str(record.path),
        ) from exc


def _campaign_row(record: CampaignRecord, campaign_id: str | None) -> CampaignRow:
    with _reading(record):
        return _campaign(record, campaign_id)


def _out_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` if needed and prove a file can be made in it (``OSError`` if not)."""
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a directory", str(path))
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
        pass
    return path


@contextmanager
def _atomic(
    path: Path, *, newline: str | None = None, encoding: str = "utf-8"
) -> Iterator[IO[str]]:
    """A text file that appears at ``path`` only once completely written (with the
    permissions the umask gives a new file)."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with temporary.open("x", encoding=encoding, newline=newline) as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------- documents
def _group_runs(documents: Sequence[DocumentRow]) -> list[_Run]:
    """The record's documents grouped by run (by trial where a document names no run
    the record holds), runs ordered by their first document."""
    run_of: dict[str, str] = {}  # document uid -> start uid of its run
    for doc in documents:
        if doc.name == "start":
            run_of[doc.uid] = doc.uid
    for _ in range(3):  # descriptor/resource -> run; event/datum -> descriptor/resource
        for doc in documents:
            found = _run_uid(doc, run_of)
            if found is not None:
                run_of.setdefault(doc.uid, found)
    runs: dict[tuple[str, str | None], _Run] = {}
    for position, doc in enumerate(documents):
        key = (doc.trial_id, run_of.get(doc.uid))
        run = runs.setdefault(key, _Run(doc.trial_id, key[1], position))
        run.documents.append((position, doc))
    # A trial's documents that name no stored run belong to its run if it has only one.
    for (trial_id, run_uid), orphans in list(runs.items()):
        if run_uid is not None:
            continue
        own = [r for (t, u), r in runs.items() if t == trial_id and u is not None]
        if len(own) == 1:
            own[0].documents = sorted(own[0].documents + orphans.documents, key=lambda p: p[0])
            own[0].first = min(own[0].first, orphans.first)
            del runs[(trial_id, run_uid)]
    return sorted(runs.values(), key=lambda r: r.first)


def _run_uid(doc: DocumentRow, run_of: dict[str, str]) -> str | None:
    body = doc.doc
    if doc.name in _RUN_KEY:
        value = body.get(_RUN_KEY[doc.name])
        return value if isinstance(value, str) and value in run_of else None
    if doc.name in _PARENT_KEY:
        parent = body.get(_PARENT_KEY[doc.name])
        if doc.name == "stream_datum" and not isinstance(parent, str):
            parent = body.get("descriptor")
        return run_of.get(parent) if isinstance(parent, str) else None
    return None


def _in_stream_order(documents: Sequence[DocumentRow]) -> tuple[list[DocumentRow], int]:
    """``documents`` start first, stop last, otherwise as received except that a document
    waits for the document it refers to (event -> descriptor, datum -> resource) if that
    is in the run and came later. Returns the order and how many documents moved."""
    starts = [d for d in documents if d.name == "start"]
    stops = [d for d in documents if d.name == "stop"]
    middle = [d for d in documents if d.name not in ("start", "stop")]
    present = {d.uid for d in documents}
    ordered: list[DocumentRow] = list(starts)
    written: set[str] = {d.uid for d in starts}
    waiting: dict[str, list[DocumentRow]] = {}

    def emit(doc: DocumentRow) -> None:
        ordered.append(doc)
        written.add(doc.uid)
        for held in waiting.pop(doc.uid, []):
            emit(held)

    for doc in middle:
        parent = doc.doc.get(_PARENT_KEY.get(doc.name, ""))
        if isinstance(parent, str) and parent in present and parent not in written:
            waiting.setdefault(parent, []).append(doc)
        else:
            emit(doc)
    for held in waiting.values():  # a parent that never came in order (a cycle): as received
        ordered.extend(held)
    ordered.extend(stops)
    return ordered, _moves(ordered, documents)


def _moves(ordered: Sequence[DocumentRow], received: Sequence[DocumentRow]) -> int:
    """The fewest documents to move to turn ``received`` into ``ordered``: those outside
    a longest run of documents whose received order is kept."""
    index = {id(doc): i for i, doc in enumerate(received)}
    tails: list[int] = []  # smallest last index of a kept subsequence of each length
    for doc in ordered:
        i = bisect.bisect_left(tails, index[id(doc)])
        tails[i : i + 1] = [index[id(doc)]]
    return len(received) - len(tails)


def _line(doc: DocumentRow) -> str:
    return json.dumps([doc.name, doc.doc]) + "\n"


def _run_file_name(campaign_id: str, run: _Run, valid: Sequence[DocumentRow]) -> str:
    start = next((d for d in valid if d.name == "start"), None)
    if start is not None and _SAFE_NAME.fullmatch(start.uid):
        return f"{start.uid}.jsonl"
    return f"{campaign_id}-{run.trial_id}.jsonl"


def export_documents(
    record: CampaignRecord,
    campaign_id: str | None,
    out_dir: str | Path,
    *,
    one_stream: bool = False,
) -> ExportSummary:
    """Write the Bluesky documents of ``campaign_id`` (default: the record's latest
    campaign) to ``out_dir`` as JSON Lines, one file per run or, with ``one_stream``, one
    file; see the module docstring for names, order and what happens to invalid documents.

    Raises :class:`RecordError` if the record cannot be read or has no such campaign, and
    ``OSError`` if ``out_dir`` cannot be created or written."""
    campaign = _campaign_row(record, campaign_id)
    cid = campaign.campaign_id
    with _reading(record):
        documents = record.documents(cid)
        states = {t.trial_id: t.state for t in record.trials(cid)}
    out = _out_dir(out_dir)
    invalid: list[InvalidDocument] = []
    warnings: list[str] = []
    written: list[tuple[_Run, list[DocumentRow]]] = []
    names: set[str] = set()
    for run in _group_runs(documents):
        received: list[DocumentRow] = []
        for _, doc in run.documents:
            problem = document_problem(doc.name, doc.doc)
            if problem is None:
                received.append(doc)
            else:
                invalid.append(InvalidDocument(doc.trial_id, doc.name, doc.uid, problem))
        valid, moved = _in_stream_order(received)
        what = f"trial {run.trial_id} ({states.get(run.trial_id, 'unknown state')})"
        if run.run_uid is not None:
            what += f", run {run.run_uid}"
        if moved:
            warnings.append(
                f"{what}: {moved} document(s) received out of stream order (a document "
                "the worker sent again after a loss comes late), written in stream order"
            )
        if valid and not any(d.name == "start" for d in valid):
            warnings.append(f"{what}: no valid start document; its run is incomplete")
        if valid and not any(d.name == "stop" for d in valid):
            warnings.append(f"{what}: no stop document; its run ends without one")
        if valid:
            written.append((run, valid))
    files: list[ExportedFile] = []
    if one_stream:
        path = out / f"{cid}.jsonl"
        with _atomic(path) as stream:
            for _, valid in written:
                stream.writelines(_line(d) for d in valid)
        files.append(
            ExportedFile(
                path,
                "jsonl",
                sum(len(v) for _, v in written),
                tuple(r.run_uid for r, _ in written if r.run_uid is not None),
                tuple(dict.fromkeys(r.trial_id for r, _ in written)),
            )
        )
    else:
        for run, valid in written:
            name = _run_file_name(cid, run, valid)
            stem, number = name.removesuffix(".jsonl"), 2
            while name in names:  # two runs of one trial without a start: -2, -3, ...
                name, number = f"{stem}-{number}.jsonl", number + 1
            names.add(name)
            with _atomic(out / name) as stream:
                stream.writelines(_line(d) for d in valid)
            runs = () if run.run_uid is None else (run.run_uid,)
            files.append(ExportedFile(out / name, "jsonl", len(valid), runs, (run.trial_id,)))
    return ExportSummary(cid, tuple(files), tuple(invalid), tuple(warnings), len(written))


# ---------------------------------------------------------------------------- trials
def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="microseconds")


def _cell(value: Any) -> str | int | float:
    """A value as the csv module should write it: numbers as numbers (``str(float)`` is
    the shortest form that reads back exactly), nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, int | float | str):
        return value
    return json.dumps(value)


def _heading(name: str, units: str) -> str:
    return f"{name} ({units})" if units else name


def _outcomes_of(trial: TrialRow, primary: str) -> dict[str, float]:
    if trial.outcomes is not None:
        return dict(trial.outcomes)
    return {} if trial.outcome is None else {primary: trial.outcome}


def export_trials_csv(
    record: CampaignRecord, campaign_id: str | None, out_dir: str | Path
) -> ExportSummary:
    """Write the trial table of ``campaign_id`` (default: the latest) to
    ``out_dir/<campaign id>-trials.csv``; see the module docstring for the columns.

    Raises :class:`RecordError` if the record cannot be read or has no such campaign, and
    ``OSError`` if ``out_dir`` cannot be created or written."""
    campaign = _campaign_row(record, campaign_id)
    cid = campaign.campaign_id
    spec = CampaignSpec.model_validate(campaign.spec)
    with _reading(record):
        trials = record.trials(cid)
    out = _out_dir(out_dir)
    primary = spec.primary_objective.name
    parameters: dict[str, str] = {p.name: _heading(p.name, p.units) for p in spec.parameters}
    measured: dict[str, str] = {o.name: _heading(o.name, o.units) for o in spec.all_objectives}
    measured |= {c.name: _heading(c.name, c.units) for c in spec.outcome_constraints}
    for trial in trials:  # values the campaign does not name (an older record): kept too
        parameters |= {n: n for n in trial.parameters if n not in parameters}
        measured |= {n: n for n in _outcomes_of(trial, primary) if n not in measured}
    header = ["trial_id", "state", "origin", *parameters.values(), *measured.values()]
    header += ["reason", "run_uid", "station_id", "worker", "proposed_at", "updated_at"]
    path = out / f"{cid}-trials.csv"
    with _atomic(path, newline="", encoding="utf-8-sig") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for trial in trials:
            outcomes = _outcomes_of(trial, primary)
            writer.writerow(
                [
                    trial.trial_id,
                    trial.state.value,
                    trial.origin,
                    *(_cell(trial.parameters.get(name)) for name in parameters),
                    *(_cell(outcomes.get(name)) for name in measured),
                    trial.reason,
                    _cell(trial.run_uid),
                    trial.station_id,
                    trial.worker,
                    _iso(trial.proposed_at),
                    _iso(trial.updated_at),
                ]
            )
    file = ExportedFile(
        path,
        "csv",
        len(trials),
        tuple(t.run_uid for t in trials if t.run_uid),
        tuple(t.trial_id for t in trials),
    )
    return ExportSummary(cid, (file,))
