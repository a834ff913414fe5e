"""The command line on a secured broker: the TLS and credential options of every command that
connects, their environment variables, the errors an operator meets, and a campaign whose
orchestrator and worker are separate processes on a Mosquitto that wants both a client
certificate and a password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tls_certs import LabPki, write_password_file, write_pki
from typer.testing import CliRunner

from genesis_lab.cli import app

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"
GENESIS_LAB = str(Path(sys.executable).parent / "genesis-lab")
TLS_URL = "mqtts://127.0.0.1:8883"  # nothing needs to listen: these fail before connecting

cli = CliRunner()

PASSWORDS = {
    "alice": "alice-pw-0c9e4b7d",
    "orchestrator": "orch-pw-5be21a44",
    "worker-tls-cli": "worker-pw-93fd0e12",
}


@pytest.fixture
def pki(tmp_path: Path) -> LabPki:
    return write_pki(tmp_path / "lab", clients=tuple(PASSWORDS))


@pytest.fixture
def secrets(tmp_path: Path) -> dict[str, Path]:
    """One password file per user, readable by its owner only."""
    files = {}
    for user, password in PASSWORDS.items():
        path = tmp_path / f"{user}.password"
        path.write_text(password + "\n")
        path.chmod(0o600)
        files[user] = path
    return files


@pytest.fixture
def secured_broker(start_mosquitto: Callable[..., Any], pki: LabPki, tmp_path: Path) -> Any:
    """TLS, client certificates signed by the lab CA required, and a password for each user."""
    passwd = write_password_file(tmp_path / "passwd", PASSWORDS)
    return start_mosquitto(
        settings=f"cafile {pki.ca}\ncertfile {pki.server.cert}\nkeyfile {pki.server.key}\n"
        f"require_certificate true\npassword_file {passwd}\nallow_anonymous false\n",
        scheme="mqtts",
    )


def _as(pki: LabPki, user: str, secrets: dict[str, Path]) -> list[str]:
    """The options that connect as ``user``."""
    return [
        "--tls-ca",
        str(pki.ca),
        "--tls-cert",
        str(pki.clients[user].cert),
        "--tls-key",
        str(pki.clients[user].key),
        "--username",
        user,
        "--password-file",
        str(secrets[user]),
    ]


# -- bad input: exit 2 before anything starts ---------------------------------------------


def test_the_embedded_broker_refuses_tls_options(pki: LabPki) -> None:
    result = cli.invoke(app, ["run", str(CAMPAIGN), "--tls-ca", str(pki.ca), "--insecure"])
    assert result.exit_code == 2, result.output
    assert "--tls-ca, --insecure: the embedded broker is plaintext" in result.output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["worker", "--station", "colour-bench", "--broker", TLS_URL], {}, "no CA certificate"),
        (
            ["worker", "--station", "colour-bench", "--broker", TLS_URL, "--tls-ca", "nowhere"],
            {},
            "cannot use the CA certificate file nowhere",
        ),
        (
            ["suggest", "c1", "cyan=1", "--broker", TLS_URL, "--tls-key", "k.pem"],
            {"GENESIS_LAB_MQTT_CA": "ca.pem"},
            "key was given without its certificate",
        ),
        (
            ["estop", "--broker", TLS_URL, "--insecure"],
            {"GENESIS_LAB_MQTT_PASSWORD": "pw-in-the-environment"},
            "password was given without a username",
        ),
        (
            ["pause", "--broker", "mqtt://127.0.0.1:1883"],
            {"GENESIS_LAB_MQTT_CA": "ca.pem"},
            "is plaintext: use mqtts://",
        ),
        (
            ["worker", "--broker", TLS_URL, "--password-file", "nowhere.txt", "--username", "u"],
            {"GENESIS_LAB_MQTT_CA": "ca.pem"},
            "cannot read the MQTT password file nowhere.txt",
        ),
    ],
)
def test_unusable_broker_settings_exit_2_naming_the_problem(
    args: list[str], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CA", "CERT", "KEY", "USERNAME", "PASSWORD_FILE", "PASSWORD"):
        monkeypatch.delenv(f"GENESIS_LAB_MQTT_{name}", raising=False)
    result = cli.invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert "pw-in-the-environment" not in result.output


def test_there_is_no_password_option() -> None:
    """A password on the command line would be in ps and the shell's history."""
    result = cli.invoke(app, ["worker", "--station", "colour-bench", "--password", "x"])
    assert result.exit_code == 2
    assert "No such option" in result.output
    for command in ("run", "resume", "worker", "suggest", "pause", "estop"):
        shown = cli.invoke(app, [command, "--help"], terminal_width=200).output
        for option in ("--tls-ca", "--tls-cert", "--tls-key", "--username", "--password-file"):
            assert option in shown, (command, option)
        assert "--insecure" in shown and "GENESIS_LAB_MQTT_CA" in shown


