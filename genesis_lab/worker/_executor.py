"""Run one experiment request on a station: envelope, RunEngine, safe state; and the
operator's controls (emergency stop, pause, resume) that act on it from other threads.

No MQTT here: :class:`TrialExecutor` takes a request and a callback for documents and
returns how the trial ended, so the envelope and the controls are testable without a
broker. The worker calls :meth:`TrialExecutor.run` from its one executor thread; the
controls may be called from any other thread (paho's, a test's).

E-stop: every actuator is stopped at once (``safe_state()`` where a device defines one,
else ``stop()``), then the RunEngine is halted (``RunEngine.halt``, from the calling
thread while it runs, or from the executor thread if it is paused). The trial in
progress ends ``abandoned`` with the reason, and every request is refused, unrun, until
:meth:`TrialExecutor.release`. Pause: no new request starts and a running one is paused
(``RunEngine.request_pause``); :meth:`TrialExecutor.resume` continues it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import bluesky.preprocessors as bpp
from bluesky import RunEngine
from bluesky.utils import Msg, RunEngineInterrupted

from genesis_lab.errors import EmergencyStopError, GenesisLabError
from genesis_lab.messages import ExperimentRequest
from genesis_lab.station import Station
from genesis_lab.worker._envelope import SafetyEnvelope, StartLog
from genesis_lab.worker._plans import experiment_plan

__all__ = ["DEFAULT_MOVE_TIMEOUT_S", "EmergencyStopError", "TrialExecutor", "TrialOutcome"]

log = logging.getLogger(__name__)

#: Seconds a move may take when neither the station's envelope nor the worker says.
DEFAULT_MOVE_TIMEOUT_S = 60.0
_MAX_REASON = 3900

OutcomeState = Literal["completed", "failed", "rejected", "abandoned"]


@dataclass(frozen=True)
class TrialOutcome:
    """How one request ended: its state, why (unless completed), and the run's uid."""

    state: OutcomeState
    reason: str = ""
    run_uid: str | None = None


