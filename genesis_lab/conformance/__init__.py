"""The driver conformance kit: checks a device driver must pass before it meets a robot.

``run_conformance("my-driver")`` runs every check against the driver's simulator (or,
with ``settings``, a real instrument) and returns a :class:`ConformanceReport` of
pass / fail / not-applicable results with reasons. ``genesis-lab devices check`` prints
it; the pytest plugin (:mod:`genesis_lab.conformance.pytest_plugin`) turns each check into
a test. The contract the checks enforce is ``docs/driver-contract.md``.
"""

from genesis_lab.conformance._kit import CHECKS, Check, check_names, run_check, run_conformance
from genesis_lab.conformance._results import CheckResult, ConformanceReport, Outcome
from genesis_lab.conformance._target import (
    DEFAULT_TIMEOUT_S,
    FAULT_ERROR,
    FAULT_HANG,
    GRACE_S,
    DriverUnderTest,
    parse_settings,
    validated_settings,
)

__all__ = [
    "CHECKS",
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
    "run_check",
    "run_conformance",
    "validated_settings",
]
