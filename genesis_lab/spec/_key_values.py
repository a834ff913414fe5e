"""``KEY=VALUE`` items from a command line (station options, driver settings, a manual
trial's parameters), read one way everywhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

__all__ = ["parse_key_values"]


def parse_key_values(items: Iterable[str], what: str = "setting") -> dict[str, Any]:
    """``["key=value", ...]`` as a dict, each value read as YAML (numbers, booleans and
    lists keep their type; an empty value is ``""``). Raises ValueError naming the item
    and ``what`` it was meant to be: no ``=``, no key, the same key twice, or a value that
    is not valid YAML."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{what} {item!r}: expected KEY=VALUE")
        if key in parsed:
            raise ValueError(f"{what} {item!r}: {key!r} is given twice")
        try:
            parsed[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0]
            raise ValueError(f"{what} {item!r}: the value is not valid YAML ({problem})") from None
    return parsed
