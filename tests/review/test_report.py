"""The campaign report: what it shows, on records built by hand for every edge case (two
objectives, a categorical and a log-scale parameter, failures, rejections, imported
results, no completed trial, no trial), that every string is escaped and that the page
loads nothing. Headless Chromium renders real campaigns' reports in tests/cli."""

from __future__ import annotations

import base64
import re
import sqlite3
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from record_runs import store_run

from genesis_lab.errors import RecordError
from genesis_lab.review import (
    ReportFiles,
    default_report_dir,
    write_report,
)
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, TrialState

HOSTILE = "<script>alert('x')</script>&\"'"

TRADEOFF: dict[str, Any] = {
    "name": "tradeoff-test",
    "description": f"two objectives {HOSTILE}",
    "parameters": [
        {"name": "cyan", "bounds": [0.0, 10.0], "units": "mL"},
        {"name": "rate", "bounds": [0.01, 10.0], "units": "mL/min", "scale": "log"},
        {"name": "solvent", "type": "categorical", "choices": ["water", "<b>ethanol</b>"]},
        {"name": "cycles", "type": "integer", "bounds": [1, 5], "units": "cycles"},
        {"name": "volume", "type": "fixed", "value": 20.0, "units": "mL"},
    ],
    "objectives": [
        {
            "name": "colour_error",
            "direction": "minimize",
            "reading": "spectro_colour_error",
            "units": "ΔA×100",
        },
        {
            "name": "dye_cost",
            "direction": "minimize",
            "reading": "dosing_dye_cost",
            "units": "$ per run, $",
            "reference": 8.0,
        },
    ],
    "outcome_constraints": [
        {"name": "transmittance", "reading": "spectro_min_transmittance", "min": 5.0, "units": "%"}
    ],
    "budget": 12,
    "initial_design": 3,
    "seed": 3,
    "station": {"plugin": "colour-bench", "options": {"note": HOSTILE}},
}

SINGLE: dict[str, Any] = {
    "name": "single-test",
    "parameters": [
        {"name": "cyan", "bounds": [0.0, 10.0], "units": "mL"},
        {"name": "magenta", "bounds": [0.0, 10.0], "units": "mL"},
    ],
    "objective": {"name": "colour_error", "direction": "minimize", "reading": "e"},
    "budget": 10,
    "initial_design": 2,
    "station": {"plugin": "colour-bench"},
}


def explanation(mean: float, std: float, **others: tuple[float, float]) -> dict[str, Any]:
    """What the planner stores with a model trial (genesis_lab.planning.Explanation)."""
    predictions = {name: {"mean": m, "std": s} for name, (m, s) in others.items()}
    return {
        "predicted_mean": mean,
        "predicted_std": std,
        "acquisition_value": -1.5,
        "length_scales": {},
        "noise_std": 0.01,
        "n_observations": 3,
        "predictions": predictions,
    }


