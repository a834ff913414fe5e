"""What every campaign-file model shares: strictness, name patterns, broker URLs."""

from __future__ import annotations

import re

from pydantic import (
    BaseModel,
    ConfigDict,
)

from genesis_lab.ids import ID_PATTERN, IDENTIFIER_PATTERN

__all__ = ["StrictModel", "is_tls_broker_url", "parse_broker_url"]

_IDENTIFIER = IDENTIFIER_PATTERN
_SLUG = ID_PATTERN
_BROKER_URL = re.compile(
    r"^(?P<scheme>mqtts?)://(?P<host>[A-Za-z0-9_.:\[\]-]+?):(?P<port>[0-9]{1,5})/?$"
)


class StrictModel(BaseModel):
    """Base of every boundary model: unknown keys are errors, values are not coerced loosely."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def parse_broker_url(url: str) -> tuple[str, int]:
    """Split ``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT`` (TLS) into ``(host, port)``;
    raise ``ValueError`` otherwise."""
    match = _BROKER_URL.match(url)
    if match is None:
        raise ValueError(
            f"broker must be 'embedded' or 'mqtt://HOST:PORT' ('mqtts://HOST:PORT' for TLS), "
            f"got {url!r}"
        )
    port = int(match["port"])
    if not 0 < port < 65536:
        raise ValueError(f"broker port must be 1..65535, got {port}")
    return match["host"].strip("[]"), port


def is_tls_broker_url(url: str) -> bool:
    """True for a valid ``mqtts://HOST:PORT`` (TLS) URL; raise ``ValueError`` for an invalid
    one. Only the URL's scheme decides: the host and port say nothing about TLS."""
    parse_broker_url(url)
    return url.startswith("mqtts://")
