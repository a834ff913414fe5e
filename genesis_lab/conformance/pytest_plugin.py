"""pytest plugin of the conformance kit (entry point ``pytest11``: loaded by pytest once
genesis-lab is installed).

A vendor checks a driver with one test::

    def test_my_driver_conforms(genesis_conformance_case):
        genesis_conformance_case.assert_conforms()

run as ``pytest --genesis-driver my-driver`` (repeat the option for several drivers; without
it, every installed driver). Each check of the kit becomes one test, named
``DRIVER-CHECK``: it passes, fails with the check's reason, or is skipped with the reason
it does not apply. ``--genesis-setting key=value`` (repeatable, values read as YAML) runs
against a real instrument instead of the driver's simulator.

``--genesis-plan-timeout SECONDS`` (or the ini option ``genesis_plan_timeout``; default
60 s, the kit's ``DEFAULT_PLAN_TIMEOUT_S``) is how long each stock plan (``count``,
``scan``, ``list_scan``) may run before the kit halts it and its test fails, naming the
plan and the time-out; raise it for a slow instrument. To parametrise explicitly (say,
over a driver object that is not installed yet)::

    @pytest.mark.parametrize("case", conformance_cases(MY_DRIVER, plan_timeout_s=120))
    def test_conforms(case):
        case.assert_conforms()

This module imports the kit (Bluesky, Ophyd) only when a check runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from genesis_lab.conformance._results import CheckResult
    from genesis_lab.station import DeviceDriver

__all__ = [
    "FIXTURE",
    "ConformanceCase",
    "conformance_cases",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
]

#: The argument a test takes to be parametrised over the kit's checks.
FIXTURE = "genesis_conformance_case"


@dataclass(frozen=True)
class ConformanceCase:
    """One check of the kit against one driver (by installed name, or a driver object)."""

    driver: Any
    check: str
    settings: Mapping[str, Any] | None = None
    plan_timeout_s: float | None = None  # None: the kit's DEFAULT_PLAN_TIMEOUT_S

    @property
    def driver_name(self) -> str:
        if isinstance(self.driver, str):
            return self.driver
        return str(getattr(self.driver, "name", None) or type(self.driver).__name__)

    def __str__(self) -> str:
        return f"{self.driver_name}-{self.check}"

    def run(self) -> CheckResult:
        """Run the check and return its result (never raises for a failure)."""
        from genesis_lab.conformance import (
            CHECKS,
            DEFAULT_PLAN_TIMEOUT_S,
            DriverUnderTest,
            run_check,
        )

        check = next(c for c in CHECKS if c.name == self.check)
        plan_timeout_s = self.plan_timeout_s or DEFAULT_PLAN_TIMEOUT_S
        target = DriverUnderTest.load(self.driver, self.settings, plan_timeout_s=plan_timeout_s)
        return run_check(check, target)

    def assert_conforms(self) -> CheckResult:
        """Run the check: ``pytest.fail`` with its reason if it fails, ``pytest.skip`` if it
        does not apply to this driver."""
        from genesis_lab.conformance import Outcome

        result = self.run()
        if result.outcome is Outcome.FAIL:
            pytest.fail(f"{self}: {result.reason}", pytrace=False)
        if result.outcome is Outcome.NOT_APPLICABLE:
            pytest.skip(f"{self}: not applicable: {result.reason}")
        return result


def conformance_cases(
    *drivers: str | DeviceDriver,
    settings: Mapping[str, Any] | None = None,
    plan_timeout_s: float | None = None,
) -> list[Any]:
    """``pytest.param`` of every check of the kit for each driver, with ids
    ``DRIVER-CHECK``, for ``@pytest.mark.parametrize``; ``plan_timeout_s`` (s) bounds each
    stock plan (default: the kit's ``DEFAULT_PLAN_TIMEOUT_S``)."""
    from genesis_lab.conformance import check_names, plan_timeout

    limit_s = None if plan_timeout_s is None else plan_timeout(plan_timeout_s)
    cases = [
        ConformanceCase(driver, check, settings, limit_s)
        for driver in drivers
        for check in check_names()
    ]
    return [pytest.param(case, id=str(case)) for case in cases]


def _settings(items: list[str]) -> dict[str, Any] | None:
    from genesis_lab.conformance import parse_settings

    try:
        return parse_settings(items)
    except ValueError as exc:
        raise pytest.UsageError(f"--genesis-{exc}") from None


def _plan_timeout(config: pytest.Config) -> float | None:
    """``--genesis-plan-timeout``, else the ini option ``genesis_plan_timeout``, else None."""
    from genesis_lab.conformance import plan_timeout

    given = config.getoption("genesis_plan_timeout")
    where = "--genesis-plan-timeout"
    if given is None:
        given, where = config.getini("genesis_plan_timeout") or None, "genesis_plan_timeout"
    if given is None:
        return None
    try:
        return plan_timeout(given)
    except ValueError as exc:
        raise pytest.UsageError(f"{where}: {exc}") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("genesis-lab", "genesis-lab driver conformance")
    group.addoption(
        "--genesis-driver",
        action="append",
        default=[],
        metavar="NAME",
        help="device driver (genesis_lab.devices entry point) whose conformance tests run "
        f"(tests taking '{FIXTURE}'); repeat for several; default: every installed driver",
    )
    group.addoption(
        "--genesis-setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="connection setting of a real instrument (repeatable); without any, the "
        "driver's simulator is used",
    )
    plan_help = (
        "how long each stock plan (count, scan, list_scan) of a conformance test may run "
        "before the kit halts it and the test fails (s); default 60"
    )
    group.addoption(
        "--genesis-plan-timeout",
        default=None,
        metavar="SECONDS",
        help=f"{plan_help}; overrides the ini option genesis_plan_timeout",
    )
    parser.addini("genesis_plan_timeout", help=plan_help, default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "genesis_conformance: a conformance check of a genesis-lab device driver"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if FIXTURE not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        if FIXTURE in str(marker.args[0] if marker.args else ""):
            return  # parametrised by the test itself
    names: list[str] = metafunc.config.getoption("genesis_driver") or []
    if not names:
        from genesis_lab.station import available_drivers

        names = sorted(available_drivers())
    settings = _settings(metafunc.config.getoption("genesis_setting") or [])
    plan_timeout_s = _plan_timeout(metafunc.config)
    params = [
        pytest.param(p.values[0], id=p.id, marks=pytest.mark.genesis_conformance)
        for p in conformance_cases(*names, settings=settings, plan_timeout_s=plan_timeout_s)
    ]
    metafunc.parametrize(FIXTURE, params)
