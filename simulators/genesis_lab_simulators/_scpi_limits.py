"""``QUERY? [MIN|MAX]``: the reply of a setting's query, shared by the simulators."""

from __future__ import annotations

from collections.abc import Sequence

from genesis_lab_simulators._scpi import PARAMETER_NOT_ALLOWED, CommandError

__all__ = ["limit_query"]


def limit_query(args: Sequence[str], current: float, limits: tuple[float, float]) -> str:
    """The current value, or the low (``MIN``) or high (``MAX``) limit."""
    if not args:
        return f"{current:.10g}"
    which = args[0].upper()
    if which == "MIN":
        return f"{limits[0]:.10g}"
    if which == "MAX":
        return f"{limits[1]:.10g}"
    raise CommandError(PARAMETER_NOT_ALLOWED, f"Parameter not allowed; {args[0]}")
