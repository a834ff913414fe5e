"""The worker: a station's RunEngine serving experiment requests over MQTT, behind its
safety envelope, obeying operators' e-stop, pause and resume."""

from genesis_lab.worker._envelope import SafetyEnvelope, envelope_violations, read_position
from genesis_lab.worker._executor import (
    DEFAULT_MOVE_TIMEOUT_S,
    EmergencyStopError,
    TrialExecutor,
    TrialOutcome,
    describe_failure,
)
from genesis_lab.worker._local import local_worker
from genesis_lab.worker._outbox import Outbox
from genesis_lab.worker._plans import PLAN_NAME, SetpointNotReachedError, experiment_plan
from genesis_lab.worker._worker import Worker, WorkerStats, jsonable_document

__all__ = [
    "DEFAULT_MOVE_TIMEOUT_S",
    "PLAN_NAME",
    "EmergencyStopError",
    "Outbox",
    "SafetyEnvelope",
    "SetpointNotReachedError",
    "TrialExecutor",
    "TrialOutcome",
    "Worker",
    "WorkerStats",
    "describe_failure",
    "envelope_violations",
    "experiment_plan",
    "jsonable_document",
    "local_worker",
    "read_position",
]
