"""The ``genesis-lab`` command line (typer)."""

from genesis_lab.cli._app import app, main

__all__ = ["app", "main"]
