"""Each check of the conformance kit fails a device that breaks its part of the contract,
with a reason that says what went wrong (no check that cannot fail)."""

from __future__ import annotations

import math
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, Signal
from ophyd.positioner import SoftPositioner
from ophyd.status import Status
from pydantic import BaseModel, ConfigDict

import genesis_lab.conformance as conformance
from genesis_lab.conformance import CheckResult, Outcome, check_names, run_conformance


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_s: float = 0.3
    fault: str | None = None
    lab: Any = None


class Lab:
    """The state a simulated instrument shares with its device: running or stopped."""

    def __init__(self) -> None:
        self.running = True


class DriverUnderCheck:
    """A driver around a device factory, with a simulator and optional faults."""

    description = "a driver under test"
    settings_model = Settings

    def __init__(
        self,
        factory: Callable[[str, Settings], Any],
        *,
        faults: tuple[str, ...] = (),
        in_process: bool = True,
        simulator: bool = True,
    ) -> None:
        self.factory = factory
        self.in_process = in_process
        self.simulator = self._simulated(None) if simulator else None
        self.simulator_faults = {fault: self._simulated(fault) for fault in faults}

    @staticmethod
    def _simulated(fault: str | None) -> Callable[[], Any]:
        @contextmanager
        def simulator() -> Iterator[dict[str, Any]]:
            lab = Lab()
            yield {"fault": fault, "lab": lab}
            lab.running = False

        return simulator

    def build(self, name: str, settings: Settings) -> Any:
        return self.factory(name, settings)


class Pump(SoftPositioner):
    """A well-behaved pump (mL, 0-10) that hangs or errs when its settings say so."""

    def __init__(self, name: str, settings: Settings, *, timeout: float | None = None) -> None:
        self.fault: str | None = None  # the starting position is set by a move
        self.lab = settings.lab
        super().__init__(
            name=name,
            limits=(0.0, 10.0),
            init_pos=0.0,
            egu="mL",
            timeout=settings.timeout_s if timeout is None else timeout,
        )
        self.fault = settings.fault

    def _setup_move(self, position: float, status: Any) -> None:
        if self.fault == "hang":
            return  # accepted, never finished
        super()._setup_move(position, status)


def result_of(driver: DriverUnderCheck, check: str) -> CheckResult:
    report = run_conformance(driver, only=[check])
    (result,) = report.results
    return result


def good_pump(name: str, settings: Settings) -> Pump:
    return Pump(name, settings)


def test_a_well_behaved_pump_passes_everything_that_applies():
    report = run_conformance(DriverUnderCheck(good_pump, faults=("hang",)))
    outcomes = {r.check: r.outcome for r in report}
    assert report.passed, report.failures
    assert outcomes["timeout"] is Outcome.PASS
    assert outcomes["fault"] is Outcome.NOT_APPLICABLE  # no 'error' fault offered
    assert outcomes["disconnect"] is Outcome.NOT_APPLICABLE  # in-process
    assert list(outcomes) == check_names()


def test_a_device_not_named_as_asked_fails_build_and_nothing_else_runs():
    report = run_conformance(DriverUnderCheck(lambda name, s: Pump("other", s)))
    assert report.results[0].failed
    assert "named 'other'" in report.results[0].reason
    assert all(r.failed and "not run" in r.reason for r in report.results[1:])


def test_no_simulator_and_no_settings_fails_build_saying_what_to_give():
    result = result_of(DriverUnderCheck(good_pump, simulator=False), "build")
    assert result.failed and "has no simulator" in result.reason


class WrongDtype(Signal):
    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        description[self.name].update(dtype="integer", units="K")
        return description


def test_a_value_that_does_not_fit_its_dtype_fails_describe_read():
    driver = DriverUnderCheck(lambda name, s: WrongDtype(name=name, value=1.5))
    result = result_of(driver, "describe-read")
    assert result.failed
    assert "dtype 'integer' declared but value 1.5" in result.reason


class WrongShape(Signal):
    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        description[self.name].update(shape=[3], units="AU")
        return description


def test_an_array_of_another_shape_fails_describe_read():
    driver = DriverUnderCheck(lambda name, s: WrongShape(name=name, value=[0.1, 0.2, 0.3, 0.4]))
    result = result_of(driver, "describe-read")
    assert result.failed and "shape [3] declared, the value's shape is [4]" in result.reason


def test_a_reading_without_units_fails_metadata():
    driver = DriverUnderCheck(lambda name, s: Signal(name=name, value=2.0))
    result = result_of(driver, "metadata")
    assert result.failed and "needs 'units'" in result.reason


class Careless(Pump):
    """Moves wherever it is told."""

    def check_value(self, pos: Any) -> None:
        return None


