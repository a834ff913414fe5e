"""``genesis-lab worker --outbox-status``: what a worker's outbox holds, and why."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

__all__ = ["show_outbox_status"]


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def show_outbox_status(path: Path, out: Console, *, expiry_s: float) -> None:
    """Print what waits in the outbox at ``path`` for an acknowledgement (per campaign,
    with when it is sent again and when it would be set aside), the journal's unfinished
    trials, what was set aside and why, and how many commands were refused."""
    from genesis_lab.worker import Outbox  # the worker package loads bluesky

    now = time.time()
    box = Outbox(path)
    try:
        waiting = box.waiting()
        unfinished = box.unfinished()
        expired = box.expired()
        refusals = box.refusals()
    finally:
        box.close()
    total = sum(w.count for w in waiting)
    out.print(f"outbox {path}", highlight=False)
    out.print(f"waiting for an acknowledgement: {total} message(s)", highlight=False)
    for w in waiting:
        if w.last_ack_at is None:
            heard = "it never acknowledged anything"
            quiet_since = now - w.oldest_at
        else:
            heard = f"its last acknowledgement {_ago(now - w.last_ack_at)} ago"
            quiet_since = now - w.last_ack_at
        oldest, due = _ago(now - w.oldest_at), _ago(w.next_at - now)
        out.print(
            f"  campaign {w.campaign_id}: {w.count} message(s), the oldest {oldest} old, "
            f"sent up to {w.attempts} time(s), next in {due}; {heard}; set aside if it "
            f"stays silent {_ago(expiry_s - quiet_since)} more",
            highlight=False,
        )
    out.print(f"unfinished trials in the journal: {len(unfinished)}", highlight=False)
    for entry in unfinished:
        out.print(f"  {entry.campaign_id} {entry.trial_id}: {entry.state}", highlight=False)
    out.print(
        f"set aside, never to be acknowledged: {sum(e.count for e in expired)} message(s)",
        highlight=False,
    )
    for e in expired:
        out.print(
            f"  campaign {e.campaign_id}: {e.count} message(s), {_ago(now - e.at)} ago: {e.reason}",
            highlight=False,
        )
    out.print(f"refused commands kept: {len(refusals)}", highlight=False)
