"""Lab files: validated with field and line like campaign files; the ``lab`` station plugin
builds a station through device drivers and carries the file's envelope to the worker."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bluesky import RunEngine

from genesis_lab.errors import StationError
from genesis_lab.messages import ExperimentRequest
from genesis_lab.spec import LabFileError, StationRef, load_lab, parse_lab
from genesis_lab.station import build_station
from genesis_lab.worker import TrialExecutor

REPO = Path(__file__).resolve().parents[2]

LAB = """\
version: 1
name: test-lab
stations:
  - id: bench
    devices:
      - name: pump
        driver: lab-test-pump
        settings: {high_ml: 10.0}
        envelope: {limits: [1.0, 6.0], max_step: 4.0, units: mL}
      - name: door_closed
        driver: lab-test-door
        role: detector
    interlocks:
      - {reading: door_closed, equals: true, reason: close the enclosure}
    max_experiments_per_hour: 2
    move_timeout_s: 5
"""

DRIVERS = """
from ophyd import Signal
from pydantic import BaseModel
from genesis_lab_simulators.colour_bench import DyePump


class PumpSettings(BaseModel):
    high_ml: float = 10.0


class DoorSettings(BaseModel):
    closed: bool = True


class PumpDriver:
    description = "test pump"
    settings_model = PumpSettings
    simulator = None

    def build(self, name, settings):
        return DyePump(name=name, limits=(0.0, settings.high_ml))


class DoorDriver:
    description = "test door switch"
    settings_model = DoorSettings
    simulator = None

    def build(self, name, settings):
        return Signal(name=name, value=settings.closed)


PUMP = PumpDriver()
DOOR = DoorDriver()
"""


@pytest.fixture
def test_drivers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register ``lab-test-pump`` and ``lab-test-door`` through a temporary dist-info."""
    root = tmp_path / "site"
    info = root / "lab_test_drivers-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-test-drivers\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[genesis_lab.devices]\n"
        "lab-test-pump = lab_test_drivers:PUMP\n"
        "lab-test-door = lab_test_drivers:DOOR\n"
    )
    (root / "lab_test_drivers.py").write_text(DRIVERS)
    monkeypatch.syspath_prepend(str(root))
    yield
    sys.modules.pop("lab_test_drivers", None)


def _line(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_shipped_lab_file_validates() -> None:
    lab = load_lab(REPO / "labs" / "colour_lab.yaml")
    station = lab.spec.station("colour-bench-a")
    assert [d.name for d in station.devices] == [
        "pump_cyan",
        "pump_magenta",
        "pump_yellow",
        "spectro",
    ]


@pytest.mark.parametrize(
    ("old", "new", "field", "message", "at"),
    [
        (
            "max_step: 4.0",
            "max_stp: 4.0",
            "stations.0.devices.0.envelope.max_stp",
            "unknown field (did you mean 'max_step'?)",
            "max_stp",
        ),
        (
            "limits: [1.0, 6.0]",
            "limits: [6.0, 1.0]",
            "stations.0.devices.0.envelope.limits",
            "lower must be below upper",
            "envelope:",
        ),
        (
            "name: door_closed",
            "name: pump",
            "stations.0.devices",
            "'pump' is used twice",
            "devices:",
        ),
        (
            "role: detector",
            "role: detector\n        envelope: {max_step: 1}",
            "stations.0.devices.1",
            "a detector has no envelope",
            "name: door_closed",
        ),
        (
            "{reading: door_closed, equals: true, reason: close the enclosure}",
            "{reading: door_closed}",
            "stations.0.interlocks.0",
            "needs 'equals'",
            "{reading: door_closed}",
        ),
        (
            "max_experiments_per_hour: 2",
            "max_experiments_per_hour: 0",
            "stations.0.max_experiments_per_hour",
            "greater than or equal to 1",
            "max_experiments_per_hour",
        ),
    ],
)
def test_problems_name_field_and_line(
    old: str, new: str, field: str, message: str, at: str
) -> None:
    text = LAB.replace(old, new)
    with pytest.raises(LabFileError) as caught:
        parse_lab(text, "lab.yaml")
    [problem] = caught.value.problems
    assert problem.field == field
    assert message in problem.message
    assert problem.line == _line(text, at)
    assert f"lab.yaml:{problem.line}: {field}: " in str(caught.value)


def test_lab_plugin_builds_the_station_and_the_worker_keeps_its_envelope(
    test_drivers: None, tmp_path: Path, run_engine: RunEngine
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB)
    ref = StationRef(plugin="lab", id="bench", options={"file": str(path), "station": "bench"})
    station = build_station(ref)
    try:
        assert sorted(station.actuators) == ["pump"]
        assert [d.name for d in station.detectors] == ["door_closed"]
        assert station.limits("pump") == (1.0, 6.0)  # the device's [0, 10] tightened
        assert station.units["pump"] == "mL"
        assert station.envelope.move_timeout_s == 5
        executor = TrialExecutor(station, run_engine)
        pump = station.actuators["pump"]

        def run(trial: str, volume: object) -> tuple[str, str]:
            request = ExperimentRequest.model_construct(
                campaign_id="c",
                trial_id=trial,
                station_id="bench",
                setpoints={"pump": volume},
                parameters={},
                readings=[],
            )
            outcome = executor.run(request, lambda name, doc: None)
            return outcome.state, outcome.reason

        assert run("t1", 8.0) == (
            "rejected",
            "pump: setpoint 8.0 mL is outside the limits [1.0, 6.0] mL",
        )
        assert run("t2", 5.0)[1] == "pump: a step from 0 to 5 mL exceeds max_step 4 mL"
        assert pump.command_log == type(pump.command_log)()  # type: ignore[attr-defined]
        station.detectors[0].put(False)  # type: ignore[attr-defined]
        assert run("t3", 3.0) == (
            "rejected",
            "interlock door_closed: reads False, must be True (close the enclosure)",
        )
        station.detectors[0].put(True)  # type: ignore[attr-defined]
        assert run("t4", 3.0) == ("completed", "")
        assert run("t5", 5.0) == ("completed", "")
        state, reason = run("t6", 4.0)
        assert state == "rejected" and reason.startswith("max_experiments_per_hour 2 reached")
        sets = [c.value for c in pump.command_log if c.command == "set"]  # type: ignore[attr-defined]
        assert sets == [3.0, 5.0]
    finally:
        station.close()


def test_lab_plugin_names_a_missing_station_or_driver(test_drivers: None, tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB)
    with pytest.raises(StationError, match=r"no station 'other' \(stations: bench\)"):
        build_station(StationRef(plugin="lab", options={"file": str(path), "station": "other"}))
    path.write_text(LAB.replace("lab-test-door", "lab-test-window"))
    with pytest.raises(StationError, match="no device driver named 'lab-test-window'"):
        build_station(StationRef(plugin="lab", options={"file": str(path), "station": "bench"}))
    with pytest.raises(StationError, match="cannot read file"):
        build_station(
            StationRef(plugin="lab", options={"file": str(tmp_path / "no.yaml"), "station": "x"})
        )
