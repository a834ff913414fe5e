"""Where running campaigns can be reached: so that ``estop`` and ``pause`` find them.

``run`` and ``resume`` write ``runs/<campaign id>.json`` in the state directory
(``$GENESIS_LAB_STATE_DIR``, else ``$XDG_STATE_HOME/genesis-lab``, else
``~/.local/state/genesis-lab``) while the campaign runs: its broker URL (the embedded
broker's random port included), station, process id and start time; they remove it when
they end. A file whose process is gone (killed) is ignored and removed. Without
``--broker``, the control commands send to the broker of every campaign running on this
machine, else to ``mqtt://127.0.0.1:1883``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_BROKER",
    "RunningCampaign",
    "announce_run",
    "default_outbox",
    "running_campaigns",
    "state_dir",
]

log = logging.getLogger(__name__)

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"


def state_dir() -> Path:
    """``$GENESIS_LAB_STATE_DIR``, else ``$XDG_STATE_HOME/genesis-lab``, else
    ``~/.local/state/genesis-lab``."""
    state = os.environ.get("GENESIS_LAB_STATE_DIR")
    if state:
        return Path(state)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "genesis-lab"


@dataclass(frozen=True)
class RunningCampaign:
    """A campaign running on this machine, as its ``run`` or ``resume`` announced it."""

    campaign_id: str
    broker: str
    station_id: str
    pid: int
    started_at: float


def default_outbox(station_id: str) -> Path:
    """Where a worker keeps its outbox unless told: in the state directory."""
    return state_dir() / f"outbox-{station_id}.sqlite"


def _runs() -> Path:
    return state_dir() / "runs"


@contextmanager
def announce_run(campaign_id: str, broker: str, station_id: str) -> Iterator[None]:
    """Say, while the block runs, that this process runs ``campaign_id`` via ``broker``.
    Failing to write it only costs the operator typing ``--broker``: it is logged."""
    path = _runs() / f"{campaign_id}.json"
    entry = RunningCampaign(campaign_id, broker, station_id, os.getpid(), time.time())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(entry)) + "\n")
    except OSError as exc:
        log.warning("could not note where campaign %s runs (%s): %s", campaign_id, path, exc)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def running_campaigns() -> list[RunningCampaign]:
    """The campaigns running on this machine now, oldest first; notes of processes that
    are gone are removed."""
    found = []
    for path in sorted(_runs().glob("*.json")) if _runs().is_dir() else []:
        try:
            entry = RunningCampaign(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring %s: not a note of a running campaign (%s)", path, exc)
            continue
        if not _alive(entry.pid):
            path.unlink(missing_ok=True)
            continue
        found.append(entry)
    return sorted(found, key=lambda e: e.started_at)
