"""The worker: a station's RunEngine serving experiment requests over MQTT."""

from genesis_lab.worker._envelope import envelope_violations
from genesis_lab.worker._plans import PLAN_NAME, experiment_plan
from genesis_lab.worker._worker import Worker, WorkerStats, jsonable_document

__all__ = [
    "PLAN_NAME",
    "Worker",
    "WorkerStats",
    "envelope_violations",
    "experiment_plan",
    "jsonable_document",
]
