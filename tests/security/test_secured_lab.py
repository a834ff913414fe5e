"""A campaign on a lab that ``genesis-lab security init`` secured, run with the very
commands it printed: the worker as a process of its own with the worker's identity, the
orchestrator with its own, an observer watching. Proves the ACL grants each component
everything it really does (status with its last will, requests, acknowledgements,
results, controls), not just what the unit tests think it does."""

from __future__ import annotations

import os
import pwd
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.messages import TOPIC_PREFIX
from genesis_lab.messaging import MqttClient, TransportSecurity
from genesis_lab.security import load_public_key
from genesis_lab.store import CampaignRecord

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

CAMPAIGN = Path(__file__).parents[2] / "campaigns" / "colour_mixing.yaml"
GENESIS_LAB = str(Path(sys.executable).parent / "genesis-lab")
STATION = "colour-bench"


def _printed(output: str, command: str) -> list[str]:
    """The arguments of the one printed line that starts with ``genesis-lab COMMAND``."""
    lines = [ln.strip() for ln in output.splitlines()]
    found = [ln for ln in lines if ln.startswith(f"genesis-lab {command} ")]
    assert len(found) == 1, output
    return shlex.split(found[0])[1:]


@pytest.fixture
def worker_process(tmp_path: Path) -> Iterator[Callable[[list[str]], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "worker.log"

    def start(args: list[str]) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            started.append(
                subprocess.Popen([GENESIS_LAB, *args], stdout=out, stderr=subprocess.STDOUT)
            )
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def test_a_campaign_runs_on_a_secured_lab_with_the_printed_commands(
    tmp_path: Path,
    unused_port: int,
    start_mosquitto: Callable[..., Any],
    worker_process: Callable[[list[str]], subprocess.Popen[bytes]],
) -> None:
    out = tmp_path / "lab"
    me = pwd.getpwuid(os.geteuid()).pw_name
    init = CliRunner().invoke(
        app,
        [
            "security", "init", "--lab", "e2e", "--station", STATION, "--observer", "alice",
            "--hostname", "127.0.0.1", "--port", str(unused_port), "--broker-user", me,
            "--out", str(out),
        ],
    )  # fmt: skip
    assert init.exit_code == 0, init.output
    broker = start_mosquitto(config=out / "mosquitto.conf", port=unused_port, scheme="mqtts")
    url = f"mqtts://127.0.0.1:{unused_port}"

    # An observer watches everything, with its own identity.
    seen: list[str] = []
    lock = threading.Lock()

    def watch(topic: str, payload: bytes) -> None:
        with lock:
            seen.append(topic)

    home = out / "identities" / "alice"
    observer = MqttClient(
        url,
        "observer-alice",
        security=TransportSecurity.load(
            ca_file=home / "ca.crt",
            cert_file=home / "client.crt",
            key_file=home / "client.key",
            environ={},
        ),
    )
    with observer:
        observer.subscribe(f"{TOPIC_PREFIX}/#", watch)

        worker_args = _printed(init.stdout, "worker")
        assert worker_args[worker_args.index("--broker") + 1] == url
        worker_args[worker_args.index("PLUGIN")] = STATION
        worker = worker_process([*worker_args, "--outbox", str(tmp_path / "outbox.sqlite")])

        spec = yaml.safe_load(CAMPAIGN.read_text())
        spec.update(name="secured", budget=3, initial_design=3, broker=url)
        campaign = tmp_path / "campaign.yaml"
        campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
        run_args = _printed(init.stdout, "run")
        run_args[run_args.index("CAMPAIGN.yaml")] = str(campaign)
        record = tmp_path / "record.sqlite"
        run = CliRunner().invoke(
            app, [*run_args, "--record", str(record), "--presence-timeout", "60"]
        )
        assert run.exit_code == 0, run.output + (tmp_path / "worker.log").read_text()

        worker.send_signal(signal.SIGTERM)  # it announces itself offline
        assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()

    with CampaignRecord(record, read_only=True) as stored:
        cid = stored.campaigns()[-1].campaign_id
        assert [t.state.value for t in stored.trials(cid)] == ["COMPLETED"] * 3
        started = stored.campaign_events(cid)[0]
    # Signed both ways with the keys init made: requests by the orchestrator's key (the
    # worker trusts only it), every document by the station's, kept in the record.
    assert "--signing-key" in run_args and "--trust" in worker_args
    # The orchestrator trusts the station's key for that station alone (issue 14, item 1).
    trusted = load_public_key(
        out / "identities" / "orchestrator" / "trust" / f"worker-{STATION}.pub"
    )
    assert trusted.station_id == STATION
    with CampaignRecord(record, read_only=True) as stored:
        [station_key] = [k for k in stored.signing_keys(cid).values() if k.role == "station"]
        starts = [d.doc for d in stored.documents(cid) if d.name == "start"]
    assert station_key.station_id == STATION
    # Each run names the broker identity of the worker that made it (issue 14, item 4),
    # in its start document, which the station's key signed.
    assert len(starts) == 3
    assert all(d["worker"].startswith(f"worker-{STATION} (") for d in starts)
    assert started.actor.startswith("orchestrator (")
    verified = CliRunner().invoke(app, ["verify", str(record)])
    assert verified.exit_code == 0, verified.output
    assert "every signature verifies" in " ".join(verified.output.split())
    with lock:
        topics = set(seen)
    station = f"{TOPIC_PREFIX}/stations/{STATION}"
    assert {f"{station}/status", f"{station}/requests", f"{station}/acks"} <= topics
    assert f"{TOPIC_PREFIX}/campaigns/{cid}/results" in topics
    log = broker.log_text()
    for user in ("orchestrator", f"worker-{STATION}", "alice"):
        assert f"u'{user}'" in log  # each connected as the name its certificate holds
        key = (out / "identities" / user / "client.key").read_text().splitlines()[1]
        assert key not in log and key not in run.output
