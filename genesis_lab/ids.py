"""The names that cross the wire: station, campaign and trial ids, and campaign names.

One source for every place that checks them (campaign and lab files, wire messages, topic
segments), so a name that passes ``validate`` also runs: an id is at most
:data:`ID_MAX_LENGTH` characters, and a campaign's name leaves room for the suffixes its
ids get (``NAME-1a2b3c4d``, and a replay's ``NAME-replay-1a2b3c4d``).
"""

from __future__ import annotations

import re

__all__ = [
    "CAMPAIGN_NAME_MAX_LENGTH",
    "CAMPAIGN_NAME_PATTERN",
    "IDENTIFIER_PATTERN",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "check_id",
]

ID_MAX_LENGTH = 128
"""The longest station, campaign or trial id (characters); also a topic segment's limit."""

ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{ID_MAX_LENGTH - 1}}}$"
"""An id: a letter or digit, then letters, digits, '_', '.', '-' (safe in an MQTT topic)."""

_CAMPAIGN_ID_SUFFIX = len("-replay-") + 8
CAMPAIGN_NAME_MAX_LENGTH = ID_MAX_LENGTH - _CAMPAIGN_ID_SUFFIX
"""The longest campaign name: its replay's campaign id must still be an id."""

CAMPAIGN_NAME_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{CAMPAIGN_NAME_MAX_LENGTH - 1}}}$"
"""A campaign name: as an id, at most :data:`CAMPAIGN_NAME_MAX_LENGTH` characters."""

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""A parameter, objective or device name: a Python identifier (ASCII)."""

_ID = re.compile(ID_PATTERN)


def check_id(value: str, what: str) -> str:
    """Return ``value`` if it is an id (safe inside a topic: no ``/``, ``+``, ``#``);
    else raise ValueError naming ``what`` and the rule."""
    if not _ID.match(value):
        raise ValueError(
            f"{what} {value!r} cannot be used in a topic: use 1 to {ID_MAX_LENGTH} letters, "
            "digits, '_', '.', '-', starting with a letter or digit"
        )
    return value
