"""Signed commands from the command line: keygen, a signed campaign whose record verifies its
station signatures, signed and unsigned controls, and bad key files (exit 2, no traceback,
no key printed)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.messages import station_control_topic
from genesis_lab.security import MessageSigning, load_public_key, load_signing_key
from genesis_lab.spec import StationRef
from genesis_lab.station import build_station
from genesis_lab.worker import Worker

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"

cli = CliRunner()


def keygen(path: Path) -> str:
    result = cli.invoke(app, ["security", "keygen", "--out", str(path)])
    assert result.exit_code == 0, result.output
    assert "PRIVATE KEY" not in result.output
    return result.output.split()[2]  # "key id <id>"


def test_keygen_prints_the_key_id_and_refuses_to_overwrite(tmp_path: Path) -> None:
    key_id = keygen(tmp_path / "op.key")
    assert load_signing_key(tmp_path / "op.key").key_id == key_id
    assert load_public_key(tmp_path / "op.pub").key_id == key_id
    again = cli.invoke(app, ["security", "keygen", "--out", str(tmp_path / "op.key")])
    assert again.exit_code == 2 and "already exists" in again.output
    assert "Traceback" not in again.output


@pytest.mark.slow
def test_a_signed_campaign_from_the_cli_verifies_its_station_signatures(tmp_path: Path) -> None:
    keygen(tmp_path / "op.key")
    station_id = keygen(tmp_path / "station.key")
    record = tmp_path / "r.sqlite"
    result = cli.invoke(
        app,
        [
            "run",
            str(CAMPAIGN),
            "--budget",
            "2",
            "--record",
            str(record),
            "--signing-key",
            str(tmp_path / "op.key"),
            "--station-key",
            str(tmp_path / "station.key"),
        ],
    )
    assert result.exit_code == 0, result.output
    verified = cli.invoke(app, ["verify", str(record)])
    assert verified.exit_code == 0, verified.output
    assert "station signatures: 8 of 8 documents signed, every signature verifies" in (
        " ".join(verified.output.split())
    )
    assert f"({station_id})" in verified.output


def test_bad_key_files_exit_2_naming_the_file(tmp_path: Path) -> None:
    keygen(tmp_path / "op.key")
    os.chmod(tmp_path / "op.key", 0o644)
    opened = cli.invoke(
        app, ["run", str(CAMPAIGN), "--signing-key", str(tmp_path / "op.key"), "--budget", "1"]
    )
    assert opened.exit_code == 2
    assert "is open to others (mode 0644)" in " ".join(opened.output.split())
    private = cli.invoke(
        app, ["worker", "--station", "colour-bench", "--trust", str(tmp_path / "op.key")]
    )
    assert private.exit_code == 2 and "holds a private key" in private.output
    missing = cli.invoke(
        app, ["estop", "--signing-key", str(tmp_path / "nope.key"), "--broker", "mqtt://x:1"]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
    for result in (opened, private, missing):
        assert "Traceback" not in result.output and "BEGIN" not in result.output
    worker_key = cli.invoke(
        app,
        [
            "run",
            str(CAMPAIGN),
            "--no-local-worker",
            "--broker",
            "mqtt://127.0.0.1:1",
            "--station-key",
            str(tmp_path / "op.key"),
        ],
    )
    assert worker_key.exit_code == 2 and "--station-key" in worker_key.output


def test_release_must_be_signed_and_an_unsigned_estop_is_obeyed(
    embedded_broker: str, tmp_path: Path
) -> None:
    keygen(tmp_path / "op.key")
    station_id = f"bench-{uuid.uuid4().hex[:8]}"
    station = build_station(StationRef(plugin="colour-bench"))
    signing = MessageSigning(trusted=(load_public_key(tmp_path / "op.pub"),))
    base = ["--broker", embedded_broker, "--station", station_id, "--wait", "1"]
    try:
        with Worker(station, station_id, embedded_broker, signing=signing) as worker:
            stopped = cli.invoke(app, ["estop", *base, "--by", "sam"])
            assert f"{station_id}: estopped (ok)" in stopped.output
            assert "not signed" in stopped.output
            unsigned = cli.invoke(app, ["estop", "--release", *base])
            assert unsigned.exit_code == 3  # refused: not confirmed
            assert "refuses an unsigned release: --signing-key" in unsigned.output
            assert f"{station_id}: estopped (NOT CONFIRMED" in unsigned.output
            assert worker.mode == "estopped" and worker.stats.refusals["unsigned"] == 1
            # Refused by the worker: the e-stop stays latched on the broker too.
            assert "KEPT the e-stop retained on the broker" in unsigned.output
            signed = cli.invoke(
                app, ["estop", "--release", *base, "--signing-key", str(tmp_path / "op.key")]
            )
            assert f"{station_id}: serving (ok)" in signed.output, signed.output
            assert "not signed" not in signed.output
            assert f"cleared the e-stop retained on {station_control_topic(station_id)}" in (
                signed.output
            )
    finally:
        station.close()


def test_a_station_key_is_trusted_for_the_station_its_file_or_the_option_names(
    tmp_path: Path,
) -> None:
    """Issue 14, item 1: keygen --station writes the station into the public key file;
    --station-trust takes such a file, or STATION=FILE, and refuses a key bound to no
    station (exit 2, saying how to bind it) before anything connects."""
    made = cli.invoke(
        app, ["security", "keygen", "--out", str(tmp_path / "a.key"), "--station", "furnace-1"]
    )
    assert made.exit_code == 0, made.output
    assert "speaks for station furnace-1 only" in made.output
    assert load_public_key(tmp_path / "a.pub").station_id == "furnace-1"
    keygen(tmp_path / "plain.key")
    assert load_public_key(tmp_path / "plain.pub").station_id is None
    bad_id = cli.invoke(
        app, ["security", "keygen", "--out", str(tmp_path / "b.key"), "--station", "a/b"]
    )
    assert bad_id.exit_code == 2 and "cannot be used in a topic" in bad_id.output

    def run(*trust: str) -> str:
        base = ["run", str(CAMPAIGN), "--no-local-worker", "--broker", "mqtt://127.0.0.1:1"]
        result = cli.invoke(app, [*base, "--presence-timeout", "1", *trust])
        return f"{result.exit_code} {' '.join(result.output.split())}"

    unbound = run("--station-trust", str(tmp_path / "plain.pub"))
    assert unbound.startswith("2 ") and "say which station this key speaks for" in unbound
    assert "Traceback" not in unbound
    # Bound by the option or by the file: the keys load, and the run gets as far as the
    # (unreachable) broker.
    for trust in (f"colour-bench={tmp_path / 'plain.pub'}", str(tmp_path / "a.pub")):
        assert run("--station-trust", trust).startswith("1 ")
    clash = run("--station-trust", f"colour-bench={tmp_path / 'a.pub'}")
    assert clash.startswith("2 ") and "speaks for 'furnace-1', not station 'colour-bench'" in clash