def test_a_set_outside_the_limits_that_moves_fails_limits():
    result = result_of(DriverUnderCheck(Careless), "limits")
    assert result.failed and "set(-1.0) succeeded" in result.reason


def test_a_limitless_actuator_fails_metadata():
    driver = DriverUnderCheck(lambda name, s: SoftPositioner(name=name, init_pos=0.0, egu="mL"))
    result = result_of(driver, "metadata")
    assert result.failed and "must declare its limits" in result.reason


def lying_about(dtype: str) -> type[Pump]:
    """A pump (limits 0-10 mL, reads floats) whose describe() gives its position ``dtype``."""

    class Liar(Pump):
        def describe(self) -> dict[str, dict[str, Any]]:
            description: dict[str, dict[str, Any]] = super().describe()
            description[self.name]["dtype"] = dtype
            return description

    return Liar


def test_limits_with_a_dtype_that_is_not_a_number_fail_limits_and_metadata_saying_so():
    """Reported before as 'declares neither limits nor choices' (n/a), hiding the real fault."""
    report = run_conformance(DriverUnderCheck(lying_about("string")), only=["metadata", "limits"])
    for result in report:
        assert result.failed, result
        assert "neither limits nor choices" not in result.reason
        assert "device 'driverundercheck' declares limits [0, 10]" in result.reason
        assert "position key 'driverundercheck' dtype 'string'" in result.reason
        assert "declare dtype 'number'" in result.reason
    limits = report.results[1]
    assert "reads 0.0 (float)" in limits.reason


def test_limits_with_an_integer_dtype_and_a_float_reading_fail_limits_saying_so():
    result = result_of(DriverUnderCheck(lying_about("integer")), "limits")
    assert result.failed
    assert "dtype 'integer' for its position key 'driverundercheck' and reads 0.0 (float)" in (
        result.reason
    )
    assert "declare dtype 'number', or read back an int" in result.reason


def test_an_actuator_without_limits_or_choices_is_not_applicable_to_limits():
    driver = DriverUnderCheck(lambda name, s: SoftPositioner(name=name, init_pos=0.0, egu="mL"))
    result = result_of(driver, "limits")
    assert result.outcome is Outcome.NOT_APPLICABLE
    assert "declares neither limits nor choices" in result.reason


class Lagging(Pump):
    """Reports done but stays where it was."""

    def _setup_move(self, position: float, status: Any) -> None:
        if self.position is None:  # the starting position
            super()._setup_move(position, status)
        else:
            self._done_moving()


def test_a_set_that_does_not_arrive_fails_set_completes():
    result = result_of(DriverUnderCheck(Lagging), "set-completes")
    assert result.failed and "reads back 0.0" in result.reason


def test_a_status_without_a_timeout_fails_the_timeout_check():
    driver = DriverUnderCheck(lambda name, s: Pump(name, s, timeout=math.inf), faults=("hang",))
    driver.factory = lambda name, s: _no_timeout(Pump(name, s))
    result = result_of(driver, "timeout")
    assert result.failed and "still pending" in result.reason


def _no_timeout(pump: Pump) -> Pump:
    pump.timeout = None
    return pump


class Slow(Pump):
    """Moves in 0.2 s; stop() halts the move, its Status finished if ``success``."""

    def _setup_move(self, position: float, status: Any) -> None:
        if self.position is None:  # the starting position
            super()._setup_move(position, status)
            return

        def arrive() -> None:
            self._set_position(position)
            self._done_moving(success=True)

        self._timer = threading.Timer(0.2, arrive)
        self._timer.start()

    def stop(self, *, success: bool = False) -> None:
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.cancel()
            timer.join()
        super().stop(success=success)


class Brittle(Slow):
    def stop(self, *, success: bool = False) -> None:
        super().stop(success=success)
        raise RuntimeError("controller busy")


class PauseBreaks(Slow):
    """Fails the move in flight on every stop, a pause's included."""

    def stop(self, *, success: bool = False) -> None:
        super().stop(success=False)


def test_stop_ends_a_move_in_flight_and_a_pause_finishes_it():
    result = result_of(DriverUnderCheck(Slow), "stop")
    assert result.outcome is Outcome.PASS, result.reason
    assert "stop(success=True): the move in flight, finished" in result.reason
    assert "stop(success=False): the move in flight, failed" in result.reason


def test_a_stop_that_raises_fails_the_stop_check():
    result = result_of(DriverUnderCheck(Brittle), "stop")
    assert result.failed and "raised RuntimeError: controller busy" in result.reason


def test_a_stop_that_fails_a_paused_move_fails_the_stop_check():
    """The furnace did this: a paused and released trial ended FAILED (issue 16, item 2)."""
    result = result_of(DriverUnderCheck(PauseBreaks), "stop")
    assert result.failed and "a paused and resumed run would fail" in result.reason


