"""The driver conformance kit: checks a device driver must pass before it meets a robot.

``run_conformance("my-driver")`` runs every check against the driver's simulator (or,
with ``settings``, a real instrument) and returns a :class:`ConformanceReport` of
pass / fail / not-applicable results with reasons. ``genesis-lab devices check`` prints
it; the pytest plugin (:mod:`genesis_lab.conformance.pytest_plugin`) turns each check into
a test. The contract the checks enforce is ``docs/driver-contract.md``.

Nothing the driver does can hang the kit. A call into the driver is waited for the
driver's timeout (its settings' ``timeout_s``, else :data:`DEFAULT_TIMEOUT_S`) plus
:data:`GRACE_S`. Each stock plan (``count``, ``scan``, ``list_scan``) may run for the plan
time-out, :data:`DEFAULT_PLAN_TIMEOUT_S` (60 s) unless given: ``run_conformance(...,
plan_timeout_s=...)``, ``genesis-lab devices check --plan-timeout SECONDS``, ``pytest
--genesis-plan-timeout SECONDS`` (or the ini option ``genesis_plan_timeout``); a plan
still running then is halted and its check fails, naming the plan and the time-out.
"""

from genesis_lab.conformance._kit import CHECKS, Check, check_names, run_check, run_conformance
from genesis_lab.conformance._results import CheckResult, ConformanceReport, Outcome
from genesis_lab.conformance._target import (
    DEFAULT_PLAN_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    FAULT_ERROR,
    FAULT_HANG,
    GRACE_S,
    DriverUnderTest,
    parse_settings,
    plan_timeout,
    validated_settings,
)

__all__ = [
    "CHECKS",
    "DEFAULT_PLAN_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "FAULT_ERROR",
    "FAULT_HANG",
    "GRACE_S",
    "Check",
    "CheckResult",
    "ConformanceReport",
    "DriverUnderTest",
    "Outcome",
    "check_names",
    "parse_settings",
    "plan_timeout",
    "run_check",
    "run_conformance",
    "validated_settings",
]