class Campaign:
    """Writes one campaign into a record the way the runner does, trial by trial."""

    def __init__(self, record: CampaignRecord, spec: dict[str, Any], cid: str, **kw: Any) -> None:
        self.record, self.cid = record, cid
        self.spec = CampaignSpec.model_validate(spec)
        self.primary = self.spec.primary_objective.name
        record.create_campaign(
            cid,
            name=self.spec.name,
            spec=self.spec.model_dump(),
            spec_text=kw.get("spec_text", f"name: {self.spec.name}\n# as run {HOSTILE}\n"),
            versions={"genesis-lab": "0.1.0", "torch": "2.13.0+cpu", "evil": HOSTILE},
            **({"actor": kw["actor"]} if "actor" in kw else {}),
        )
        self.count = 0

    def trial(
        self,
        state: TrialState,
        *,
        origin: str = "sobol",
        outcomes: dict[str, float] | None = None,
        reason: str = "",
        why: dict[str, Any] | None = None,
        **parameters: Any,
    ) -> str:
        self.count += 1
        tid = f"t{self.count:04d}"
        self.record.add_trial(self.cid, tid, parameters=parameters, origin=origin, explanation=why)
        path = {
            TrialState.COMPLETED: [TrialState.DISPATCHED, TrialState.RUNNING],
            TrialState.FAILED: [TrialState.DISPATCHED, TrialState.RUNNING],
            TrialState.REJECTED: [TrialState.DISPATCHED],
            TrialState.ABANDONED: [TrialState.DISPATCHED],
            TrialState.RUNNING: [TrialState.DISPATCHED],
            TrialState.PROPOSED: [],
        }[state]
        run_uid = None
        if state is TrialState.COMPLETED and outcomes is not None:
            run_uid = self._run(tid, outcomes)  # its documents, as a worker sends them
        for step in path:
            uid = run_uid if step is TrialState.RUNNING else None
            self.record.transition(self.cid, tid, step, run_uid=uid)
        if state not in (TrialState.RUNNING, TrialState.PROPOSED):
            outcome = None if outcomes is None else outcomes[self.primary]
            self.record.transition(
                self.cid, tid, state, reason=reason, outcome=outcome, outcomes=outcomes
            )
        return tid

    def _run(self, tid: str, outcomes: dict[str, float]) -> str:
        """Store a run of one event measuring ``outcomes``; return its start's uid."""
        data = {key: outcomes[name] for name, key in self.spec.readings.items()}
        return store_run(self.record, self.cid, tid, self.spec.station.station_id, data)

    def prior(self, outcomes: dict[str, float], **parameters: Any) -> str:
        self.count += 1
        tid = f"t{self.count:04d}"
        self.record.add_prior_trial(
            self.cid,
            tid,
            parameters=parameters,
            outcome=outcomes[self.primary],
            outcomes=outcomes,
            source="earlier.csv, line 2",
        )
        return tid


def tradeoff_record(path: Path) -> Path:
    """Two objectives and a constraint; every trial state, origin and parameter type."""
    with CampaignRecord(path) as record:
        c = Campaign(record, TRADEOFF, "tradeoff-1", actor="alice@bench-pc")
        p = {"rate": 0.1, "solvent": "water", "cycles": 2, "volume": 20.0}
        c.prior({"colour_error": 30.0, "dye_cost": 2.0, "transmittance": 9.0}, cyan=1.0, **p)
        C = TrialState.COMPLETED
        c.trial(
            C, outcomes={"colour_error": 20.0, "dye_cost": 5.0, "transmittance": 8.0}, cyan=4.0, **p
        )
        c.trial(
            C,
            outcomes={"colour_error": 12.0, "dye_cost": 6.0, "transmittance": 3.0},  # breaks
            cyan=6.0,
            **{**p, "solvent": "<b>ethanol</b>", "rate": 3.0},
        )
        c.trial(TrialState.FAILED, reason=f"Precipitation {HOSTILE}", cyan=9.5, **p)
        c.trial(
            C,
            origin="model",
            why=explanation(9.0, 1.5, colour_error=(9.0, 1.5), dye_cost=(4.0, 0.5)),
            outcomes={"colour_error": 8.0, "dye_cost": 4.5, "transmittance": 7.0},
            cyan=3.2,
            **p,
        )
        c.trial(
            TrialState.REJECTED,
            origin="model",
            why=explanation(7.0, 2.0),
            reason="outside the safety envelope: cyan above 8",
            cyan=9.0,
            **p,
        )
        c.trial(
            C,
            origin="manual",
            why={"requested_by": "bob"},
            outcomes={"colour_error": 25.0, "dye_cost": 1.0, "transmittance": 12.0},
            cyan=0.5,
            **p,
        )
        c.trial(TrialState.ABANDONED, reason="no result within 60 s", cyan=2.0, **p)
        record.add_event("tradeoff-1", "paused", detail="coffee", actor="carol@lab")
        record.add_event("tradeoff-1", "serving", actor="carol@lab")
        record.finish_campaign("tradeoff-1", status="stopped", reason="stopped by the operator")
    return path


def report_of(record_path: Path, out: Path, campaign: str | None = None) -> tuple[ReportFiles, str]:
    with CampaignRecord(record_path, read_only=True) as record:
        files = write_report(record, campaign, out)
    return files, files.html.read_text(encoding="utf-8")


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its signature and header chunk's CRC."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR" and length == 13
    header, crc = png[16:29], struct.unpack(">I", png[29:33])[0]
    assert zlib.crc32(b"IHDR" + header) == crc
    assert png.endswith(b"IEND\xaeB`\x82")  # complete, not cut short
    width, height = struct.unpack(">II", header[:8])
    return width, height


