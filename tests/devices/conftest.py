"""Helpers for the reference-driver tests: collect a run's documents and validate them."""

from __future__ import annotations

from typing import Any

import event_model
import pytest


class Documents:
    """A RunEngine subscriber keeping every document; ``validate()`` checks each schema."""

    def __init__(self) -> None:
        self.docs: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.docs.append((name, doc))

    def of(self, name: str) -> list[dict[str, Any]]:
        return [doc for n, doc in self.docs if n == name]

    def validate(self) -> None:
        for name, doc in self.docs:
            event_model.schema_validators[event_model.DocumentNames(name)].validate(doc)


@pytest.fixture
def documents() -> Documents:
    return Documents()
