"""The report's HTML pieces: escaping, numbers and times, tables, and the provenance block.

Every string that comes from a record goes through :func:`esc` (``html.escape``); every
helper here returns HTML ready to join.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from genesis_lab.orchestration._provenance import RECORDED_PACKAGES
from genesis_lab.review._report_data import ReportData, ReportTrial
from genesis_lab.store import TrialState

if TYPE_CHECKING:
    from genesis_lab.planning import ModelCheck

__all__ = [
    "best_is",
    "counts_text",
    "esc",
    "goals_html",
    "integrity_html",
    "model_check_html",
    "num",
    "provenance_html",
    "table",
    "trial_rows",
    "when",
]


def esc(value: object) -> str:
    """Any value as HTML text, quotes included (safe in attributes too)."""
    return escape(str(value), quote=True)


def num(value: object) -> str:
    """A number to four significant digits, text as it is, None as a dash; escaped."""
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return esc(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return esc(f"{value:.4g}")
    return esc(value)


def when(at: float | None) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS UTC`` (a dash for None)."""
    if at is None:
        return "—"
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def table(
    head: Sequence[str], rows: Sequence[Sequence[str]], *, row_classes: Sequence[str] = ()
) -> str:
    """A table from cells that are already HTML; ``row_classes`` (if given) one per row."""
    header = "".join(f"<th>{cell}</th>" for cell in head)
    body = []
    for index, row in enumerate(rows):
        cls = f' class="{row_classes[index]}"' if index < len(row_classes) else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return (
        '<div class="scroll"><table><thead><tr>'
        + header
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def _definitions(items: Sequence[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def goals_html(data: ReportData) -> str:
    """What the campaign optimised, e.g. ``minimize colour_error (ΔA×100)``, escaped."""
    spec = data.spec
    parts = [
        f"{o.direction} {o.name}" + (f" ({o.units})" if o.units else "")
        for o in spec.all_objectives
    ]
    text = " and ".join(parts)
    if len(parts) > 1:
        text += " (Pareto front)" if spec.pareto else " (weighted sum)"
    if spec.outcome_constraints:
        text += " subject to " + ", ".join(c.describe() for c in spec.outcome_constraints)
    return esc(text)


def _origin(trial: ReportTrial) -> str:
    """The trial's origin, with who asked for a manual trial or what a retry repeats."""
    why = trial.trial.explanation or {}
    text = trial.trial.origin
    if "requested_by" in why:
        text += f", by {why['requested_by']}"
    if "retry_of" in why:
        text += f" of {why['retry_of']}"
    return esc(text)


def _goal(data: ReportData, name: str) -> str:
    for objective in data.spec.all_objectives:
        if objective.name == name:
            return objective.direction
    return next(c.describe() for c in data.spec.outcome_constraints if c.name == name)


def _measured_cell(data: ReportData, trial: ReportTrial, name: str) -> str:
    value = trial.values.get(name)
    if value is None:
        return "—"
    broken = [c for c in data.spec.outcome_constraints if c.name == name and not c.holds(value)]
    if broken:
        return (
            f'<span class="breaks" title="breaks {esc(broken[0].describe())}">{num(value)}</span>'
        )
    return num(value)


def _prediction_cell(data: ReportData, trial: ReportTrial) -> str:
    """What the model predicted, when it chose the trial, for every objective (and outcome
    constraint) it modelled: ``mean ± std``, one line each, named when there are several."""
    why = trial.trial.explanation or {}
    if "predicted_mean" not in why:
        return ""
    said = dict(trial.prediction)
    primary = data.spec.primary_objective.name
    if primary not in said:  # a record from before every outcome's prediction was kept
        said[primary] = {"mean": why.get("predicted_mean"), "std": why.get("predicted_std")}
    lines = []
    for name in data.measured:
        if name not in said:
            continue
        mean, std = said[name].get("mean"), said[name].get("std")
        value = num(mean) + ("" if std is None else f" ± {num(std)}")
        lines.append(value if len(data.measured) == 1 else f"{esc(name)}: {value}")
    return "<br>".join(f'<span class="nowrap">{line}</span>' for line in lines)


def best_is(data: ReportData) -> str:
    """What the ★ of the trial table marks: the best result, the best weighted sum, or
    (a Pareto search, where no one trial is best) the first objective's best alone."""
    if len(data.spec.all_objectives) == 1:
        return "the best result"
    if data.weighted:
        return "the best weighted sum"
    return f"the best {data.spec.primary_objective.name} alone"


def trial_rows(
    data: ReportData, trials: Sequence[ReportTrial]
) -> tuple[list[str], list[list[str]], list[str]]:
    """The trial table of ``trials``: head, rows, and a CSS class per row (its state)."""
    best = data.summary.best.trial_id if data.summary.best is not None else None
    front = {t.trial_id for t in data.summary.pareto_front}
    parameters = data.spec.parameters
    head = ["trial", "no.", "state", "origin"]
    head += [esc(f"{p.name} ({p.units})" if p.units else p.name) for p in parameters]
    for name in data.measured:
        units = data.units(name)
        head.append(
            esc(f"{name} ({units})" if units else name)
            + f"<br><small>{esc(_goal(data, name))}</small>"
        )
    head += [
        "predicted" + ("" if len(data.measured) > 1 else f" {esc(data.measured[0])}"),
        "reason",
    ]
    rows, classes = [], []
    for trial in trials:
        row = trial.trial
        marks = (
            f' <span class="mark" title="{esc(best_is(data))}">★</span>'
            if row.trial_id == best
            else ""
        ) + (' <span class="mark" title="Pareto front">P</span>' if row.trial_id in front else "")
        rows.append(
            [
                f'<span id="trial-{esc(row.trial_id)}">{esc(row.trial_id)}</span>{marks}',
                "prior" if trial.prior else str(trial.number),
                esc(row.state.value),
                _origin(trial),
                *(num(row.parameters.get(p.name)) for p in parameters),
                *(_measured_cell(data, trial, name) for name in data.measured),
                _prediction_cell(data, trial),
                esc(row.reason),
            ]
        )
        classes.append(row.state.value.lower())
    return head, rows, classes


def _json(value: Any) -> str:
    return esc(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def provenance_html(data: ReportData, generated_by: str) -> str:
    """The provenance block: record, who did what and when, settings, versions, the file."""
    campaign = data.summary.campaign
    spec = data.spec
    record: list[tuple[str, str]] = [("record file", esc(data.record_path.resolve()))]
    check = data.verification
    record += [
        ("hash-chain head", f"<code>{esc(check.head)}</code> ({check.entries} entries)"),
        ("verification", integrity_html(data)),
        ("campaign id", esc(campaign.campaign_id)),
        (
            "status",
            esc(
                f"{campaign.status} ({campaign.stop_reason})"
                if campaign.stop_reason
                else campaign.status
            ),
        ),
        ("started", when(campaign.started_at)),
        ("finished", when(campaign.finished_at)),
        ("report made", esc(generated_by)),
    ]
    parts = [
        '<section id="provenance"><h2>Provenance</h2>',
        "<h3>Record</h3>",
        _definitions(record),
    ]
    parts.append("<h3>Who and when</h3>")
    if data.events:
        parts.append(
            table(
                ["event", "at", "by", "detail"],
                [
                    [esc(e.event), when(e.at), esc(e.actor) or "—", esc(e.detail)]
                    for e in data.events
                ],
            )
        )
    else:
        parts.append('<p class="empty">The record notes no start, pause or stop events.</p>')
    manual = [t for t in data.trials if "requested_by" in (t.trial.explanation or {})]
    if manual:
        parts.append(
            "<p>Experiments asked for by hand: "
            + ", ".join(
                f"{esc(t.trial.trial_id)} by {esc((t.trial.explanation or {})['requested_by'])}"
                for t in manual
            )
            + ".</p>"
        )
    settings: list[tuple[str, str]] = [
        ("seed", esc(spec.seed)),
        ("budget", esc(spec.budget)),
        ("initial design", esc(f"{spec.initial_design} Sobol points")),
        ("batch size", esc(spec.batch_size)),
        ("replicates", esc(spec.replicates)),
        ("acquisition optimiser", _json(spec.planner.model_dump())),
    ]
    if len(spec.all_objectives) > 1:
        settings.append(("several objectives", _json(spec.multi_objective.model_dump())))
    if spec.constraints:
        settings.append(("linear constraints", esc("; ".join(spec.constraints))))
    settings += [
        ("stopping rules", _json(spec.stopping.model_dump(exclude_none=True))),
        ("retries", _json(spec.retry.model_dump())),
        ("leases", _json(spec.lease.model_dump())),
        ("trial timeout", esc(f"{spec.trial_timeout_s:g} s")),
        ("station", esc(f"{spec.station.station_id} (plugin {spec.station.plugin})")),
        ("station options", _json(spec.station.options)),
        ("broker", esc(spec.broker)),
    ]
    parts += ["<h3>Planner and campaign settings</h3>", _definitions(settings)]
    versions: Mapping[str, str] = campaign.versions
    deciding = {"python", "platform", *RECORDED_PACKAGES}
    first = [[esc(k), esc(v)] for k, v in versions.items() if k in deciding]
    rest = [[esc(k), esc(v)] for k, v in versions.items() if k not in deciding]
    parts.append("<h3>Package versions (as run)</h3>")
    parts.append(table(["package", "version"], first))
    if rest:
        parts.append(
            f"<details><summary>every other installed package ({len(rest)})</summary>"
            + table(["package", "version"], rest)
            + "</details>"
        )
    parts += _as_run(data)
    parts.append("</section>")
    return "\n".join(parts)


def _as_run(data: ReportData) -> list[str]:
    """The campaign as it ran: what ``run``'s options changed from the file, the campaign as
    validated and run, and the file's text as written."""
    campaign = data.summary.campaign
    as_run = json.dumps(campaign.spec, indent=2, ensure_ascii=False, default=str)
    if not campaign.spec_text.strip():
        return [
            "<h3>Campaign as run</h3>",
            '<p class="empty">The record holds no campaign file text; here is the campaign '
            "as validated and run:</p>",
            f"<pre>{esc(as_run)}</pre>",
        ]
    parts = ["<h3>Campaign as run</h3>"]
    if data.overrides:
        rows = [
            [f"<code>{esc(o.key)}</code>", _json(o.as_run), _json(o.in_file)]
            for o in data.overrides
        ]
        parts.append(
            f'<p id="overrides">The campaign ran with {len(data.overrides)} value(s) other than '
            "its file's (set by <code>run</code>'s options, such as <code>--budget</code>, "
            "<code>--seed</code> and <code>--planner</code>): the values as run are the ones "
            "above and below.</p>"
        )
        parts.append(table(["setting", "as run", "in the file"], rows))
    else:
        parts.append("<p>The campaign ran exactly as its file says.</p>")
    parts.append(
        "<details><summary>the campaign as validated and run (JSON)</summary>"
        f"<pre>{esc(as_run)}</pre></details>"
    )
    heading = "Campaign file as written" + (
        " (overridden where the table above says)" if data.overrides else ""
    )
    parts += [f"<h3>{heading}</h3>", f"<pre>{esc(campaign.spec_text)}</pre>"]
    return parts


def model_check_html(check: ModelCheck) -> str:
    """The final model's check as a table: per objective, how many results its
    leave-one-out predictions hold within ±2σ, and each parameter's importance."""
    rows = []
    for objective in check.objectives:
        n = len(objective.observed)
        ranked = sorted(objective.importance.items(), key=lambda item: -item[1])
        rows.append(
            [
                esc(objective.name),
                esc(f"{objective.within_two_sd} of {n}"),
                esc(", ".join(f"{name} {share:.2f}" for name, share in ranked)),
            ]
        )
    return (
        f'<p id="model-check">The planner\'s model refitted to {check.n} results'
        + ("" if check.n == check.available else f" (the latest, of {check.available})")
        + ". A calibrated model holds about 95 % of them within ±2σ of its leave-one-out "
        "prediction; importance is each parameter's share of the inverse length scales.</p>"
        + table(["objective", "within ±2σ (leave one out)", "parameter importance"], rows)
    )


def integrity_html(data: ReportData) -> str:
    """What verifying the record found, as ``genesis-lab verify`` would say it."""
    check = data.verification
    if check.ok:
        return "intact: the hash chain and the tables agree (nothing altered, removed or inserted)"
    first = check.problems[0]
    return (
        f'<span class="breaks">{len(check.problems)} problem(s); the first: '
        f"{esc(first.where)}: {esc(first.what)}</span> (run genesis-lab verify for all)"
    )


def counts_text(data: ReportData) -> str:
    """``12 completed, 2 failed`` over every trial, in life-cycle order (escaped)."""
    counts = [(s, len(data.in_state(s))) for s in TrialState]
    return esc(", ".join(f"{n} {s.value.lower()}" for s, n in counts if n)) or "no trials"
