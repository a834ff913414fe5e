"""How every command ends: one table of exit codes, and one way to fail.

======  =====================================================================
code    meaning
======  =====================================================================
0       done as asked
1       it ran and failed: a campaign that failed, a check that found a problem,
        a broker that cannot be reached
2       bad input: nothing was done (a typo in a file or an option, a missing
        file); the message names the field, the line or the option
3       not confirmed or over a limit: a control nobody confirmed or a release
        refused; a replay whose outcomes differ beyond ``--max-difference``
130     interrupted (Ctrl-C); what was done so far is kept
======  =====================================================================
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_CONFIRMED",
    "EXIT_OK",
    "err",
    "fail",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_CONFIRMED = 3
EXIT_INTERRUPTED = 130

err = Console(stderr=True)
"""The console every command writes its errors and warnings to (standard error)."""


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: message`` on standard error (never wrapped, never styled from the
    message's own brackets) and end the command with ``code``."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