class Mute(Pump):
    """Fails its moves with an error that does not say which device failed."""

    def _setup_move(self, position: float, status: Any) -> None:
        if self.fault == "error":
            status.set_exception(RuntimeError("error -300"))
            return
        super()._setup_move(position, status)


def test_a_fault_that_does_not_name_the_device_fails_the_fault_check():
    result = result_of(DriverUnderCheck(Mute, faults=("error",)), "fault")
    assert result.failed and "must name the device" in result.reason


class Voltage(Signal):
    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        description[self.name]["units"] = "V"
        return description


class Remote(Device):
    """A detector of a remote instrument: trigger() asks it to measure."""

    voltage = Cpt(Voltage, value=1.0, kind="hinted")

    def __init__(self, name: str, settings: Settings, *, notices_loss: bool) -> None:
        super().__init__(name=name)
        self.lab = settings.lab
        self.notices_loss = notices_loss

    def trigger(self) -> Status:
        status = DeviceStatus(self)
        if self.notices_loss and not self.lab.running:
            status.set_exception(ConnectionError(f"{self.name}: instrument gone"))
        else:
            status.set_finished()
        return status


def test_a_detector_that_ignores_the_lost_instrument_fails_disconnect():
    careless = DriverUnderCheck(lambda n, s: Remote(n, s, notices_loss=False), in_process=False)
    careful = DriverUnderCheck(lambda n, s: Remote(n, s, notices_loss=True), in_process=False)
    failed = result_of(careless, "disconnect")
    assert failed.failed and "trigger() succeeded; with the instrument gone it must fail" in (
        failed.reason
    )
    passed = result_of(careful, "disconnect")
    assert passed.outcome is Outcome.PASS, passed.reason


class Flaky(Signal):
    """Reads once, then raises: a plan fails on it."""

    def __init__(self, name: str, settings: Settings) -> None:
        super().__init__(name=name, value=1.0)
        self.reads = 0

    def read(self) -> dict[str, Any]:
        self.reads += 1
        if self.reads > 2:
            raise OSError(f"{self.name}: read error")
        reading: dict[str, Any] = super().read()
        return reading


def test_a_plan_that_fails_on_the_device_fails_count():
    result = result_of(DriverUnderCheck(Flaky), "count")
    assert result.failed and "count failed: OSError" in result.reason


def test_a_hanging_read_is_reported_not_waited_for():
    class Stuck(Signal):
        def read(self) -> dict[str, Any]:
            time.sleep(3)
            raise OSError("too late")

    result = result_of(DriverUnderCheck(lambda n, s: Stuck(name=n, value=0.0)), "describe-read")
    assert result.failed and "read() did not return within 2.3 s" in result.reason


def test_the_public_face_is_honest():
    public = {
        attr
        for attr, value in vars(conformance).items()
        if not attr.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    assert set(conformance.__all__) == public


class Blocking(Pump):
    """Blocks in set() until the move has ended, then returns a finished Status."""

    def set(self, position: Any, **kwargs: Any) -> Any:
        if self.position is not None:
            time.sleep(0.8)  # the move, waited out inside set()
        return super().set(position, **kwargs)


def test_a_set_that_blocks_until_the_move_ends_fails_set_completes():
    driver = DriverUnderCheck(lambda name, s: Blocking(name, s, timeout=5.0))
    result = result_of(driver, "set-completes")
    assert result.failed and "blocked for" in result.reason
    assert "must return at once" in result.reason


class Hanging(Device):
    """A detector whose acquisitions never end: trigger() returns a Status, no timeout, that
    never finishes."""

    voltage = Cpt(Voltage, value=1.0, kind="hinted")

    def trigger(self) -> Status:
        return DeviceStatus(self)


def test_a_hanging_plan_fails_at_the_plan_timeout_naming_the_plan_and_the_timeout():
    driver = DriverUnderCheck(lambda name, s: Hanging(name=name))
    report = run_conformance(driver, only=["count", "list-scan"], plan_timeout_s=0.5)
    plans = ("count", "list_scan (over a soft motor)")
    for result, plan in zip(report, plans, strict=True):
        assert result.failed, result
        assert f"{plan} did not finish within the plan time-out (0.5 s) and was halted" in (
            result.reason
        )
        assert "--plan-timeout SECONDS" in result.reason
        assert "--genesis-plan-timeout SECONDS" in result.reason


def test_the_plan_timeout_must_be_a_number_of_seconds_above_zero():
    for bad in (0, -1.0, math.nan, math.inf, "soon", True):
        with pytest.raises(ValueError, match="expected a number of seconds above 0"):
            run_conformance(DriverUnderCheck(good_pump), plan_timeout_s=bad)  # type: ignore[arg-type]