# -- against a real Mosquitto ---------------------------------------------------------------


@pytest.mark.mosquitto
def test_a_wrong_password_exits_1_saying_so_without_showing_it(
    secured_broker: Any, pki: LabPki, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password-3e1f\n")
    wrong.chmod(0o600)
    options = _as(pki, "alice", {"alice": wrong})
    result = cli.invoke(app, ["suggest", "c1", "cyan=1", "--broker", secured_broker.url, *options])
    assert result.exit_code == 1, result.output
    assert "Not authorized" in result.output and "user 'alice'" in result.output
    assert "not-the-password-3e1f" not in result.output


@pytest.mark.mosquitto
def test_insecure_warns_on_every_start(
    secured_broker: Any, pki: LabPki, secrets: dict[str, Path]
) -> None:
    options = [o for o in _as(pki, "alice", secrets) if o != str(pki.ca) and o != "--tls-ca"]
    for _ in range(2):
        result = cli.invoke(
            app, ["pause", "--release", "--broker", secured_broker.url, "--insecure", *options]
        )
        assert result.exit_code == 3, result.output  # sent; no worker online to confirm it
        assert "warning: certificate verification is OFF (--insecure)" in result.output
        assert "resume sent to every station" in result.output


@pytest.mark.slow
@pytest.mark.mosquitto
def test_orchestrator_and_worker_processes_over_mqtts(
    secured_broker: Any, pki: LabPki, secrets: dict[str, Path], tmp_path: Path
) -> None:
    """The README's two-shell recipe on a secured broker: the worker takes its settings
    from the environment, the orchestrator from options; neither shows a password."""
    station_id = "tls-cli"  # its worker's username is worker-tls-cli
    spec = yaml.safe_load(CAMPAIGN.read_text())
    spec.update(name="tls-cli", budget=3, initial_design=3, broker=secured_broker.url)
    spec["station"]["id"] = station_id
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
    worker_env = {
        "GENESIS_LAB_MQTT_CA": str(pki.ca),
        "GENESIS_LAB_MQTT_CERT": str(pki.clients["worker-tls-cli"].cert),
        "GENESIS_LAB_MQTT_KEY": str(pki.clients["worker-tls-cli"].key),
        "GENESIS_LAB_MQTT_USERNAME": "worker-tls-cli",
        "GENESIS_LAB_MQTT_PASSWORD_FILE": str(secrets["worker-tls-cli"]),
    }
    worker = subprocess.Popen(
        [GENESIS_LAB, "worker", "--campaign", str(campaign), "--broker", secured_broker.url, "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **worker_env},
    )
    try:
        record = tmp_path / "record.sqlite"
        run = subprocess.run(
            [
                GENESIS_LAB,
                "run",
                str(campaign),
                "--no-local-worker",
                "--record",
                str(record),
                "-v",
                *_as(pki, "orchestrator", secrets),
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        worker_out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, worker_out
    assert "3 completed" in worker_out
    assert "user 'worker-tls-cli' with a password" in worker_out
    shown = " ".join(run.stdout.split())  # as printed, unwrapped
    assert f"via {secured_broker.url} (TLS, broker verified against" in shown
    assert "user 'orchestrator' with a password" in shown and "3 completed" in shown
    for output in (worker_out, run.stdout, run.stderr):
        for password in PASSWORDS.values():
            assert password not in output
    log = secured_broker.log_text()
    assert "u'orchestrator'" in log and "u'worker-tls-cli'" in log
