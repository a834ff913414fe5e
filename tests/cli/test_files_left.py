"""What commands leave on disk: a read-only command (show, verify, export, report,
replay) adds nothing beside the record it reads; no command writes into the working
directory anything it was not asked for."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]

cli = CliRunner()


def _listing(where: Path) -> list[str]:
    return sorted(str(p.relative_to(where)) for p in where.rglob("*"))


def test_read_only_commands_leave_nothing_beside_the_record_nor_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, records, out = tmp_path / "cwd", tmp_path / "records", tmp_path / "out"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    record = records / "run.sqlite"
    campaign = REPO / "campaigns" / "colour_mixing.yaml"
    ran = cli.invoke(app, ["run", str(campaign), "--budget", "3", "--record", str(record)])
    assert ran.exit_code == 0, ran.output
    assert _listing(cwd) == []  # the record, its log and the worker's outbox went elsewhere
    beside = ["outbox-colour-bench.sqlite", "run.log", "run.sqlite"]  # the log: --log-file
    assert _listing(records) == beside
    written = hashlib.sha256(record.read_bytes()).hexdigest()
    commands = [
        ["show", str(record)],
        ["verify", str(record)],
        ["export", str(record), "--out", str(out / "export")],
        ["report", str(record), "--out", str(out / "report")],
        ["replay", str(record)],
    ]
    for command in commands:
        result = cli.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
        assert _listing(records) == beside, command
        assert _listing(cwd) == [], command
    assert hashlib.sha256(record.read_bytes()).hexdigest() == written
    assert (out / "report" / "report.html").exists() and any((out / "export").iterdir())
