"""``genesis-lab report``: one campaign of a record as a self-contained HTML page.

The page embeds its figures as ``data:`` URIs, carries its CSS inline and loads nothing
(a Content-Security-Policy forbids it), so it opens offline, mailed or archived alone; the
same figures are written as PNG files beside it. Every string from the record is escaped.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_lab.review._figure_kit import ORIGIN_COLOURS, OTHER_ORIGIN, ReportFigure
from genesis_lab.review._figures import draw_figures
from genesis_lab.review._figures_model import final_model_check
from genesis_lab.review._report_data import ReportData, collect_report
from genesis_lab.review._report_html import (
    best_is,
    counts_text,
    esc,
    goals_html,
    integrity_html,
    model_check_html,
    num,
    provenance_html,
    table,
    trial_rows,
    when,
)
from genesis_lab.store import CampaignRecord, TrialRow, TrialState

if TYPE_CHECKING:
    from genesis_lab.planning import ModelCheck

__all__ = ["REPORT_FILE", "ReportFiles", "default_report_dir", "report_html", "write_report"]

REPORT_FILE = "report.html"
"""The report's file name inside its directory; the PNG figures sit beside it."""

SECTIONS = (
    ("best-so-far", "Best so far"),
    ("parameters-over-time", "Parameter values over time"),
    ("objective-vs-parameters", "Objective against each parameter"),
    ("pareto-front", "Pareto front"),
    ("hypervolume", "Hypervolume"),
    ("predicted-vs-observed", "Predicted versus observed"),
    ("final-model", "The final model"),
)
"""The figure sections, in page order: ``(id, heading)``."""

_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d8dce3; --soft: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: white; font: 15px/1.5 system-ui,
  -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 34px 0 8px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.sub, .empty, small, figcaption { color: var(--muted); }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 6px 16px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 8px 0; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 14px 0 22px; } figure img { display: block; max-width: 100%; height: auto;
  border: 1px solid var(--line); }
