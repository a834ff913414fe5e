"""``genesis-lab report``: the command, its errors, and the report of real campaigns (run
through the real runner, broker, worker and simulator) rendered in headless Chromium with
every figure loaded and visible and nothing fetched from any network.

Chromium is Debian's package (``make browser`` installs it; ``make test`` runs that
first). Without it the rendering tests fail, saying so: they are part of the suite, not an
optional extra, as the Mosquitto tests fail when the broker is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from record_runs import store_run
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, TrialState

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"

SPEC = CampaignSpec.model_validate(
    {
        "name": "report-cli",
        "parameters": [{"name": "cyan", "bounds": [0.0, 10.0], "units": "mL"}],
        "objective": {"name": "colour_error", "direction": "minimize", "reading": "e"},
        "budget": 4,
        "initial_design": 2,
        "station": {"plugin": "colour-bench"},
    }
)


def small_record(path: Path, *campaign_ids: str) -> Path:
    """A record holding one campaign per id, each with one completed trial."""
    with CampaignRecord(path) as record:
        for cid in campaign_ids:
            record.create_campaign(
                cid, name=SPEC.name, spec=SPEC.model_dump(), spec_text="", versions={}
            )
            record.add_trial(cid, "t0001", parameters={"cyan": 1.0}, origin="sobol")
            run_uid = store_run(record, cid, "t0001", SPEC.station.station_id, {"e": 4.0})
            record.transition(cid, "t0001", TrialState.DISPATCHED)
            record.transition(cid, "t0001", TrialState.RUNNING, run_uid=run_uid)
            record.transition(
                cid, "t0001", TrialState.COMPLETED, outcome=4.0, outcomes={"colour_error": 4.0}
            )
            record.finish_campaign(cid, status="completed", reason="budget spent")
    return path


def no_traceback(result: Any) -> None:
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


@pytest.mark.timeout(120)
def test_report_writes_the_page_and_says_where(tmp_path: Path) -> None:
    record = small_record(tmp_path / "r.sqlite", "camp-a")
    result = CliRunner().invoke(app, ["report", str(record), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    html = tmp_path / "out" / "report.html"
    assert f"report of campaign camp-a: {html}" in result.output
    assert "figures (3): best_so_far.png, parameters_over_time.png" in result.output
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "out" / "best_so_far.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.timeout(120)
def test_report_defaults_to_the_newest_campaign_under_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = small_record(tmp_path / "r.sqlite", "camp-old", "camp-new")
    monkeypatch.chdir(tmp_path)
    cli = CliRunner()
    result = cli.invoke(app, ["report", str(record)])
    assert result.exit_code == 0, result.output
    assert "reports/camp-new/report.html" in result.output
    assert (tmp_path / "reports" / "camp-new" / "report.html").exists()
    result = cli.invoke(app, ["report", str(record), "--campaign", "camp-old"])
    assert result.exit_code == 0, result.output
    assert "camp-old" in (tmp_path / "reports" / "camp-old" / "report.html").read_text()


@pytest.mark.timeout(120)
def test_report_errors_are_clear_and_exit_non_zero(tmp_path: Path) -> None:
    cli = CliRunner()
    missing = cli.invoke(app, ["report", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 2
    assert f"no record at {tmp_path / 'nope.sqlite'}" in missing.output
    no_traceback(missing)
    record = small_record(tmp_path / "r.sqlite", "camp-a", "camp-b")
    unknown = cli.invoke(app, ["report", str(record), "--campaign", "camp-z"])
    assert unknown.exit_code == 2
    assert "no campaign 'camp-z'" in unknown.output and "camp-a, camp-b" in unknown.output
    no_traceback(unknown)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database, just text " * 100)
    garbage = cli.invoke(app, ["report", str(junk)])
    assert garbage.exit_code == 2
    assert "genesis-lab record" in garbage.output
    no_traceback(garbage)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    unwritable = cli.invoke(app, ["report", str(record), "--out", str(blocked / "x")])
    assert unwritable.exit_code == 1
    assert "cannot write the report" in unwritable.output
    no_traceback(unwritable)


def test_report_help_explains_it() -> None:
    result = CliRunner().invoke(app, ["report", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for words in ("--campaign", "--out", "offline", "Pareto front", "hash-chain head"):
        assert words in result.output


# ---------------------------------------------------------------- headless Chromium
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing can be fetched
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]

CHECK_PAGE = """(async () => {
  const images = [...document.images];
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  return {
    title: document.title,
    sections: [...document.querySelectorAll("main > section")].map((s) => s.id),
    scripts: document.scripts.length,
    images: images.map((img) => {
      img.scrollIntoView({block: "center"});
      const box = img.getBoundingClientRect();
      const style = getComputedStyle(img);
      const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      return {
        figure: img.closest("figure") ? img.closest("figure").dataset.figure : null,
        section: img.closest("section") ? img.closest("section").id : null,
        scheme: img.currentSrc.split(":")[0],
        complete: img.complete,
        naturalWidth: img.naturalWidth,
        naturalHeight: img.naturalHeight,
        shownWidth: box.width,
        shownHeight: box.height,
        shown: style.display !== "none" && style.visibility === "visible" && style.opacity === "1",
        onTop: top === img,
      };
    }),
  };
})()"""


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "Chromium is not installed, and the report's rendering test needs it: run "
            "`make browser` (installs Debian's chromium package) and run the tests again"
        )
    return found


class Chromium:
    """Headless Chromium with a fresh profile, driven over the DevTools protocol."""

    def __init__(self, workdir: Path) -> None:
        self.profile = workdir / "chromium-profile"
        self.log = workdir / "chromium.log"
        self.events: list[dict[str, Any]] = []
        self._next_id = 0

    def __enter__(self) -> Chromium:
        from websockets.sync.client import connect

        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a stale one names a port nobody listens on
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [chromium_binary(), *BROWSER_FLAGS, f"--user-data-dir={self.profile}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its helper processes share one group: one kill ends all
            )
        try:
            deadline = time.monotonic() + 60
            while not (port_file.exists() and len(port_file.read_text().split()) == 2):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Chromium did not start:\n{self.log.read_text()[-3000:]}")
                time.sleep(0.05)
            port, path = port_file.read_text().split()
            self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.ws.close()
        finally:
            self._stop()

    def _stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer; keep the events that come first."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            self.events.append(json.loads(self.ws.recv(timeout=deadline - time.monotonic())))

    def render(self, page: Path) -> dict[str, Any]:
        """Open ``page`` in a new tab; the check's result from inside the rendered page, and
        every URL the page asked for."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Network.enable", session)
        self.call("Page.enable", session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=1280,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.navigate", session, url=page.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        result = self.call(
            "Runtime.evaluate",
            session,
            expression=CHECK_PAGE,
            awaitPromise=True,
            returnByValue=True,
        )
        checked = result["result"]["value"]
        checked["requested"] = [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        shot = self.call(
            "Page.captureScreenshot", session, format="png", captureBeyondViewport=True
        )
        checked["screenshot_bytes"] = len(shot["data"])
        return checked


def run_and_report(campaign: str, budget: int, tmp_path: Path) -> Path:
    cli = CliRunner()
    record = tmp_path / "r.sqlite"
    ran = cli.invoke(
        app, ["run", str(CAMPAIGNS / campaign), "--budget", str(budget), "--record", str(record)]
    )
    assert ran.exit_code == 0, ran.output
    made = cli.invoke(app, ["report", str(record), "--out", str(tmp_path / "report")])
    assert made.exit_code == 0, made.output
    return tmp_path / "report" / "report.html"


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("campaign", "budget", "figures"),
    [
        (
            "colour_mixing.yaml",  # the demo: 6 Sobol points, then the model
            8,
            [
                "best_so_far",
                "parameters_over_time",
                "objective_vs_parameters",
                "predicted_vs_observed",
                "final_model",
            ],
        ),
        (
            "colour_mixing_tradeoff.yaml",  # two objectives, an outcome constraint; 8 Sobol
            10,
            [
                "best_so_far",
                "parameters_over_time",
                "objective_vs_parameters_colour_error",
                "objective_vs_parameters_dye_cost",
                "pareto_front",
                "hypervolume",
                "predicted_vs_observed",
                "final_model",
            ],
        ),
    ],
)
def test_a_campaign_report_renders_in_headless_chromium_with_every_figure(
    campaign: str, budget: int, figures: list[str], tmp_path: Path
) -> None:
    page = run_and_report(campaign, budget, tmp_path)
    with Chromium(tmp_path) as browser:
        seen = browser.render(page)
    assert seen["title"].endswith("campaign report")
    assert seen["scripts"] == 0
    expected_sections = [
        "summary",
        "best-so-far",
        "parameters-over-time",
        "objective-vs-parameters",
        *(["pareto-front", "hypervolume"] if "pareto_front" in figures else []),
        "predicted-vs-observed",
        "final-model",
        "failures",
        "trials",
        "provenance",
    ]
    assert seen["sections"] == expected_sections
    assert [image["figure"] for image in seen["images"]] == figures
    for image in seen["images"]:
        assert image["scheme"] == "data", image
        assert image["complete"] and image["naturalWidth"] > 0 and image["naturalHeight"] > 0, image
        assert image["shownWidth"] > 100 and image["shownHeight"] > 100, image
        assert image["shown"] and image["onTop"], image
    # nothing but the page itself and its embedded figures: no network at all
    for url in seen["requested"]:
        assert url.startswith(("file://", "data:")), url[:100]
    assert seen["screenshot_bytes"] > 10_000
