"""The control commands reach a running campaign without being told its broker (issue
16, item 1): 'run' notes where it runs (the embedded broker's random port included), and
'pause' and 'estop' without --broker send there. A control nobody confirmed exits 3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from genesis_lab.cli._running import announce_run, running_campaigns

pytestmark = pytest.mark.slow

GENESIS_LAB = str(Path(sys.executable).parent / "genesis-lab")
CAMPAIGN = Path(__file__).parents[2] / "campaigns" / "colour_mixing.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GENESIS_LAB, *args], capture_output=True, text=True, timeout=120)


def _wait_for(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_pause_and_estop_find_a_campaign_on_its_embedded_broker(
    tmp_path: Path, private_state_dir: Path
) -> None:
    spec = yaml.safe_load(CAMPAIGN.read_text())
    # Long enough to be running whatever the machine's speed (it ended before the pause
    # once, on a fast one); it is interrupted once paused and released.
    spec.update(name="findme", budget=200, initial_design=200, broker="embedded")
    spec["station"]["id"] = "findme-bench"
    spec["station"]["options"]["latency_s"] = 0.5
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
    log = tmp_path / "run.log"
    with log.open("w") as sink:
        run = subprocess.Popen(
            [GENESIS_LAB, "run", str(campaign), "--record", str(tmp_path / "r.sqlite")],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: running_campaigns(), 60, "the run to note where it runs")
        (note,) = running_campaigns()
        assert note.pid == run.pid and note.broker.startswith("mqtt://127.0.0.1:")
        assert note.broker != "mqtt://127.0.0.1:1883"  # the embedded broker's own port
        _wait_for(lambda: "findme-bench" in _cli("estop", "--status").stdout, 60, "the worker")

        paused = _cli("pause", "--wait", "10")
        assert paused.returncode == 0, paused.stdout + paused.stderr
        assert f"via {note.broker} (where campaign {note.campaign_id} runs)" in paused.stdout
        assert "findme-bench: paused (ok)" in paused.stdout
        resumed = _cli("pause", "--release", "--wait", "10")
        assert resumed.returncode == 0 and "findme-bench: serving (ok)" in resumed.stdout
        assert run.poll() is None, log.read_text()  # it ran all along: the controls reached it
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=120) == 130, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)
    assert running_campaigns() == []  # the note went with the run
    # Nothing runs now: the default broker, where no such station is online.
    nobody = _cli("estop", "--station", "findme-bench", "--wait", "0.5")
    assert nobody.returncode == 3, nobody.stdout + nobody.stderr
    assert "via mqtt://127.0.0.1:1883 (no campaign runs on this machine" in nobody.stdout
    assert "no worker is online to confirm it (it is latched on the broker" in nobody.stdout
    assert "estop NOT CONFIRMED" in nobody.stderr
    cleared = _cli("estop", "--release", "--station", "findme-bench", "--wait", "0.5")
    assert cleared.returncode == 3 and "KEPT" in cleared.stdout  # unsigned, nobody online
    subprocess.run(  # leave nothing retained on the shared broker
        ["mosquitto_pub", "-t", "genesis-lab/v1/stations/findme-bench/control", "-r", "-n"],
        check=True,
        timeout=30,
    )


def test_a_note_of_a_process_that_is_gone_is_dropped(private_state_dir: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    runs = private_state_dir / "runs"
    runs.mkdir()
    (runs / "c-dead.json").write_text(
        json.dumps(
            {
                "campaign_id": "c-dead",
                "broker": "mqtt://127.0.0.1:9",
                "station_id": "s",
                "pid": int(dead.stdout),
                "started_at": 1.0,
            }
        )
    )
    (runs / "c-junk.json").write_text("{not json")
    with announce_run("c-live", "mqtt://127.0.0.1:5", "s"):
        (live,) = running_campaigns()
        assert live.campaign_id == "c-live" and live.pid == os.getpid()
    assert not (runs / "c-dead.json").exists() and not (runs / "c-live.json").exists()
    assert running_campaigns() == []
