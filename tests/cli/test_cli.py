"""The command line as an operator meets it: exit codes, messages, --help, real processes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.store import CampaignRecord

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"
GENESIS_LAB = str(Path(sys.executable).parent / "genesis-lab")

cli = CliRunner()


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = CAMPAIGN.read_text()
    assert old in text
    path = tmp_path / "campaign.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, fragment: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


def test_validate_accepts_the_shipped_campaign() -> None:
    result = cli.invoke(app, ["validate", str(CAMPAIGN)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "colour-mixing" in result.output


def test_validate_names_a_misspelt_key_and_its_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "    bounds: [0.0, 10.0]", "    bonds: [0.0, 10.0]")
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    line = _line_of(path, "bonds:")
    expected = f"{path}:{line}: parameters.0.bonds: unknown field (did you mean 'bounds'?)"
    assert expected in result.output.splitlines()


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("device: pump_cyan", "device: pump_cyna", "parameters.0.device", "unknown device"),
        (
            "reading: spectro_colour_error",
            "reading: spectro_colour",
            "objective.reading",
            "unknown reading",
        ),
        (
            "plugin: colour-bench",
            "plugin: colour-bnch",
            "station.plugin",
            "no station plugin named 'colour-bnch'",
        ),
        ("noise_std: 0.002", "noise: 0.002", "station.options.noise", "unknown option"),
        ("bounds: [0.0, 10.0]", "bounds: [0.0, 12.0]", "parameters.0.bounds", "leave the limits"),
        ("budget: 30", "budget: lots", "budget", "integer"),
    ],
)
def test_validate_exits_2_naming_field_and_line(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    path = _variant(tmp_path, old, new)
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    line = (
        _line_of(path, new.split(":")[0] + ":")
        if field != "parameters.0.bounds"
        else (_line_of(path, "bounds: [0.0, 12.0]"))
    )
    assert f":{line}: {field}:" in flat, flat
    assert message in flat


@pytest.mark.parametrize("command", ["run", "worker", "validate", "show"])
def test_every_command_explains_itself(command: str) -> None:
    result = cli.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output.splitlines()) > 5


def test_show_of_a_missing_record_exits_2(tmp_path: Path) -> None:
    result = cli.invoke(app, ["show", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2 and "no record" in result.output


def test_no_local_worker_needs_an_external_broker() -> None:
    result = cli.invoke(app, ["run", str(CAMPAIGN), "--no-local-worker"])
    assert result.exit_code == 2 and "external broker" in " ".join(result.output.split())


@pytest.mark.mosquitto
def test_run_without_a_worker_exits_1_saying_how_to_start_one(
    system_mosquitto: str, tmp_path: Path
) -> None:
    path = _variant(tmp_path, "id: colour-bench", f"id: nobody-{uuid.uuid4().hex[:8]}")
    result = cli.invoke(
        app,
        [
            "run",
            str(path),
            "--broker",
            system_mosquitto,
            "--no-local-worker",
            "--presence-timeout",
            "0.5",
            "--record",
            str(tmp_path / "r.sqlite"),
        ],
    )
    assert result.exit_code == 1
    assert "genesis-lab worker" in " ".join(result.output.split())


@pytest.mark.slow
def test_run_on_embedded_broker_then_show(tmp_path: Path) -> None:
    record = tmp_path / "r.sqlite"
    result = cli.invoke(
        app, ["run", str(CAMPAIGN), "--budget", "4", "--seed", "1", "--record", str(record)]
    )
    assert result.exit_code == 0, result.output
    assert "best: colour_error=" in result.output and f"record: {record}" in result.output
    head = re.search(r"record chain head: ([0-9a-f]{64}) \((\d+) entries\)", result.output)
    assert head is not None, result.output
    verified = cli.invoke(app, ["verify", str(record)])
    assert f"verified, {head[2]} entries, chain head {head[1]}" in verified.output
    shown = cli.invoke(app, ["show", str(record), "--json"])
    data = json.loads(shown.output)
    assert [t["state"] for t in data["trials"]] == ["COMPLETED"] * 4
    assert set(data["trials"][0]["parameters"]) == {"cyan", "magenta", "yellow"}
    table = cli.invoke(app, ["show", str(record)], env={"COLUMNS": "60"})
    assert table.exit_code == 0 and "t0004" in table.output
    # The best line is one line however narrow the terminal: never broken mid-value.
    [best] = [line for line in table.output.splitlines() if line.startswith("best: ")]
    assert re.search(r"\(trial t\d{4}\)$", best), table.output


@pytest.mark.slow
def test_show_trial_explains_why_the_model_chose_it(tmp_path: Path) -> None:
    path = _variant(tmp_path, "initial_design: 6", "initial_design: 3")
    record = tmp_path / "r.sqlite"
    result = cli.invoke(app, ["run", str(path), "--budget", "5", "--record", str(record)])
    assert result.exit_code == 0, result.output
    text = cli.invoke(app, ["show", str(record), "--trial", "t0005"])
    assert text.exit_code == 0
    lines = text.output.splitlines()
    assert lines[0].startswith("trial t0005 of colour-mixing-") and "COMPLETED" in lines[0]
    assert "chosen by: model" in lines
    assert any(line.startswith("  model predicted colour_error = ") for line in lines)
    assert any("RUNNING -> COMPLETED" in line for line in lines)
    assert "documents: start, descriptor, event, stop" in lines
    detail = json.loads(cli.invoke(app, ["show", str(record), "--trial", "t0005", "--json"]).output)
    why = detail["explanation"]
    assert why["n_observations"] == 4 and why["predicted_std"] > 0
    assert set(why["length_scales"]) == {"cyan", "magenta", "yellow"}
    sobol = json.loads(cli.invoke(app, ["show", str(record), "--trial", "t0001", "--json"]).output)
    assert sobol["origin"] == "sobol" and sobol["explanation"] is None
    missing = cli.invoke(app, ["show", str(record), "--trial", "t0099"])
    assert missing.exit_code == 2 and "no trial 't0099'" in missing.output


@pytest.mark.slow
@pytest.mark.mosquitto
def test_worker_and_orchestrator_in_separate_processes(
    system_mosquitto: str, tmp_path: Path
) -> None:
    """The README's two-shell recipe, as two real processes on Mosquitto."""
    station_id = f"bench-{uuid.uuid4().hex[:8]}"
    path = _variant(tmp_path, "id: colour-bench", f"id: {station_id}")
    worker = subprocess.Popen(
        [
            GENESIS_LAB,
            "worker",
            "--station",
            "colour-bench",
            "--id",
            station_id,
            "--option",
            "noise_std=0.002",
            "--broker",
            system_mosquitto,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        record = tmp_path / "r.sqlite"
        run = subprocess.run(
            [
                GENESIS_LAB,
                "run",
                str(path),
                "--broker",
                system_mosquitto,
                "--no-local-worker",
                "--budget",
                "12",
                "--record",
                str(record),
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        shown = subprocess.run(
            [GENESIS_LAB, "show", str(record), "--json"], capture_output=True, text=True, timeout=60
        )
        assert shown.returncode == 0, shown.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        worker_out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, worker_out
    assert "12 completed" in worker_out
    data = json.loads(shown.stdout)
    assert len(data["trials"]) == 12
    for trial in data["trials"]:
        assert trial["state"] == "COMPLETED"
        assert set(trial["parameters"]) == {"cyan", "magenta", "yellow"}
        assert isinstance(trial["outcome"], float)
    assert data["documents"] == 48
    assert data["best"]["outcome"] == min(t["outcome"] for t in data["trials"])


@pytest.mark.slow
def test_interrupted_run_keeps_its_record_and_exits_130(tmp_path: Path) -> None:
    """Ctrl-C mid-campaign: exit 130, the in-flight trial ABANDONED, nothing lost."""
    path = _variant(tmp_path, "latency_s: 0.0", "latency_s: 1.0")
    record = tmp_path / "r.sqlite"
    run = subprocess.Popen(
        [GENESIS_LAB, "run", str(path), "--record", str(record)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert run.stdout is not None
        for line in run.stdout:  # wait until two experiments have finished
            if line.startswith("t0002 "):
                break
        _wait_for_trial(record, "t0003")  # and a third is in flight
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 130, output
    assert f"the record so far is in {record}" in " ".join(output.split())
    data = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    assert data["status"] == "stopped"
    states = [t["state"] for t in data["trials"]]
    assert states[:2] == ["COMPLETED", "COMPLETED"]
    assert set(states[2:]) <= {"COMPLETED", "ABANDONED"} and "ABANDONED" in states[2:]


def _wait_for_trial(record: Path, trial_id: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with CampaignRecord(record, read_only=True) as store:
            [campaign] = store.campaigns()
            if any(t.trial_id == trial_id for t in store.trials(campaign.campaign_id)):
                return
        time.sleep(0.05)
    raise AssertionError(f"{trial_id} never appeared in {record}")


@pytest.mark.parametrize(
    "command", [["run", str(CAMPAIGN)], ["worker", "--station", "colour-bench"]]
)
def test_a_bad_broker_url_exits_2(command: list[str]) -> None:
    result = cli.invoke(app, [*command, "--broker", "tcp://nowhere"])
    assert result.exit_code == 2
    assert "--broker: broker must be 'embedded' or 'mqtt://HOST:PORT'" in result.output


def test_worker_needs_a_station() -> None:
    result = cli.invoke(app, ["worker"])
    assert result.exit_code == 2 and "colour-bench" in result.output


def test_worker_with_an_unknown_plugin_exits_2() -> None:
    result = cli.invoke(app, ["worker", "--station", "no-such-bench"])
    assert result.exit_code == 2 and "no station plugin named 'no-such-bench'" in result.output


def test_values_of_every_kind_are_shown() -> None:
    from genesis_lab.cli._render import format_parameters

    shown = format_parameters({"temp": 412.123456, "stages": 3, "solvent": "toluene"})
    assert shown == "temp=412.1, stages=3, solvent=toluene"


@pytest.mark.parametrize("path", sorted((REPO / "campaigns").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_campaign_validates_against_its_station(path: Path) -> None:
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_typed_parameters_reach_the_instrument_as_legal_values(tmp_path: Path) -> None:
    record = tmp_path / "r.sqlite"
    result = cli.invoke(
        app,
        [
            "run",
            str(REPO / "campaigns" / "colour_mixing_typed.yaml"),
            "--budget",
            "8",
            "--record",
            str(record),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    assert [t["state"] for t in data["trials"]] == ["COMPLETED"] * 8
    for trial in data["trials"]:
        values = trial["parameters"]
        assert isinstance(values["cyan"], int) and 0 <= values["cyan"] <= 10
        assert values["magenta"] * 2 == int(values["magenta"] * 2)  # on the 0.5 mL grid
        assert values["yellow"] == 1.5
    with CampaignRecord(record, read_only=True) as store:
        [campaign] = store.campaigns()
        starts = [d.doc for d in store.documents(campaign.campaign_id) if d.name == "start"]
    assert all(s["setpoints"]["pump_yellow"] == 1.5 for s in starts)


@pytest.mark.parametrize(
    ("campaign", "old", "new", "field", "message"),
    [
        (
            "colour_mixing_solvent.yaml",
            "choices: [water, ethanol, glycerol, acetone]",
            "choices: [water, toluene]",
            "parameters.0.choices",
            "'toluene' not among the choices of 'solvent'",
        ),
        (
            "colour_mixing_tradeoff.yaml",
            "reading: spectro_min_transmittance",
            "reading: spectro_transmittance",
            "outcome_constraints.0.reading",
            "unknown reading 'spectro_transmittance'",
        ),
        (
            "colour_mixing_tradeoff.yaml",
            "reading: dosing_dye_cost",
            "reading: dosing_cost",
            "objectives.1.reading",
            "unknown reading 'dosing_cost'",
        ),
    ],
)
def test_validate_checks_choices_and_every_reading_against_the_station(
    tmp_path: Path, campaign: str, old: str, new: str, field: str, message: str
) -> None:
    text = (REPO / "campaigns" / campaign).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / campaign
    path.write_text(text.replace(old, new), encoding="utf-8")
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f":{_line_of(path, new)}: {field}:" in flat, flat
    assert message in flat


def test_validate_refuses_constraints_that_cannot_hold_together(tmp_path: Path) -> None:
    text = (REPO / "campaigns" / "colour_mixing_capped.yaml").read_text(encoding="utf-8")
    old = "  - cyan + magenta + yellow <= 12"
    assert old in text
    path = tmp_path / "clash.yaml"
    path.write_text(text.replace(old, old + "\n  - cyan + magenta >= 13"), encoding="utf-8")
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f":{_line_of(path, 'constraints:')}: constraints:" in flat, flat
    assert "cannot all hold at once" in flat


def test_validate_names_a_station_that_cannot_be_built(tmp_path: Path) -> None:
    text = (REPO / "campaigns" / "colour_mixing_lab.yaml").read_text(encoding="utf-8")
    assert "labs/colour_lab.yaml" in text
    path = tmp_path / "lab.yaml"
    path.write_text(text.replace("labs/colour_lab.yaml", "labs/no_such_lab.yaml"), "utf-8")
    result = cli.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f":{_line_of(path, 'options:')}: station.options: cannot build the station" in flat
    assert "no_such_lab.yaml: cannot read file" in flat
