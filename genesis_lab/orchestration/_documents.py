"""Check incoming Bluesky documents against the event-model schemas before storing them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from event_model import DocumentNames, schema_validators

__all__ = ["document_problem"]


def document_problem(name: str, doc: Mapping[str, Any]) -> str | None:
    """Why ``doc`` is not a valid Bluesky ``name`` document, or ``None`` if it is."""
    try:
        validator = schema_validators[DocumentNames[name]]
    except KeyError:
        return f"unknown document type {name!r}"
    try:
        validator.validate(dict(doc))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "document"
        return f"invalid {name} document: {where}: {exc.message}"
    return None
