"""Entry points: how station plugins and device drivers are found and loaded (one way for
both groups, so both say the same things when something is missing or broken)."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from genesis_lab.errors import StationError

__all__ = ["installed", "load_entry_point"]


def installed(group: str) -> dict[str, EntryPoint]:
    """The entry points of ``group`` installed in this environment, by name."""
    return {ep.name: ep for ep in entry_points(group=group)}


def load_entry_point(group: str, name: str, *, kind: str, protocol: type, needs: str) -> Any:
    """Load entry point ``name`` of ``group`` and check that it is a ``kind`` (an instance
    of the runtime-checkable ``protocol``, which ``needs`` spells out for the author).

    Raises :class:`~genesis_lab.errors.StationError` naming what is installed when there is
    no such entry point, naming the module when it fails to import, and naming what is
    missing when it is not a ``kind``."""
    found = installed(group)
    if name not in found:
        names = ", ".join(sorted(found)) or "none"
        raise StationError(
            f"no {kind} named {name!r} is installed (installed: {names}); a {kind} "
            f"registers itself in the {group!r} entry-point group",
            station=name,
        )
    entry = found[name]
    try:
        loaded = entry.load()
    except Exception as exc:  # a broken plugin must not end the command with a traceback
        raise StationError(
            f"{kind} {name!r} ({entry.value}) cannot be loaded: {type(exc).__name__}: {exc}",
            station=name,
        ) from exc
    if not isinstance(loaded, protocol):
        raise StationError(
            f"entry point {name!r} ({entry.value}) is not a {kind}: it needs {needs}",
            station=name,
        )
    return loaded