figcaption { font-size: 13px; margin-top: 6px; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: var(--soft); } td { font-variant-numeric: tabular-nums; }
td:last-child { min-width: 14em; }
tr.failed td { background: #fdecea; } tr.rejected td { background: #f1ecf7; }
tr.abandoned td { background: #f3f3f3; } .breaks { color: #b3261e; font-weight: 600; }
.tampered { border: 3px solid #b3261e; background: #fdecea; padding: 0 1em; }
.mark { font-weight: 700; color: #b35c00; } .nowrap { white-space: nowrap; }
pre { background: var(--soft); border: 1px solid var(--line); padding: 10px; overflow-x: auto;
  font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.key span { display: inline-block; margin-right: 14px; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote: the page and the PNG figures beside it."""

    campaign_id: str
    html: Path
    figures: list[Path]
    problems: int = 0
    """How many problems verifying the record found (the page says so at its top)."""


def default_report_dir(campaign_id: str) -> Path:
    """Where a report goes unless told: ``reports/<campaign id>`` under the working
    directory (the id made safe as a folder name)."""
    return Path("reports") / (
        re.sub(r"[^A-Za-z0-9._-]", "_", campaign_id).lstrip(".") or "campaign"
    )


def write_report(
    record: CampaignRecord, campaign_id: str | None = None, out_dir: Path | None = None
) -> ReportFiles:
    """Write the report of ``campaign_id`` (default: the newest campaign of ``record``) as
    ``out_dir/report.html`` with its PNG figures beside it (default directory:
    :func:`default_report_dir`). Raises :class:`~genesis_lab.errors.RecordError` for an
    unknown campaign or an unreadable record, :class:`OSError` if the files cannot be
    written."""
    data = collect_report(record, campaign_id)
    check = final_model_check(data)
    figures = draw_figures(data, check)
    directory = (
        out_dir if out_dir is not None else default_report_dir(data.summary.campaign.campaign_id)
    )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for figure in figures:
        path = directory / figure.filename
        path.write_bytes(figure.png)
        written.append(path)
    html = directory / REPORT_FILE
    html.write_text(report_html(data, figures, check), encoding="utf-8")
    problems = len(data.verification.problems)
    return ReportFiles(data.summary.campaign.campaign_id, html, written, problems)


def _tampered(data: ReportData) -> str:
    """A banner over the whole page when the record does not verify ('' when it does)."""
    check = data.verification
    if check.ok:
        return ""
    items = "".join(f"<li>{esc(p.where)}: {esc(p.what)}</li>" for p in check.problems[:10])
    more = f"<li>and {len(check.problems) - 10} more</li>" if len(check.problems) > 10 else ""
    return (
        '<section id="unverified" class="tampered"><h2>This record does not verify</h2>'
        "<p>Something in it was altered, removed or inserted after it was written: nothing "
        "below can be trusted as the campaign's result. What <code>genesis-lab verify</code> "
        f"found ({len(check.problems)}):</p><ul>{items}{more}</ul></section>"
    )


def report_html(
    data: ReportData, figures: Sequence[ReportFigure], check: ModelCheck | None = None
) -> str:
    """The whole page: summary, figures, the final model's check (``check``, when given),
    failures, trial table, provenance."""
    campaign = data.summary.campaign
    try:
        tool = f"genesis-lab {version('genesis-lab')}"
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        tool = "genesis-lab"
    generated = f"{tool}, {when(datetime.now(tz=UTC).timestamp())}"
    several = len(data.spec.all_objectives) > 1
    sections = [s for s in SECTIONS if s[0] not in ("pareto-front", "hypervolume") or several]
    nav = [(sid, title) for sid, title in sections] + [
        ("failures", "Failures and rejections"),
        ("trials", "Trials"),
        ("provenance", "Provenance"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(campaign.name)} ({esc(campaign.campaign_id)}): campaign report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<header><h1>Campaign report: {esc(campaign.name)}</h1>",
        f'<p class="sub">campaign {esc(campaign.campaign_id)} · record '
        f"{esc(data.record_path.name)} · {esc(campaign.status)}</p></header>",
        _tampered(data),
        _summary(data),
        "<nav><ul>"
        + "".join(f'<li><a href="#{sid}">{esc(t)}</a></li>' for sid, t in nav)
        + "</ul></nav>",
        _key(data),
    ]
    for sid, title in sections:
        mine = [f for f in figures if f.section == sid]
        parts.append(f'<section id="{sid}"><h2>{esc(title)}</h2>')
        if sid == "final-model" and check is not None:
            parts.append(model_check_html(check))
        parts += [_figure(f) for f in mine] or [
            f'<p class="empty">{esc(_why_empty(data, sid))}</p>'
        ]
        parts.append("</section>")
    parts += [_failures(data), _trials(data), provenance_html(data, generated)]
    parts.append(f"<footer>Made by {esc(generated)} from {esc(data.record_path.name)}.</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _summary(data: ReportData) -> str:
    summary, spec = data.summary, data.spec
    campaign = summary.campaign
    items = []
    if spec.description:
        items.append(("about", esc(spec.description.strip())))
    items += [
        ("goal", goals_html(data)),
        ("parameters", esc(", ".join(p.name for p in spec.parameters))),
        ("trials", f"{counts_text(data)} (budget {spec.budget})"),
    ]
    best = summary.best
    if best is not None and len(spec.all_objectives) == 1:
        items.append(
            (
                "best",
                f"{esc(summary.objective)} = {num(best.outcome)} at "
                + esc(", ".join(f"{k}={_plain(v)}" for k, v in best.parameters.items()))
                + f' (trial <a href="#trial-{esc(best.trial_id)}">{esc(best.trial_id)}</a>)',
            )
        )
    elif best is not None and data.weighted:
        trial = next(t for t in data.trials if t.trial.trial_id == best.trial_id)
        items.append(
            (
                "best (weighted sum)",
                f"{esc(data.weighted_formula())} = {num(data.weighted_sum(trial))} "
                "(the one number the planner maximises) at "
                + esc(", ".join(f"{k}={_plain(v)}" for k, v in trial.values.items()))
                + f' (trial <a href="#trial-{esc(best.trial_id)}">{esc(best.trial_id)}</a>)',
            )
        )
    elif best is not None:
        items.append(
            (
                f"best {esc(summary.objective)} alone",
                f"{esc(summary.objective)} = {num(best.outcome)} "
                f'(trial <a href="#trial-{esc(best.trial_id)}">{esc(best.trial_id)}</a>); the '
                "campaign searches a Pareto front, so no one trial is best: see the front",
            )
        )
    if len(spec.all_objectives) > 1:
        items.append(("Pareto front", esc(f"{len(summary.pareto_front)} trials")))
    if best is None and not summary.pareto_front:
        items.append(("best", "no experiment has completed with a result that counts"))
    if not data.verification.ok:
        items.append(("record", integrity_html(data)))
    items += [
        (
            "status",
            esc(campaign.status)
            + (f" ({esc(campaign.stop_reason)})" if campaign.stop_reason else ""),
        ),
        ("ran", f"{when(campaign.started_at)} to {when(campaign.finished_at)}"),
        ("documents", esc(summary.documents)),
    ]
    stations = _stations(summary.trials)
    if stations:
        items.append(("stations", stations))
    return (
        '<section id="summary"><dl>'
        + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
        + "</dl></section>"
    )


def _stations(trials: Sequence[TrialRow]) -> str:
    """Which stations ran the trials, how many each, and by which worker processes (empty
    for a record made before stations were recorded per trial)."""
    ran: dict[str, list[TrialRow]] = {}
    for trial in trials:
        if trial.station_id:
            ran.setdefault(trial.station_id, []).append(trial)
    parts = []
    for station, of_it in sorted(ran.items()):
        workers = sorted({t.worker for t in of_it if t.worker})
        by = f" (worker{'s' if len(workers) > 1 else ''} {', '.join(workers)})" if workers else ""
        parts.append(esc(f"{station}: {len(of_it)} trial{'s' if len(of_it) > 1 else ''}{by}"))
    return "; ".join(parts)


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _key(data: ReportData) -> str:
    """The legend shared by every figure: origins present, failures, rejections."""
    origins = list(dict.fromkeys(t.trial.origin for t in data.trials))
    spans = [
        f'<span><i class="dot" style="background:{ORIGIN_COLOURS.get(o, OTHER_ORIGIN)}"></i>'
        f"{esc(o)}</span>"
        for o in origins
    ]
    spans += ['<span style="color:#d62728">✖ failed</span>', "<span>▼ rejected (never ran)</span>"]
    return '<p class="key"><small>In the figures:</small> ' + "".join(spans) + "</p>"


def _figure(figure: ReportFigure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    stem = figure.filename.removesuffix(".png")
    return (
        f'<figure data-figure="{esc(stem)}"><img src="data:image/png;base64,{data}" '
        f'alt="{esc(figure.title)}" width="{figure.width}" height="{figure.height}">'
        f"<figcaption><b>{esc(figure.title)}.</b> {esc(figure.caption)} "
        f'<a href="{esc(figure.filename)}">{esc(figure.filename)}</a></figcaption></figure>'
    )


def _why_empty(data: ReportData, section: str) -> str:
    if not data.trials:
        return "The campaign has no trials yet: nothing to draw."
    if section == "hypervolume":
        return "No experiment has completed with a result that counts: no volume yet."
    if section == "final-model":
        return (
            "Fewer than three experiments have completed with every objective measured: too "
            "few to fit and check a model."
        )
    if section == "pareto-front":
        return "No experiment has completed with every objective measured: there is no front yet."
    if section == "predicted-vs-observed":
        model = [t for t in data.trials if "predicted_mean" in (t.trial.explanation or {})]
        if model:
            return (
                f"The model chose {len(model)} experiments, and none of them has completed: "
                "nothing to compare yet."
            )
        return (
            "No experiment chosen by the model has completed yet (the first "
            f"{data.spec.initial_design} come from the Sobol design): nothing to compare."
        )
    return "The campaign searches no parameter (every one is fixed): nothing to draw."


def _failures(data: ReportData) -> str:
    bad = data.in_state(TrialState.FAILED, TrialState.REJECTED, TrialState.ABANDONED)
    parts = ['<section id="failures"><h2>Failures and rejections</h2>']
    if not bad:
        parts.append('<p class="empty">No trial failed, was rejected or was abandoned.</p>')
    else:
        counts = {
            s: len(data.in_state(s))
            for s in (TrialState.FAILED, TrialState.REJECTED, TrialState.ABANDONED)
        }
        parts.append(
            "<p>"
            + esc(", ".join(f"{n} {s.value.lower()}" for s, n in counts.items() if n))
            + ". Failed experiments ran and gave no result (a device fault, a failed measurement); "
            "rejected ones never reached the hardware (outside the safety envelope); abandoned "
            "ones had no result in time or were cut short. In the figures failed trials are red "
            "crosses and rejected ones black triangles.</p>"
        )
        head = ["trial", "no.", "state", "origin", "parameters", "reason"]
        rows = [
            [
                f'<a href="#trial-{esc(t.trial.trial_id)}">{esc(t.trial.trial_id)}</a>',
                "prior" if t.prior else str(t.number),
                esc(t.trial.state.value),
                esc(t.trial.origin),
                esc(", ".join(f"{k}={_plain(v)}" for k, v in t.trial.parameters.items())),
                esc(t.trial.reason),
            ]
            for t in bad
        ]
        parts.append(table(head, rows, row_classes=[t.trial.state.value.lower() for t in bad]))
    parts.append("</section>")
    return "\n".join(parts)


def _trials(data: ReportData) -> str:
    parts = ['<section id="trials"><h2>Trials</h2>']
    if not data.trials:
        parts.append('<p class="empty">The campaign has no trials yet.</p>')
    else:
        parts.append(
            "<p>Every trial in the order proposed (no. is the experiment number; results "
            f"imported from earlier work are marked prior). ★ marks {esc(best_is(data))}, P a "
            "member of the Pareto front; a value in red breaks an outcome constraint. The "
            "prediction is the model's mean ± standard deviation of each objective and outcome "
            "constraint it modelled, when it chose the trial.</p>"
        )
        head, rows, classes = trial_rows(data, data.trials)
        parts.append(table(head, rows, row_classes=classes))
    parts.append("</section>")
    return "\n".join(parts)
