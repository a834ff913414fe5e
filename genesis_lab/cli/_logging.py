"""How commands log: the operator's terminal gets one line per problem, a log file the rest.

- **The terminal**: warnings and errors, one line each (``warning: trial t0003 failed:
  ...``), never a traceback: a line whose record carries one says where it went (the log
  file, or ``-v``). The engine's own loggers (bluesky, ophyd, the MQTT libraries) reach the
  terminal only with ``-v``: what they report (a failed run) the lab's own code reports in
  the lab's words (the trial, the device). With ``-v``: every step (INFO), with tracebacks.
- **The log file** (``--log-file``; by default beside the record, or the worker's
  outbox): every step (INFO) from every logger, with time, thread and the full traceback;
  appended to, so a resumed campaign continues its run's log.
- Lines are printed through a rich Console; while a progress bar is live, through the
  bar's own console (:func:`logs_through`), so that they appear above the bar, whole.

Every command that logs calls :func:`command_logging` once; the handlers it adds are
removed when the command ends (the click context closes), so nothing outlives it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.text import Text

from genesis_lab.cli._exits import EXIT_BAD_INPUT, err, fail

__all__ = [
    "ENGINE_LOGGERS",
    "CommandLog",
    "VerboseOption",
    "command_logging",
    "logs_through",
]

#: Loggers of the libraries underneath: to the log file always, to the terminal with -v.
ENGINE_LOGGERS = ("bluesky", "ophyd", "amqtt", "paho", "transitions", "asyncio")

VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Show every step on the terminal, tracebacks included."),
]
"""``-v``: every step (INFO) and every traceback on the terminal too."""

_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


class _TerminalHandler(logging.Handler):
    """One line per record on a rich Console; a traceback only when verbose."""

    def __init__(
        self, console: Console, *, verbose: bool, hidden: tuple[str, ...], log_file: Path | None
    ) -> None:
        super().__init__(logging.INFO if verbose else logging.WARNING)
        self.console = console
        self.verbose = verbose
        self.hidden = hidden
        self.log_file = log_file

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbose:
            return True
        return not any(record.name == h or record.name.startswith(h + ".") for h in self.hidden)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.line(record), highlight=False, soft_wrap=True)
            if self.verbose and record.exc_info:
                self.console.print(
                    Text("".join(traceback.format_exception(*record.exc_info)).rstrip()),
                    highlight=False,
                    soft_wrap=True,
                )
        except Exception:
            self.handleError(record)

    def line(self, record: logging.LogRecord) -> Text:
        """The record as one line: ``warning: message``, and where its traceback is."""
        message = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and not self.verbose:
            if str(exc) not in message:
                message += f": {type(exc).__name__}: {exc}"
            message += (
                f" (traceback in {self.log_file})"
                if self.log_file is not None
                else " (run with -v for the traceback)"
            )
        level = record.levelname.lower()
        style = "bold red" if record.levelno >= logging.ERROR else "yellow"
        if self.verbose:
            stamp = self.formatter.formatTime(record, "%H:%M:%S") if self.formatter else ""
            return Text.assemble(
                (f"{stamp} {level} ", "dim" if record.levelno < logging.WARNING else style),
                (f"{record.name}: ", "dim"),
                " ".join(message.splitlines()),
            )
        return Text.assemble((f"{level}: ", style), " ".join(message.splitlines()))


class CommandLog:
    """The logging of one command: its terminal handler and, once known, its log file."""

    def __init__(self, terminal: _TerminalHandler, log_file: Path | None) -> None:
        self._terminal = terminal
        self._file: logging.FileHandler | None = None
        if log_file is not None:
            self.to_file(log_file)

    @property
    def log_file(self) -> Path | None:
        """Where the full log goes (None: no file)."""
        return self._terminal.log_file if self._file is not None else None

    def to_file(self, path: Path) -> None:
        """Write the full log to ``path`` (appended); a no-op once a file is set."""
        if self._file is not None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, mode="a", encoding="utf-8", delay=True)
        except OSError as exc:
            fail(f"cannot write the log file {path}: {exc} (give --log-file PATH)", EXIT_BAD_INPUT)
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter(_FILE_FORMAT))
        logging.getLogger().addHandler(handler)
        self._file = handler
        self._terminal.log_file = path

    def default_file(self, path: Path) -> Path:
        """Write the full log to ``path`` unless ``--log-file`` named one; return the file."""
        self.to_file(path)
        return self._terminal.log_file or path

    def close(self) -> None:
        """Remove the handlers (the command ended)."""
        root = logging.getLogger()
        root.removeHandler(self._terminal)
        if self._file is not None:
            root.removeHandler(self._file)
            self._file.close()


def command_logging(
    *,
    verbose: bool,
    log_file: Path | None = None,
    console: Console = err,
    quiet: tuple[str, ...] = (),
) -> CommandLog:
    """Set up logging for the command being run; undone when the command ends.

    ``log_file``: write the full log there (else call :meth:`CommandLog.default_file` once
    the default is known, or keep no file). ``quiet``: loggers, besides
    :data:`ENGINE_LOGGERS`, whose records go to the log file but reach the terminal only
    with ``verbose`` (what the command reports in its own lines already).
    """
    terminal = _TerminalHandler(
        console, verbose=verbose, hidden=(*ENGINE_LOGGERS, *quiet), log_file=None
    )
    terminal.setFormatter(logging.Formatter())
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(terminal)
    command_log = CommandLog(terminal, log_file)

    def _close() -> None:
        command_log.close()
        root.setLevel(previous_level)

    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(_close)
    return command_log


@contextmanager
def logs_through(console: Console) -> Iterator[None]:
    """Inside the block, log lines print through ``console`` (a live progress bar's, so
    that they print above the bar) when it is a terminal."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, _TerminalHandler)]
    if not console.is_terminal:
        yield
        return
    previous = [h.console for h in handlers]
    for handler in handlers:
        handler.console = console
    try:
        yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.console = old
