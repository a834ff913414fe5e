"""The conformance kit: every check in order, and running them against one driver."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from genesis_lab.conformance._checks_motion import (
    check_disconnect,
    check_fault,
    check_limits,
    check_set_completes,
    check_timeout,
)
from genesis_lab.conformance._checks_plans import check_count, check_list_scan, check_scan
from genesis_lab.conformance._checks_reading import (
    check_build,
    check_describe_read,
    check_metadata,
    check_protocols,
    check_stage,
)
from genesis_lab.conformance._checks_stop import check_stop
from genesis_lab.conformance._probe import CheckFailed, NotApplicable
from genesis_lab.conformance._results import CheckResult, ConformanceReport, Outcome
from genesis_lab.conformance._target import DEFAULT_PLAN_TIMEOUT_S, DriverUnderTest, SetupError
from genesis_lab.station import DeviceDriver

__all__ = ["CHECKS", "Check", "check_names", "run_check", "run_conformance"]


@dataclass(frozen=True)
class Check:
    """One check of the kit: its name (as printed and in test ids) and its function."""

    name: str
    run: Callable[[DriverUnderTest], str]

    @property
    def summary(self) -> str:
        """The first line of the check's docstring."""
        return (self.run.__doc__ or "").strip().splitlines()[0]


CHECKS: tuple[Check, ...] = (
    Check("build", check_build),
    Check("protocols", check_protocols),
    Check("stage", check_stage),
    Check("describe-read", check_describe_read),
    Check("metadata", check_metadata),
    Check("set-completes", check_set_completes),
    Check("stop", check_stop),
    Check("limits", check_limits),
    Check("timeout", check_timeout),
    Check("fault", check_fault),
    Check("disconnect", check_disconnect),
    Check("count", check_count),
    Check("scan", check_scan),
    Check("list-scan", check_list_scan),
)


def check_names() -> list[str]:
    return [check.name for check in CHECKS]


def run_check(check: Check, target: DriverUnderTest) -> CheckResult:
    """Run one check; any exception it lets out is a failure with the exception's words."""
    try:
        reason = check.run(target)
    except NotApplicable as exc:
        return CheckResult(check.name, Outcome.NOT_APPLICABLE, str(exc))
    except CheckFailed as exc:
        return CheckResult(check.name, Outcome.FAIL, str(exc))
    except SetupError as exc:
        return CheckResult(check.name, Outcome.FAIL, f"set-up failed: {exc}")
    except Exception as exc:
        return CheckResult(check.name, Outcome.FAIL, f"raised {type(exc).__name__}: {exc}")
    return CheckResult(check.name, Outcome.PASS, reason)


def run_conformance(
    driver: str | DeviceDriver,
    settings: Mapping[str, Any] | None = None,
    *,
    only: list[str] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    plan_timeout_s: float = DEFAULT_PLAN_TIMEOUT_S,
) -> ConformanceReport:
    """Run the kit against ``driver`` (an installed driver's name, or a driver object).

    Without ``settings`` each check runs against the driver's simulator; with them, against
    the real instrument they reach (faults and disconnects are then not applicable). When
    the device cannot even be built, the remaining checks fail as not run. ``only`` picks
    checks by name; ``on_result`` sees each result as it comes. ``plan_timeout_s``: how
    long each stock plan (``count``, ``scan``, ``list_scan``) may run before it is halted
    and its check fails (60 s by default; ValueError unless above 0).
    """
    target = DriverUnderTest.load(driver, settings, plan_timeout_s=plan_timeout_s)
    wanted = [c for c in CHECKS if only is None or c.name in only]
    results: list[CheckResult] = []
    built = True
    for check in wanted:
        if built:
            result = run_check(check, target)
            built = not (check.name == "build" and result.failed)
        else:
            result = CheckResult(check.name, Outcome.FAIL, "not run: the device was not built")
        results.append(result)
        if on_result is not None:
            on_result(result)
    return ConformanceReport(driver=target.name, simulated=target.simulated, results=results)
