"""Fixtures of the simulator tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from genesis_lab.spec import StationRef
from genesis_lab.station import Station, build_station


@pytest.fixture
def make_station() -> Iterator[Any]:
    """Build colour benches with given options; close every one after the test."""
    built: list[Station] = []

    def make(**options: Any) -> Station:
        station = build_station(StationRef(plugin="colour-bench", options=options))
        built.append(station)
        return station

    yield make
    for station in built:
        station.close()