class Page(HTMLParser):
    """Every tag, attribute and figure of a page, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def ids(self) -> list[str]:
        return [str(a["id"]) for _, a in self.tags if "id" in a]


@pytest.mark.timeout(120)
def test_a_two_objective_campaign_gets_every_figure_and_every_table(tmp_path: Path) -> None:
    files, html = report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    names = [p.name for p in files.figures]
    assert names == [
        "best_so_far.png",
        "parameters_over_time.png",
        "objective_vs_parameters_colour_error.png",
        "objective_vs_parameters_dye_cost.png",
        "pareto_front.png",
        "hypervolume.png",
        "predicted_vs_observed.png",
        "final_model.png",
    ]
    assert files.html == tmp_path / "out" / "report.html"
    assert files.campaign_id == "tradeoff-1"
    page = Page(html)
    for section in (
        "summary",
        "best-so-far",
        "parameters-over-time",
        "objective-vs-parameters",
        "pareto-front",
        "hypervolume",
        "predicted-vs-observed",
        "final-model",
        "failures",
        "trials",
        "provenance",
    ):
        assert section in page.ids()
    figures = [str(f["data-figure"]) for f in page.all("figure")]
    assert figures == [n.removesuffix(".png") for n in names]
    for img, path in zip(page.all("img"), files.figures, strict=True):
        src = str(img["src"])
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.removeprefix("data:image/png;base64,"))
        assert png == path.read_bytes()  # the file beside it is the same figure
        assert png_size(png) == (int(str(img["width"])), int(str(img["height"])))
    text = "".join(page.text)
    # the trial table: every trial, its state, origin, parameters, values and reason
    for tid in ("t0001", "t0002", "t0003", "t0004", "t0005", "t0006", "t0007", "t0008"):
        assert f'id="trial-{tid}"' in html
    assert "manual, by bob" in text
    assert "imported from earlier.csv, line 2" in text
    assert "no result within 60 s" in text
    assert 'class="breaks"' in html  # transmittance 3 < 5 is shown as breaking it
    assert "9 ± 1.5" in text  # the model's prediction when it chose t0005
    # failures and rejections, in their own table
    failures = html[html.index('id="failures"') : html.index('id="trials"')]
    assert "t0004" in failures and "t0006" in failures and "t0008" in failures
    assert "1 failed, 1 rejected, 1 abandoned" in failures
    # provenance: versions, seed, planner settings, the file as run, who and when
    provenance = html[html.index('id="provenance"') :]
    assert "2.13.0+cpu" in provenance
    assert "<dt>seed</dt><dd>3</dd>" in provenance
    assert "raw_samples" in provenance and "num_restarts" in provenance
    assert "name: tradeoff-test" in provenance
    assert str((tmp_path / "r.sqlite").resolve()) in provenance
    assert "stopped by the operator" in provenance
    assert "alice@bench-pc" in provenance  # who started it
    assert "carol@lab" in provenance and "coffee" in provenance  # who paused it, and why
    with CampaignRecord(tmp_path / "r.sqlite", read_only=True) as record:
        entries, head = record.chain_head()
    assert f"<code>{head}</code> ({entries} entries)" in provenance
    assert "intact: the hash chain and the tables agree" in provenance


@pytest.mark.timeout(120)
def test_a_record_edited_afterwards_is_reported_as_such(tmp_path: Path) -> None:
    path = tradeoff_record(tmp_path / "r.sqlite")
    with sqlite3.connect(path) as db:  # someone edits a failure away
        db.execute("UPDATE trials SET reason = 'fine' WHERE trial_id = 't0004'")
    db.close()
    _, html = report_of(path, tmp_path / "out")
    summary = html[html.index('id="summary"') : html.index("<nav>")]
    assert "problem(s); the first:" in summary and "t0004" in summary
    assert "intact" not in html


@pytest.mark.timeout(120)
def test_every_string_from_the_record_is_escaped(tmp_path: Path) -> None:
    _, html = report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    assert "<script" not in html
    assert "<b>ethanol</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;&#x27;" in html
    page = Page(html)
    allowed = {
        "html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3",
        "p", "section", "nav", "ul", "li", "a", "dl", "dt", "dd", "figure", "img",
        "figcaption", "b", "div", "table", "thead", "tbody", "tr", "th", "td", "span", "br",
        "small", "pre", "code", "i", "footer", "details", "summary",
    }  # fmt: skip
    assert {tag for tag, _ in page.tags} <= allowed
    for _, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs)


@pytest.mark.timeout(120)
def test_the_page_loads_nothing_from_anywhere(tmp_path: Path) -> None:
    _, html = report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    page = Page(html)
    [csp] = [m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in str(csp["content"])
    assert not page.all("script") and not page.all("link")
    for img in page.all("img"):
        assert str(img["src"]).startswith("data:image/png;base64,")
    for a in page.all("a"):
        href = str(a["href"])
        assert href.startswith("#") or re.fullmatch(r"[a-z_]+\.png", href), href
    assert "url(" not in html and "@import" not in html and "http://" not in html


@pytest.mark.timeout(120)
def test_a_campaign_with_no_completed_trial(tmp_path: Path) -> None:
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        c = Campaign(record, SINGLE, "none-done", spec_text="")
        c.trial(TrialState.FAILED, reason="lamp fault", cyan=1.0, magenta=2.0)
        c.trial(TrialState.REJECTED, reason="door open", cyan=2.0, magenta=3.0)
        c.trial(TrialState.RUNNING, cyan=3.0, magenta=4.0)
    files, html = report_of(tmp_path / "r.sqlite", tmp_path / "out")
    assert [p.name for p in files.figures] == [
        "best_so_far.png",
        "parameters_over_time.png",
        "objective_vs_parameters.png",
    ]
    assert "no experiment has completed with a result that counts" in html
    assert "No experiment chosen by the model has completed yet" in html
    assert 'id="pareto-front"' not in html  # one objective: no front
    assert "The record holds no campaign file text" in html
    assert "lamp fault" in html and "door open" in html


@pytest.mark.timeout(120)
def test_a_campaign_with_no_trial_has_no_figure(tmp_path: Path) -> None:
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        Campaign(record, SINGLE, "empty")
    files, html = report_of(tmp_path / "r.sqlite", tmp_path / "out")
    assert files.figures == []
    assert "<img" not in html
    assert html.count("The campaign has no trials yet") >= 2
    assert "No trial failed, was rejected or was abandoned." in html


@pytest.mark.timeout(120)
def test_the_newest_campaign_by_default_another_by_id(tmp_path: Path) -> None:
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        first = Campaign(record, SINGLE, "first")
        first.trial(TrialState.COMPLETED, outcomes={"colour_error": 3.0}, cyan=1.0, magenta=1.0)
        Campaign(record, {**SINGLE, "name": "second-test"}, "second")
    newest, _ = report_of(tmp_path / "r.sqlite", tmp_path / "a")
    assert newest.campaign_id == "second"
    older, html = report_of(tmp_path / "r.sqlite", tmp_path / "b", "first")
    assert older.campaign_id == "first"
    assert "colour_error = 3 at cyan=1, magenta=1" in html
    with pytest.raises(RecordError, match=r"no campaign 'third'.*first, second"):
        report_of(tmp_path / "r.sqlite", tmp_path / "c", "third")


def test_the_default_folder_is_named_after_the_campaign() -> None:
    assert default_report_dir("colour-mixing-1a2b") == Path("reports/colour-mixing-1a2b")
    assert default_report_dir("../x/y") == Path("reports/_x_y")


@pytest.mark.timeout(120)
def test_the_campaign_as_run_shows_what_run_overrode(tmp_path: Path) -> None:
    """Issue 16, item 6.1: ``run --budget 6 --seed 4 --planner random`` ran the campaign with
    values other than its file's; the provenance says so and shows the values as run."""
    import yaml

    as_run = {**SINGLE, "budget": 6, "seed": 4, "planner": {"kind": "random"}}
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        c = Campaign(record, as_run, "overridden", spec_text=yaml.safe_dump(SINGLE))
        c.trial(TrialState.COMPLETED, outcomes={"colour_error": 3.0}, cyan=1.0, magenta=1.0)
    _, html = report_of(tmp_path / "r.sqlite", tmp_path / "out")
    provenance = html[html.index('id="provenance"') :]
    assert "<dt>seed</dt><dd>4</dd>" in provenance and "<dt>budget</dt><dd>6</dd>" in provenance
    overrides = provenance[provenance.index('id="overrides"') :]
    overrides = overrides[: overrides.index("</table>")]
    rows = re.findall(
        r"<tr><td><code>([^<]+)</code></td><td>([^<]*)</td><td>([^<]*)</td>", overrides
    )
    assert rows == [
        ("budget", "6", "10"),
        ("seed", "4", "0"),
        ("planner.kind", "&quot;random&quot;", "&quot;bayesian&quot;"),
    ]
    assert "Campaign file as written (overridden where the table above says)" in provenance
    assert "budget: 10" in provenance  # the file's text, as written
    assert "&quot;budget&quot;: 6" in provenance  # the campaign as run


