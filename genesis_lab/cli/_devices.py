"""``genesis-lab devices``: what drivers and stations are installed, and the conformance kit."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from genesis_lab.cli._exits import EXIT_FAILED, err, fail
from genesis_lab.errors import StationError

if TYPE_CHECKING:  # the kit loads bluesky and ophyd: only 'devices check' imports it
    from genesis_lab.conformance import CheckResult

__all__ = ["devices_app"]

#: The kit's DEFAULT_PLAN_TIMEOUT_S (s), not imported: the kit loads Bluesky and Ophyd.
PLAN_TIMEOUT_S = 60.0

devices_app = typer.Typer(
    name="devices",
    help="Device drivers and station plugins: list what is installed, check a driver "
    "against the driver contract (docs/driver-contract.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console()

_STYLE = {"pass": "green", "fail": "bold red", "n/a": "yellow"}  # by Outcome


def _entry(group: str, name: str, value: str, loaded: Any) -> dict[str, Any]:
    if isinstance(loaded, Exception):
        return {
            "name": name,
            "kind": group,
            "entry_point": value,
            "simulator": None,
            "description": f"cannot load: {type(loaded).__name__}: {loaded}",
        }
    simulator = None if group == "station" else getattr(loaded, "simulator", None) is not None
    return {
        "name": name,
        "kind": group,
        "entry_point": value,
        "simulator": simulator,
        "description": str(getattr(loaded, "description", "")),
    }


def _installed() -> list[dict[str, Any]]:
    from genesis_lab.station import available_drivers, available_stations

    rows = []
    for group, found in (("driver", available_drivers()), ("station", available_stations())):
        for name, entry_point in sorted(found.items()):
            try:
                loaded = entry_point.load()
            except Exception as exc:  # a broken package must not hide the others
                loaded = exc
            rows.append(_entry(group, name, entry_point.value, loaded))
    return rows


@devices_app.command("list")
def list_devices(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List installed device drivers (entry-point group genesis_lab.devices) and station
    plugins (genesis_lab.stations), with descriptions and whether a driver has a simulator."""
    rows = _installed()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="installed device drivers and station plugins")
    table.add_column("name", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("simulator", no_wrap=True)
    table.add_column("description", overflow="fold")
    for row in rows:
        simulator = {True: "yes", False: "no", None: "-"}[row["simulator"]]
        table.add_row(row["name"], row["kind"], simulator, escape(row["description"]))
    out.print(table)
    if not rows:
        out.print("nothing installed in genesis_lab.devices or genesis_lab.stations")


@devices_app.command("check")
def check(
    driver: Annotated[
        str, typer.Argument(help="Installed driver (see 'devices list').", show_default=False)
    ],
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--setting",
            "-s",
            help="KEY=VALUE connection setting of a real instrument (repeat; values read as "
            "YAML). Without any, the checks run against the driver's simulator.",
            show_default=False,
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--check",
            help="Run only this check (repeat); an unknown name lists them all.",
            show_default=False,
        ),
    ] = None,
    plan_timeout_s: Annotated[
        float,
        typer.Option(
            "--plan-timeout",
            metavar="SECONDS",
            help="How long each stock plan (count, scan, list_scan: 3 points each) may run "
            "before the kit halts it and fails its check. Raise it for an instrument whose "
            "moves or acquisitions are slow.",
        ),
    ] = PLAN_TIMEOUT_S,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Run the conformance kit against DRIVER: protocols, describe/read agreement, units and
    limits, status completion and timeout, limits honoured, faults, disconnect, and the
    stock Bluesky plans count, scan and list_scan.

    Nothing the driver does hangs the kit: a call into the driver is waited for the
    driver's timeout (its timeout_s setting, else 10 s) plus 2 s; a plan still running
    after --plan-timeout is halted and its check fails.

    Exits 0 if no check failed (not-applicable checks say why), 1 if any failed, 2 for an
    unknown driver, check, bad settings or a bad plan time-out.
    """
    from genesis_lab.conformance import (
        check_names,
        parse_settings,
        plan_timeout,
        run_conformance,
        validated_settings,
    )

    try:
        settings = parse_settings(setting or [])
    except ValueError as exc:
        fail(f"--{exc}")
    try:
        plan_timeout_s = plan_timeout(plan_timeout_s)
    except ValueError as exc:
        fail(f"--plan-timeout: {exc}")
    unknown = sorted(set(only or []) - set(check_names()))
    if unknown:
        fail(f"--check: unknown check(s) {', '.join(unknown)}; checks: {', '.join(check_names())}")
    from genesis_lab.station import load_driver

    try:
        loaded = load_driver(driver)
    except StationError as exc:
        fail(str(exc))
    if settings is not None:
        try:
            validated_settings(loaded, settings)
        except ValueError as exc:
            fail(f"--setting: driver {driver!r}: {exc}")
    if settings is None and loaded.simulator is None:
        fail(
            f"driver {driver!r} has no simulator: give the settings of a real instrument "
            "with --setting KEY=VALUE"
        )
    where = "its simulator" if settings is None else "the instrument the settings reach"
    if not as_json:
        err.print(f"checking driver [bold]{escape(driver)}[/] against {where}", highlight=False)

    def progress(result: CheckResult) -> None:
        if not as_json:
            style = _STYLE[result.outcome]
            err.print(f"  {result.check:<14} [{style}]{result.outcome.value}[/]", highlight=False)

    # what Bluesky prints (halting a plan that overran) must not mix into the report
    with contextlib.redirect_stdout(sys.stderr):
        report = run_conformance(
            driver, settings, only=only, on_result=progress, plan_timeout_s=plan_timeout_s
        )
    if as_json:
        payload = {
            "driver": report.driver,
            "simulated": report.simulated,
            "passed": report.passed,
            "results": [
                {"check": r.check, "outcome": r.outcome.value, "reason": r.reason} for r in report
            ],
        }
        out.print_json(json.dumps(payload))
    else:
        table = Table(title=f"conformance of {driver}")
        table.add_column("check", no_wrap=True)
        table.add_column("result", no_wrap=True)
        table.add_column("reason", overflow="fold")
        for result in report:
            style = _STYLE[result.outcome]
            table.add_row(
                result.check, f"[{style}]{result.outcome.value}[/]", escape(result.reason)
            )
        out.print(table)
        failed = len(report.failures)
        if failed:
            out.print(f"[bold red]{failed} check(s) failed[/]", highlight=False)
        else:
            out.print("[green]every applicable check passed[/]", highlight=False)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)
