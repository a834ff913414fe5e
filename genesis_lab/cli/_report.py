"""``genesis-lab report``: a campaign of a record as a self-contained HTML page.

Exit 0 once written (the page's path is printed), 2 for a missing or unreadable record or
an unknown campaign id, 1 if the files cannot be written or the record does not verify
(the page is written, with what verifying found at its top).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from genesis_lab.cli._exits import fail
from genesis_lab.errors import GenesisLabError
from genesis_lab.store import CampaignRecord

__all__ = ["report"]

out = Console()


def report(
    record: Annotated[
        Path, typer.Argument(help="Campaign record file (SQLite).", show_default=False)
    ],
    campaign_id: Annotated[
        str | None,
        typer.Option("--campaign", help="Campaign id in the record. Default: the newest."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory to write report.html and its PNG figures into (created if "
            "missing; files of an earlier report there are replaced). "
            "Default: reports/<campaign id> under the current directory.",
        ),
    ] = None,
) -> None:
    """Write a campaign's report: one HTML page that opens offline in any browser.

    The page shows the best result so far against experiment number, every parameter's
    value over time, each objective against each parameter, the Pareto front (several
    objectives), what the model predicted against what was measured, failures and
    rejections, the trial table, and the provenance: package versions, seed, planner
    settings, the campaign as run (and what run's options changed from its file), who
    started, paused or stopped it and when, the record's hash-chain head and whether it
    verifies (an edited record is flagged). The figures are embedded in the page and also
    written as PNG files beside it; the page loads nothing from anywhere. Prints where it
    wrote the page.

    Exits 2 for a missing or unreadable record or an unknown campaign id, 1 if the files
    cannot be written or the record does not verify (the page is written all the same, with
    what verifying found at its top).
    """
    from genesis_lab.review import write_report  # torch: only when needed

    try:
        with CampaignRecord(record, read_only=True) as store:
            files = write_report(store, campaign_id, out_dir)
    except GenesisLabError as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot write the report: {exc}", 1)
    figures = ", ".join(path.name for path in files.figures) or "none"
    out.print(
        f"report of campaign {files.campaign_id}: {files.html}", highlight=False, soft_wrap=True
    )
    out.print(f"figures ({len(files.figures)}): {figures}", highlight=False, soft_wrap=True)
    if files.problems:
        fail(
            f"{record} does not verify ({files.problems} problem(s); 'genesis-lab verify "
            f"{record}' names them): the report says so at its top, and nothing in it can be "
            "trusted as the campaign's result",
            1,
        )