@pytest.mark.timeout(120)
def test_a_campaign_run_as_its_file_says_lists_no_override(tmp_path: Path) -> None:
    import yaml

    with CampaignRecord(tmp_path / "r.sqlite") as record:
        Campaign(record, SINGLE, "as-written", spec_text=yaml.safe_dump(SINGLE))
    _, html = report_of(tmp_path / "r.sqlite", tmp_path / "out")
    assert "The campaign ran exactly as its file says." in html
    assert 'id="overrides"' not in html


WEIGHTED: dict[str, Any] = {
    **{k: v for k, v in TRADEOFF.items() if k not in ("objectives", "outcome_constraints")},
    "name": "weighted-test",
    "objectives": [
        {"name": "colour_error", "direction": "minimize", "reading": "e", "weight": 1.0},
        {"name": "dye_cost", "direction": "minimize", "reading": "c", "weight": 0.5},
    ],
    "multi_objective": {"method": "weighted"},
}


@pytest.mark.timeout(120)
def test_the_best_of_a_weighted_campaign_is_its_best_weighted_sum(tmp_path: Path) -> None:
    """Issue 16, item 6.2: the best is the trial with the best weighted sum (what the planner
    maximises), here not the one with the best first objective, and the page shows it."""
    p = {"rate": 0.1, "solvent": "water", "cycles": 2, "volume": 20.0}
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        c = Campaign(record, WEIGHTED, "weighted-1")
        c.trial(
            TrialState.COMPLETED, outcomes={"colour_error": 5.0, "dye_cost": 10.0}, cyan=1.0, **p
        )
        c.trial(
            TrialState.COMPLETED, outcomes={"colour_error": 8.0, "dye_cost": 1.0}, cyan=2.0, **p
        )
    _, html = report_of(tmp_path / "r.sqlite", tmp_path / "out")
    summary = html[html.index('id="summary"') : html.index("<nav>")]
    # 5 + 0.5 x 10 = 10 for t0001; 8 + 0.5 x 1 = 8.5 for t0002: t0002 is best
    assert "<dt>best (weighted sum)</dt>" in summary
    assert "−1×colour_error − 0.5×dye_cost = -8.5" in summary
    assert 'href="#trial-t0002"' in summary and "t0001" not in summary
    star = '<span class="mark" title="the best weighted sum">★</span>'
    assert f'id="trial-t0002">t0002</span> {star}' in html and html.count(star) == 1
    assert "the one number the planner maximises" in html  # the best-so-far figure's caption


