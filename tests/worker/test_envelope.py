"""The safety envelope: limits, max step, interlocks and the rate cap, each refusing before
anything moves; and a property test that throws thousands of hostile requests at a worker's
request handling (a real RunEngine, no broker) and reads the pumps' command logs."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bluesky import RunEngine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ophyd import Signal

from genesis_lab.errors import MessageError
from genesis_lab.messages import ExperimentRequest, decode_message
from genesis_lab.spec import Interlock, StationRef
from genesis_lab.station import Envelope, Station, build_station
from genesis_lab.worker import Outbox, SafetyEnvelope, TrialExecutor

LIMITS = {"pump_cyan": (0.5, 8.0), "pump_magenta": (1.0, 9.0), "pump_yellow": (0.0, 10.0)}
MAX_STEP = {"pump_cyan": 3.0, "pump_magenta": 4.0, "pump_yellow": 2.5}
PUMPS = tuple(LIMITS)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _guarded_station(**envelope: Any) -> tuple[Station, Signal]:
    """The colour bench with a door switch, limits tighter than the pumps' own [0, 10] mL,
    a max step per pump and the door interlock."""
    bench = build_station(StationRef(plugin="colour-bench", options={"noise_std": 0.0}))
    door = Signal(name="door_closed", value=True)
    fields: dict[str, Any] = {
        "limits": {"pump_cyan": LIMITS["pump_cyan"], "pump_magenta": LIMITS["pump_magenta"]},
        "max_step": MAX_STEP,
        "tolerance": bench.envelope.tolerance,
        "interlocks": [Interlock(reading="door_closed", equals=True, reason="door must be shut")],
        **envelope,
    }
    station = dataclasses.replace(
        bench, detectors=[*bench.detectors, door], envelope=Envelope(**fields)
    )
    return station, door


@pytest.fixture
def guarded() -> Iterator[tuple[Station, Signal]]:
    station, door = _guarded_station()
    yield station, door
    station.close()


def _request(trial_id: str, setpoints: Any) -> ExperimentRequest:
    """A request that skipped validation, as a forged or buggy sender might produce one."""
    return ExperimentRequest.model_construct(
        campaign_id="c1",
        trial_id=trial_id,
        station_id="bench",
        setpoints=setpoints,
        parameters={},
        readings=[],
    )


def test_station_limits_are_the_devices_own_tightened_by_the_envelope(guarded: Any) -> None:
    station, _ = guarded
    assert station.limits("pump_cyan") == (0.5, 8.0)
    assert station.limits("pump_yellow") == (0.0, 10.0)  # the pump's own


def test_each_rule_refuses_with_its_reason(guarded: Any) -> None:
    station, door = guarded
    envelope = SafetyEnvelope(station)
    assert envelope.check({"pump_cyan": 2.0}) == []
    assert envelope.check({"pump_cyan": 9.0}) == [
        "pump_cyan: setpoint 9.0 mL is outside the limits [0.5, 8.0] mL"
    ]
    assert envelope.check({"pump_yellow": 3.0}) == [
        "pump_yellow: a step from 0 to 3 mL exceeds max_step 2.5 mL"
    ]
    assert envelope.check({"pump_cyan": True}) == [
        "pump_cyan: setpoint True (bool) is not a number"
    ]
    assert envelope.check({"pump_cyan": "3"}) == ["pump_cyan: '3' is text, it takes a number"]
    assert envelope.check({"pump_cyan": math.inf}) == [
        "pump_cyan: setpoint inf is not a finite number"
    ]
    assert envelope.check({"pump_cyan": 10**400})[0].endswith("is not a finite number")
    door.put(False)
    assert envelope.check({"pump_cyan": 2.0}) == [
        "interlock door_closed: reads False, must be True (door must be shut)"
    ]


def test_max_step_is_measured_from_where_the_actuator_is_now(
    guarded: Any, run_engine: RunEngine
) -> None:
    station, _ = guarded
    executor = TrialExecutor(station, run_engine)
    assert executor.run(_request("t1", {"pump_yellow": 2.5}), lambda n, d: None).state == (
        "completed"
    )
    assert executor.run(_request("t2", {"pump_yellow": 5.0}), lambda n, d: None).state == (
        "completed"
    )
    refused = executor.run(_request("t3", {"pump_yellow": 0.0}), lambda n, d: None)
    assert refused.state == "rejected"
    assert refused.reason == "pump_yellow: a step from 5 to 0 mL exceeds max_step 2.5 mL"


def test_rate_cap_is_a_sliding_hour() -> None:
    station, _ = _guarded_station(max_experiments_per_hour=2)
    clock = Clock()
    try:
        envelope = SafetyEnvelope(station, clock=clock)
        assert envelope.admit({"pump_cyan": 1.0}) == []
        clock.now += 1000
        assert envelope.admit({"pump_cyan": 1.0}) == []
        clock.now += 1000
        assert envelope.admit({"pump_cyan": 1.0}) == [
            "max_experiments_per_hour 2 reached; the next may start in 1600 s"
        ]
        clock.now += 1600  # the first has left the window
        assert envelope.admit({"pump_cyan": 1.0}) == []
        assert envelope.admit({"pump_cyan": 1.0}) != []
    finally:
        station.close()


def test_a_refused_request_commands_no_device(guarded: Any, run_engine: RunEngine) -> None:
    station, door = guarded
    executor = TrialExecutor(station, run_engine)
    door.put(False)
    outcome = executor.run(_request("t1", {"pump_cyan": 2.0}), lambda n, d: None)
    assert outcome.state == "rejected" and "door must be shut" in outcome.reason
    assert all(not station.actuators[p].command_log for p in PUMPS)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ property test
_NUMBERS = st.one_of(
    st.floats(min_value=-2.0, max_value=12.0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-20, max_value=20),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400),
    st.just(-(10**400)),
)
_JUNK = st.one_of(
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["3.0", "nan", "water", "1e3", ""]),
    st.text(min_size=5000, max_size=5000, alphabet="x"),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
_NAMES = st.one_of(
    st.sampled_from([*PUMPS, "laser", "spectro", "door_closed"]), st.text(max_size=10)
)
_PLAUSIBLE = st.dictionaries(
    st.sampled_from(PUMPS), st.floats(min_value=-1.0, max_value=11.0), min_size=1, max_size=3
)
_SETPOINTS = st.one_of(
    _PLAUSIBLE,
    _PLAUSIBLE,
    _PLAUSIBLE,
    st.dictionaries(st.sampled_from(PUMPS), st.one_of(_NUMBERS, _JUNK), min_size=1, max_size=3),
    st.dictionaries(_NAMES, st.one_of(_NUMBERS, _NUMBERS, _JUNK), max_size=4),
    st.none(),
    st.lists(st.floats(), max_size=2),
    st.text(max_size=5),
)


def _payload(setpoints: Any) -> bytes:
    return json.dumps(
        {
            "campaign_id": "c1",
            "trial_id": "t1",
            "station_id": "bench",
            "setpoints": setpoints,
            "parameters": {},
        },
        default=str,
    ).encode()


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_no_hostile_request_moves_a_pump_outside_the_envelope(
    guarded: Any, run_engine: RunEngine
) -> None:
    station, door = guarded
    pumps = {name: station.actuators[name] for name in PUMPS}
    executor = TrialExecutor(station, run_engine)
    seen = {"completed": 0, "rejected": 0, "undecodable": 0, "commands": 0}

    @settings(
        max_examples=2500,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        derandomize=True,
    )
    @given(
        setpoints=_SETPOINTS,
        door_closed=st.sampled_from([True, True, True, False]),
        over_the_wire=st.booleans(),
    )
    def throw(setpoints: Any, door_closed: bool, over_the_wire: bool) -> None:
        door.put(door_closed)
        logged = {name: len(pump.command_log) for name, pump in pumps.items()}
        if over_the_wire:
            try:
                request = decode_message(_payload(setpoints), ExperimentRequest)
            except MessageError:
                seen["undecodable"] += 1
                return
        else:
            request = _request("t1", setpoints)
        outcome = executor.run(request, lambda name, doc: None)
        seen[outcome.state] = seen.get(outcome.state, 0) + 1
        assert outcome.state in ("completed", "rejected"), outcome
        assert (outcome.reason != "") == (outcome.state == "rejected")
        for name, pump in pumps.items():
            new = list(pump.command_log)[logged[name] :]
            sets = [c for c in new if c.command == "set"]
            seen["commands"] += len(sets)
            assert not sets or outcome.state == "completed"
            for command in sets:
                value = command.value
                assert isinstance(value, int | float) and not isinstance(value, bool)
                assert math.isfinite(value)
                low, high = station.limits(name)  # type: ignore[misc]
                assert low <= value <= high, (name, value)
                assert abs(value - command.position) <= MAX_STEP[name], (name, command)
                assert door_closed
            assert LIMITS[name][0] <= pump.position <= LIMITS[name][1] or pump.position == 0.0

    throw()
    assert seen["completed"] > 50 and seen["rejected"] > 1000, seen
    assert seen["undecodable"] > 100 and seen["commands"] >= seen["completed"], seen


def test_the_rate_cap_survives_a_restart(run_engine: RunEngine, tmp_path: Path) -> None:
    """Issue 21, item 2: the hourly cap counts from the worker's journal, not from the
    process's start. Two experiments run to the cap; a new executor on the same journal
    file (what a restarted worker builds) refuses the third with the cap's reason."""
    station, _ = _guarded_station(max_experiments_per_hour=2)
    journal = tmp_path / "outbox.sqlite"
    try:
        box = Outbox(journal)
        first = TrialExecutor(station, run_engine, starts=box)
        for n in (1, 2):
            done = first.run(_request(f"t{n}", {"pump_cyan": 1.0}), lambda _n, _d: None)
            assert done.state == "completed", done
        box.close()

        box = Outbox(journal)  # the restart: nothing in memory, the file as it was
        second = TrialExecutor(station, run_engine, starts=box)
        refused = second.run(_request("t3", {"pump_cyan": 1.0}), lambda _n, _d: None)
        assert refused.state == "rejected"
        assert refused.reason.startswith("max_experiments_per_hour 2 reached")
        box.close()
    finally:
        station.close()
