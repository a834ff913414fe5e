"""The command line's repeated pieces come from one place (issue 16, item 8): the six
broker options of every command that talks to a broker, and the exit codes and the way
to fail of every command."""

from __future__ import annotations

import ast
from pathlib import Path

import typer.main

from genesis_lab import cli
from genesis_lab.cli import app

BROKER_COMMANDS = ("run", "resume", "worker", "suggest", "estop", "pause")
SIX = {"--tls-ca", "--tls-cert", "--tls-key", "--username", "--password-file", "--insecure"}
CLI = Path(cli.__file__).parent


def test_every_broker_command_takes_the_six_options() -> None:
    group = typer.main.get_group(app)
    for name in BROKER_COMMANDS:
        command = group.commands[name]
        options = {opt for param in command.params for opt in param.opts}
        assert options >= SIX, (name, SIX - options)
        assert "broker_options" not in {param.name for param in command.params}, name


def test_exit_codes_and_fail_are_defined_once() -> None:
    """No command module defines an exit code, a ``_fail`` or its own error console:
    cli/_exits.py does (two modules keep an unwrapped stderr console of their own)."""
    found = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "_exits.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                found += [f"{path.name}: {n}" for n in names if "EXIT_" in n]
            elif isinstance(node, ast.FunctionDef) and node.name in ("_fail", "fail"):
                found.append(f"{path.name}: def {node.name}")
    assert found == []