@pytest.mark.timeout(120)
def test_a_pareto_campaign_claims_no_weighted_best(tmp_path: Path) -> None:
    """A Pareto search has no one best trial: the summary names the first objective's best
    as that alone, never as a weighted best."""
    _, html = report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    summary = html[html.index('id="summary"') : html.index("<nav>")]
    assert "weighted" not in summary
    assert "<dt>best colour_error alone</dt>" in summary
    assert "colour_error = 8 (trial" in summary and "searches a Pareto front" in summary
    assert 'title="the best colour_error alone">★' in html


def drawn_figures(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Keep every matplotlib figure the report draws, by file name (after it is rendered)."""
    from genesis_lab.review import _figures, _figures_model

    kept: dict[str, Any] = {}
    real = _figures.finish

    def finish(figure: Any, section: str, filename: str, *rest: Any) -> Any:
        done = real(figure, section, filename, *rest)
        kept[filename] = figure
        return done

    monkeypatch.setattr(_figures, "finish", finish)
    monkeypatch.setattr(_figures_model, "finish", finish)
    return kept


def marks(ax: Any, label: str) -> list[tuple[float, float]]:
    """Display positions (pixels) of the scatter marks labelled ``label`` in ``ax``."""
    found: list[tuple[float, float]] = []
    for collection in ax.collections:
        if collection.get_label() == label:
            offsets = collection.get_offset_transform().transform(collection.get_offsets())
            found += [(float(x), float(y)) for x, y in offsets]
    return found


@pytest.mark.timeout(120)
def test_failed_trials_never_cover_a_measured_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16, item 6.3: a failed trial at the parameters of the best (lowest) value of a
    minimised objective is drawn in the band at the panel's foot, below every measured
    value, not over the best point."""
    figures = drawn_figures(monkeypatch)
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        c = Campaign(record, SINGLE, "failing")
        C = TrialState.COMPLETED
        c.trial(C, outcomes={"colour_error": 10.0}, cyan=5.0, magenta=5.0)
        c.trial(C, outcomes={"colour_error": 20.0}, cyan=2.0, magenta=2.0)
        c.trial(C, outcomes={"colour_error": 1.0}, cyan=9.0, magenta=1.0)  # the best
        c.trial(TrialState.FAILED, reason="lamp fault", cyan=9.0, magenta=1.0)
        c.trial(TrialState.REJECTED, reason="door open", cyan=2.0, magenta=2.0)
    report_of(tmp_path / "r.sqlite", tmp_path / "out")
    for name in ("objective_vs_parameters.png", "best_so_far.png"):
        for ax in figures[name].axes:
            real = marks(ax, "sobol")
            assert len(real) == 3
            for label in ("failed", "rejected (never ran)"):
                [(_, y)] = marks(ax, label)
                lowest = min(ry for _, ry in real)
                assert y < lowest - 12, (name, label, y, lowest)  # in the band below them
                assert ax.bbox.y0 <= y  # inside the panel, not over its axis labels


@pytest.mark.timeout(120)
def test_the_two_objective_front_is_drawn_as_a_staircase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16, item 6.4: the front (8, 4.5), (25, 1), both minimised, is joined by the
    edge of the region it attains, turning at (25, 4.5), and runs on to dye_cost's reference
    (8); not by a straight segment from one member to the other."""
    figures = drawn_figures(monkeypatch)
    report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    [ax] = figures["pareto_front.png"].axes
    [edge] = [line for line in ax.lines if line.get_label() == "attained region's edge"]
    assert [tuple(map(float, p)) for p in edge.get_xydata()] == [
        (8.0, 8.0),
        (8.0, 4.5),
        (25.0, 4.5),
        (25.0, 1.0),
    ]


def test_the_staircase_follows_each_objectives_direction() -> None:
    from genesis_lab.review._figures import staircase
    from genesis_lab.spec import Objective

    up = Objective(name="yield_", direction="maximize", reading="y")
    down = Objective(name="cost", direction="minimize", reading="c", reference=9.0)
    # maximise a, minimise b: (10, 5) and (4, 1) attain a <= 10 with b >= 5 or a <= 4 with
    # b >= 1, whose edge turns at (4, 5)
    assert staircase([(4.0, 1.0), (10.0, 5.0)], up, down) == [
        (10.0, 9.0),
        (10.0, 5.0),
        (4.0, 5.0),
        (4.0, 1.0),
    ]
    assert staircase([], up, down) == []


@pytest.mark.timeout(120)
def test_the_predicted_column_shows_every_objective(tmp_path: Path) -> None:
    """Issue 16, item 6.5: t0005's prediction was colour_error 9 ± 1.5 and dye_cost 4 ± 0.5;
    the trial table shows both, not the first objective's alone."""
    _, html = report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    trials = html[html.index('id="trials"') :]
    row = trials[trials.index('id="trial-t0005"') :]
    row = row[: row.index("</tr>")]
    lines = re.findall(r'<span class="nowrap">([^<]+)</span>', row)
    assert lines == ["colour_error: 9 ± 1.5", "dye_cost: 4 ± 0.5"]
    assert "<th>predicted</th>" in trials


@pytest.mark.timeout(120)
def test_the_campaigns_target_is_drawn_where_it_states_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16, item 6.6: a campaign that states a target (stopping.target) gets it as a
    line on best so far; one that states none gets no line."""
    figures = drawn_figures(monkeypatch)
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        for cid, spec in (("aimed", {**SINGLE, "stopping": {"target": 2.5}}), ("open", SINGLE)):
            c = Campaign(record, spec, cid)
            c.trial(TrialState.COMPLETED, outcomes={"colour_error": 9.0}, cyan=5.0, magenta=5.0)
    _, html = report_of(tmp_path / "r.sqlite", tmp_path / "a", "aimed")
    [ax] = figures["best_so_far.png"].axes
    [line] = [ln for ln in ax.lines if ln.get_label() == "target (stopping rule)"]
    assert set(line.get_ydata()) == {2.5}
    assert ax.get_ylim()[0] < 2.5 < ax.get_ylim()[1]
    assert "the campaign&#x27;s target, 2.5" in html
    report_of(tmp_path / "r.sqlite", tmp_path / "b", "open")
    [ax] = figures["best_so_far.png"].axes
    assert not [ln for ln in ax.lines if ln.get_label() == "target (stopping rule)"]


def test_the_staircase_stops_at_a_member_beyond_the_reference() -> None:
    from genesis_lab.review._figures import staircase
    from genesis_lab.spec import Objective

    a = Objective(name="a", direction="minimize", reading="a", reference=100.0)
    b = Objective(name="b", direction="minimize", reading="b", reference=1.0)
    # (135, 0.3) lies past a's reference: the edge does not run back to it; b's reference
    # is better than the first member's b, so nothing runs on there either
    assert staircase([(135.0, 0.3), (10.0, 5.0)], a, b) == [(10.0, 5.0), (135.0, 5.0), (135.0, 0.3)]


@pytest.mark.timeout(120)
def test_a_two_objective_report_draws_the_hypervolume_and_states_its_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16, item 6.6: hypervolume against experiment number, with the reference point
    said: dye_cost's from the campaign (8), colour_error's inferred."""
    figures = drawn_figures(monkeypatch)
    _, html = report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    section = html[html.index('id="hypervolume"') : html.index('id="predicted-vs-observed"')]
    assert re.search(
        r"reference point colour_error [-+.0-9e]+ \(inferred\), dye_cost 8 \(", section
    )
    [ax] = figures["hypervolume.png"].axes
    [line] = [ln for ln in ax.lines if ln.get_label() == "hypervolume attained"]
    x, y = (list(map(float, v)) for v in (line.get_xdata(), line.get_ydata()))
    assert x == [0, 1, 2, 3, 4, 5, 6, 7]  # the imported result, then each experiment
    assert y == sorted(y) and y[-1] > 0  # it never shrinks
    assert y[2] == y[1]  # t0003 breaks the constraint: it adds nothing


@pytest.mark.timeout(120)
def test_the_final_model_is_checked_on_the_page(tmp_path: Path) -> None:
    """Issue 16, item 6.6: parameter importance from the refitted model's length scales,
    and how many results its leave-one-out predictions hold within ±2σ, per objective."""
    _, html = report_of(tradeoff_record(tmp_path / "r.sqlite"), tmp_path / "out")
    section = html[html.index('id="final-model"') : html.index('id="failures"')]
    assert "refitted to 5 results" in section  # the imported one and four completed
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\d+) of 5</td><td>([^<]+)</td></tr>", section)
    assert [r[0] for r in rows] == ["colour_error", "dye_cost"]
    for _, _, importance in rows:
        shares = dict(part.rsplit(" ", 1) for part in importance.split(", "))
        assert set(shares) == {"cyan", "rate", "solvent", "cycles"}  # volume is fixed
        assert sum(float(v) for v in shares.values()) == pytest.approx(1.0, abs=0.02)
    assert 'data-figure="final_model"' in section
