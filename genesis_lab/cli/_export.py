"""``genesis-lab export``: a campaign's documents as Bluesky JSON Lines, its trials as CSV.

Exit 0 when everything was written; 1 when a stored document is not event-model-valid
(everything valid is still written; the invalid ones are listed) or --out cannot be
created or written; 2 for a missing or unreadable record or an unknown campaign.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._exits import EXIT_BAD_INPUT, EXIT_FAILED, err, fail
from genesis_lab.errors import GenesisLabError
from genesis_lab.store import CampaignRecord

if TYPE_CHECKING:
    from genesis_lab.review import ExportSummary

__all__ = ["ExportFormat", "export"]


out = Console()


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    all = "all"


def _report(summary: ExportSummary) -> None:
    for file in summary.files:
        if file.kind == "csv":
            what = f"{file.count} trials"
        elif len(file.trial_ids) == 1:
            what = f"{file.count} documents (trial {file.trial_ids[0]})"
        else:
            what = f"{file.count} documents ({len(file.run_uids)} runs)"
        out.print(f"  {file.path}: {what}", highlight=False, soft_wrap=True)
    for warning in summary.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    for invalid in summary.invalid:
        err.print(f"[bold red]invalid:[/] {escape(str(invalid))}", highlight=False, soft_wrap=True)


def export(
    record: Annotated[
        Path, typer.Argument(help="Campaign record file (SQLite).", show_default=False)
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory to write to (created if missing). Files of an earlier export "
            "with the same names are replaced.",
            show_default=False,
        ),
    ],
    campaign_id: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id in the record. Default: latest.")
    ] = None,
    format_: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="jsonl: the Bluesky documents; csv: the trial table; all: both.",
            case_sensitive=False,
        ),
    ] = ExportFormat.all,
    one_stream: Annotated[
        bool,
        typer.Option(
            "--one-stream",
            help="Write every run into one file, <campaign id>.jsonl, run after run in record "
            "order, instead of one file per run.",
        ),
    ] = False,
    unverified: Annotated[
        bool,
        typer.Option(
            "--unverified",
            help="Export a record that does not verify all the same (for forensics): the "
            "problems go into UNVERIFIED.txt beside the files, and the command exits 1.",
        ),
    ] = False,
) -> None:
    """Export a campaign: Bluesky documents as JSON Lines, the trial table as CSV.

    JSON Lines: each line is a JSON array ["<name>", {<document>}], e.g. ["start",
    {"uid": ...}], the convention suitcase-jsonl writes and databroker's JSONL readers
    (its intake catalog and its tiled adapter) read. One file per run,
    <run start uid>.jsonl (or <campaign id>-<trial id>.jsonl if the record lacks the
    run's start), start first and stop last. Every document is checked against
    event-model's schema first: an invalid one is not written but listed (name, uid,
    trial), the rest is written, and the command exits 1.

    CSV: <campaign id>-trials.csv, one row per trial: trial_id, state, origin, every
    parameter and every objective and outcome constraint (with units in the header),
    reason, run_uid, proposed_at, updated_at (ISO 8601, UTC). UTF-8 with a byte-order
    mark, for Excel; numbers read back exactly.

    A record that does not verify (what 'genesis-lab verify' checks) is refused, exit 1,
    unless --unverified.
    """
    from genesis_lab.review import (
        check_record,
        export_documents,
        export_trials_csv,
    )

    summaries: list[ExportSummary] = []
    problems: list[str] = []
    try:
        with CampaignRecord(record, read_only=True) as store:
            problems = [str(p) for p in check_record(store).chain.problems]
            if problems and not unverified:
                fail(
                    f"{record} does not verify ({len(problems)} problem(s); the first: "
                    f"{problems[0]}); nothing exported. 'genesis-lab verify {record}' names "
                    "them all; --unverified exports it anyway, marked",
                    EXIT_FAILED,
                )
            if format_ in (ExportFormat.jsonl, ExportFormat.all):
                summaries.append(
                    export_documents(store, campaign_id, out_dir, one_stream=one_stream)
                )
            if format_ in (ExportFormat.csv, ExportFormat.all):
                summaries.append(export_trials_csv(store, campaign_id, out_dir))
    except GenesisLabError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        for summary in summaries:
            _report(summary)
        fail(f"cannot write to {out_dir}: {exc.strerror or exc}", EXIT_FAILED)
    out.print(
        f"exported campaign {summaries[0].campaign_id} of {record} to {out_dir}:",
        highlight=False,
        soft_wrap=True,
    )
    for summary in summaries:
        _report(summary)
    for summary in summaries:
        if any(file.kind == "jsonl" for file in summary.files):
            out.print(
                f"{summary.documents} documents of {summary.runs} runs written", highlight=False
            )
    if problems:
        marker = out_dir / "UNVERIFIED.txt"
        marker.write_text(
            f"{record} does not verify: these files may not be what the campaign measured.\n"
            + "".join(f"{p}\n" for p in problems),
            encoding="utf-8",
        )
        fail(
            f"{record} does not verify ({len(problems)} problem(s)): exported with "
            f"--unverified, the problems written to {marker}",
            EXIT_FAILED,
        )
    invalid = sum(len(summary.invalid) for summary in summaries)
    if invalid:
        fail(
            f"{invalid} stored document(s) are not valid event-model documents and were not "
            "written (listed above); everything else was",
            EXIT_FAILED,
        )