class TrialExecutor:
    """Runs requests on ``station`` through ``engine``, enforcing its envelope."""

    def __init__(
        self,
        station: Station,
        engine: RunEngine,
        *,
        move_timeout_s: float | None = None,
        clock: Callable[[], float] = time.time,
        identity: str = "",
        starts: StartLog | None = None,
    ) -> None:
        self.station = station
        self.engine = engine
        #: Who runs the experiments (broker identity, user@host): in every start document.
        self.identity = identity
        self.envelope = SafetyEnvelope(station, clock=clock, starts=starts)
        self.move_timeout_s = (
            move_timeout_s or station.envelope.move_timeout_s or DEFAULT_MOVE_TIMEOUT_S
        )
        self._cond = threading.Condition()
        self._estop: str | None = None
        self._paused = False
        self._closing = False
        self._running = False

    # ------------------------------------------------------------------ state
    @property
    def mode(self) -> Literal["serving", "paused", "estopped"]:
        """What the station does now: serving requests, paused, or emergency-stopped."""
        if self._estop is not None:
            return "estopped"
        return "paused" if self._paused else "serving"

    def emergency_stop(self, reason: str = "emergency stop") -> None:
        """Stop every actuator now, halt the run in progress, refuse requests until release."""
        with self._cond:
            self._estop = reason
            running = self._running
            self._cond.notify_all()
        self.safe_state()
        if running and self.engine.state == "running":
            try:
                self.engine.halt()
            except Exception as exc:  # it finished (or paused) in between: nothing to halt
                log.info("halt after e-stop: %s", exc)
        log.warning("EMERGENCY STOP: %s", reason)

    def release(self) -> None:
        """Lift an emergency stop (and a pause): serve requests again."""
        with self._cond:
            self._estop = None
            self._paused = False
            self._cond.notify_all()

    def pause(self) -> None:
        """Start no new request; pause the one running (it continues on :meth:`resume`)."""
        with self._cond:
            self._paused = True
            running = self._running
        if running and self.engine.state == "running":
            try:
                self.engine.request_pause(defer=False)
            except Exception as exc:
                log.info("pause: %s", exc)

    def resume(self) -> None:
        """Continue after :meth:`pause` (an emergency stop needs :meth:`release`)."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def close(self) -> None:
        """The worker is stopping: a paused run is abandoned, waits end."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def wait_until_serving(self, poll_s: float = 0.5) -> None:
        """Block while paused (not while e-stopped: requests are then refused at once)."""
        with self._cond:
            while self._paused and self._estop is None and not self._closing:
                self._cond.wait(poll_s)

    def safe_state(self) -> list[str]:
        """Put every actuator in its safe state: ``safe_state()`` if it has one, else
        ``stop()``. Returns the problems met (a device that would not stop)."""
        problems = []
        for name, device in self.station.actuators.items():
            action = getattr(device, "safe_state", None) or getattr(device, "stop", None)
            if action is None:
                continue
            try:
                action()
            except Exception as exc:
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
                log.error("could not bring %s to its safe state: %s", name, exc)
        return problems

    # -------------------------------------------------------------------- run
    def run(
        self, request: ExperimentRequest, publish: Callable[[str, Mapping[str, Any]], None]
    ) -> TrialOutcome:
        """Check ``request`` against the envelope and, if it passes, run it once.

        ``publish(name, doc)`` receives every document of the run as it is emitted.
        """
        with self._cond:
            if self._estop is not None:
                return TrialOutcome(
                    "abandoned", f"emergency stop in force ({self._estop}); not run"
                )
            problems = self.envelope.admit(request.setpoints)
            if problems:
                return TrialOutcome("rejected", _clip("; ".join(problems)))
            self._running = True
        try:
            return self._run_admitted(request, publish)
        finally:
            with self._cond:
                self._running = False

    def _run_admitted(
        self, request: ExperimentRequest, publish: Callable[[str, Mapping[str, Any]], None]
    ) -> TrialOutcome:
        md = {
            "campaign_id": request.campaign_id,
            "trial_id": request.trial_id,
            "station_id": request.station_id,
            "worker": self.identity,
            "parameters": dict(request.parameters),
            "setpoints": dict(request.setpoints),
        }
        plan = experiment_plan(
            self.station.actuators,
            request.setpoints,
            self.station.detectors,
            md,
            move_timeout_s=self.move_timeout_s,
            tolerance=self.station.envelope.tolerance,
            replicates=request.replicates,
        )
        try:
            result = self._call(self._guarded(plan), publish)
        except Exception as exc:
            problems = self.safe_state()
            if self._estop is not None:
                return TrialOutcome("abandoned", f"emergency stop ({self._estop})")
            reason = describe_failure(exc)
            if problems:
                reason += "; safe state not reached: " + "; ".join(problems)
            return TrialOutcome("failed", _clip(reason))
        if result is None:  # interrupted and not resumed
            return TrialOutcome(
                "abandoned",
                f"emergency stop ({self._estop})" if self._estop else "worker stopped",
            )
        return TrialOutcome("completed", run_uid=_run_uid(result))

    def _call(self, plan: Any, publish: Callable[[str, Mapping[str, Any]], None]) -> Any:
        """Run ``plan``; through pauses, until it ends. None if it was halted."""
        try:
            return self.engine(plan, publish)
        except RunEngineInterrupted:
            pass
        while True:  # paused (or halted by an e-stop while running)
            if self.engine.state == "idle":
                return None
            with self._cond:
                while self._paused and self._estop is None and not self._closing:
                    self._cond.wait(0.5)
                halt = self._estop is not None or self._closing
            if halt:
                self.safe_state()
                try:
                    self.engine.halt()
                except Exception as exc:
                    log.info("halt of paused run: %s", exc)
                return None
            try:
                return self.engine.resume()
            except RunEngineInterrupted:
                continue

    def _guarded(self, plan: Any) -> Any:
        """``plan``, refusing to go on (EmergencyStopError) once an e-stop is in force."""

        def check(msg: Msg) -> Msg:
            if self._estop is not None:
                raise EmergencyStopError(f"emergency stop ({self._estop})")
            return msg

        return bpp.msg_mutator(plan, check)


def _clip(reason: str) -> str:
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


def _run_uid(result: Any) -> str | None:
    uids = getattr(result, "run_start_uids", result)
    if isinstance(uids, tuple | list) and uids:
        return str(uids[0])
    return None


def describe_failure(exc: BaseException) -> str:
    """A one-line reason, digging out the device's own error from a failed Status (the
    first of genesis-lab's own errors down the chain of causes, else the last cause)."""
    cause: BaseException = exc
    while cause.__cause__ is not None and not isinstance(cause, GenesisLabError):
        cause = cause.__cause__
    text = str(cause) or type(cause).__name__
    if type(cause).__name__ == "WaitTimeoutError" or "timeout" in type(exc).__name__.lower():
        text = f"{text} (a move did not finish in time)"
    if cause is not exc and str(exc):
        return f"{type(cause).__name__}: {text} ({type(exc).__name__})"
    return f"{type(cause).__name__}: {text}"
