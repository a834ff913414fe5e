"""Any domain model as Ophyd devices: run through a real RunEngine."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus
from ophyd.utils.errors import LimitError

from genesis_lab.conformance import Outcome, run_conformance
from genesis_lab.station import Station
from genesis_lab_simulators._domain import (
    DetectorDriver,
    DomainModel,
    DomainPlugin,
    ExperimentFailed,
    Reading,
    Setting,
    SettingDriver,
    SettingValue,
)


class Toy(DomainModel):
    """y = x * n (+ 1 in mode b); fails beyond x = 9; one simulated hour per experiment."""

    name = "toy"
    settings = (
        Setting("toy_x", "mm", limits=(0.0, 10.0), default=1.0),
        Setting("toy_n", "", limits=(1.0, 5.0), integer=True, default=1.0),
        Setting("toy_mode", choices=("a", "b"), default="a"),
    )
    readings = (Reading("y", "g"), Reading("z", "K"))

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        x, n = float(values["toy_x"]), float(values["toy_n"])
        if x > 9.0:
            raise ExperimentFailed(f"x = {x} mm is too far", mode="too_far")
        y = x * n + (1.0 if values["toy_mode"] == "b" else 0.0) + self.offset
        return {"y": y, "z": -y}

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        clean = self.evaluate(values)
        return {k: v + float(rng.normal(0, 0.1)) for k, v in clean.items()}

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        return 3600.0


@pytest.fixture
def station() -> Iterator[Station]:
    plugin = DomainPlugin(Toy, "a toy")
    built = plugin.build({"noise": False, "time_scale": 36_000.0, "model": {"offset": 0.5}})
    yield built
    built.close()


def _run(engine: RunEngine, station: Station, setpoints: dict[str, Any]) -> list[dict[str, Any]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    moves: list[Any] = []
    for name, value in setpoints.items():
        moves += [station.actuators[name], value]

    def plan() -> Any:
        yield from bps.mv(*moves)
        yield from bp.count(list(station.detectors))

    engine(plan(), lambda name, doc: docs.append((name, doc)))
    return [doc for name, doc in docs if name in ("event", "descriptor")]


def test_readings_are_the_model_at_the_settings(run_engine: RunEngine, station: Station) -> None:
    descriptor, event = _run(run_engine, station, {"toy_x": 2.0, "toy_n": 3, "toy_mode": "b"})
    assert event["data"]["toy_y"] == pytest.approx(2.0 * 3 + 1 + 0.5)
    assert event["data"]["toy_z"] == pytest.approx(-7.5)
    assert descriptor["data_keys"]["toy_y"]["units"] == "g"
    assert station.readings() == ["toy_y", "toy_z"]
    assert station.units["toy_x"] == "mm" and station.units["toy_z"] == "K"
    assert station.choices("toy_mode") == ("a", "b")
    assert station.limits("toy_x") == (0.0, 10.0)


def test_the_failure_region_fails_the_measurement(run_engine: RunEngine, station: Station) -> None:
    with pytest.raises(FailedStatus):
        _run(run_engine, station, {"toy_x": 9.5})


def test_settings_refuse_what_they_cannot_take(station: Station) -> None:
    with pytest.raises(LimitError):
        station.actuators["toy_x"].set(11.0)
    with pytest.raises(ValueError, match="whole numbers"):
        station.actuators["toy_n"].set(2.5)
    status = station.actuators["toy_mode"].set("c")
    with pytest.raises(ValueError, match="not one of a, b"):
        status.wait(1)
    assert station.actuators["toy_mode"].get() == "a"  # type: ignore[attr-defined]


def test_the_measurement_takes_the_simulated_time_scaled(station: Station) -> None:
    detector = station.detectors[0]
    status = detector.trigger()  # type: ignore[attr-defined]
    assert not status.done  # an hour at 36,000 simulated seconds per second: 0.1 s
    status.wait(5)
    assert status.success


def test_noise_comes_from_the_seed() -> None:
    plugin = DomainPlugin(Toy, "a toy")
    readings = []
    for _ in range(2):
        built = plugin.build({"seed": 3, "time_scale": 1e9})
        detector = built.detectors[0]
        detector.trigger().wait(5)  # type: ignore[attr-defined]
        readings.append(detector.read()["toy_y"]["value"])
        built.close()
    assert readings[0] == readings[1] != pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("driver", [SettingDriver(Toy, "toy x"), DetectorDriver(Toy, "toy")])
def test_the_devices_pass_the_conformance_kit(driver: SettingDriver | DetectorDriver) -> None:
    report = run_conformance(driver)
    failed = [r for r in report.results if r.outcome is Outcome.FAIL]
    assert not failed, failed
    assert sum(r.outcome is Outcome.PASS for r in report.results) >= 5
