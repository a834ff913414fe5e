"""Find station plugins through entry points and check a campaign against a station."""

from __future__ import annotations

from importlib.metadata import EntryPoint

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from genesis_lab.errors import DeviceUnreachableError, FieldProblem, StationError
from genesis_lab.spec import (
    CampaignFile,
    CategoricalParameter,
    FixedParameter,
    Parameter,
    StationRef,
)
from genesis_lab.station._contract import Station, StationPlugin
from genesis_lab.station._entry_points import installed, load_entry_point

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_stations",
    "build_station",
    "check_campaign_fits",
    "load_station_plugin",
]

ENTRY_POINT_GROUP = "genesis_lab.stations"


def available_stations() -> dict[str, EntryPoint]:
    """Installed station plugins by name."""
    return installed(ENTRY_POINT_GROUP)


def load_station_plugin(name: str) -> StationPlugin:
    """Load the plugin registered as ``name``; raise :class:`StationError` naming what exists."""
    plugin: StationPlugin = load_entry_point(
        ENTRY_POINT_GROUP,
        name,
        kind="station plugin",
        protocol=StationPlugin,
        needs="'description', 'options_model' and 'build(options)'",
    )
    return plugin


def build_station(ref: StationRef) -> Station:
    """Validate the station's options with its plugin and build its devices."""
    plugin = load_station_plugin(ref.plugin)
    try:
        options = plugin.options_model.model_validate(ref.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StationError(
            f"station {ref.plugin!r}: option {where}: {first['msg']}", station=ref.plugin
        ) from None
    return plugin.build(options)


def check_campaign_fits(campaign: CampaignFile) -> list[FieldProblem]:
    """Problems between a campaign and its station: unknown plugin, option, device, reading.

    Builds the station (cheap for simulators) to learn its devices, then closes it. A
    device whose instrument does not answer is no problem of the file: its
    :class:`~genesis_lab.errors.DeviceUnreachableError` is raised (name, address, what to do).
    """
    spec = campaign.spec
    try:
        plugin = load_station_plugin(spec.station.plugin)
    except StationError as exc:
        return [campaign.problem(("station", "plugin"), str(exc))]
    try:
        options = plugin.options_model.model_validate(spec.station.options)
    except ValidationError as exc:
        return [
            campaign.problem(("station", "options", *error["loc"]), _option_message(error))
            for error in exc.errors()
        ]
    try:
        station = plugin.build(options)
    except DeviceUnreachableError:
        raise
    except StationError as exc:  # e.g. a lab file that cannot be read, an unreachable device
        return [campaign.problem(("station", "options"), f"cannot build the station: {exc}")]
    try:
        return _device_problems(campaign, station)
    finally:
        station.close()


def _numeric_span(parameter: Parameter) -> tuple[float, float] | None:
    """The range of numbers a parameter can send to its actuator (None for categories)."""
    if isinstance(parameter, CategoricalParameter):
        return None
    if isinstance(parameter, FixedParameter):
        if isinstance(parameter.value, str):
            return None
        return (float(parameter.value), float(parameter.value))
    return (float(parameter.bounds[0]), float(parameter.bounds[1]))


def _text_values(parameter: Parameter) -> list[str]:
    """The text values a parameter may send to its actuator (a categorical's choices, a
    fixed text value); empty for a numeric parameter."""
    if isinstance(parameter, CategoricalParameter):
        return [str(choice) for choice in parameter.choices]
    if isinstance(parameter, FixedParameter) and isinstance(parameter.value, str):
        return [parameter.value]
    return []


def _setting_problems(parameter: Parameter, station: Station) -> list[tuple[str, str]]:
    """``(field, message)`` for each value of ``parameter`` its actuator cannot take: a
    choice it does not declare, a number beyond its limits."""
    problems: list[tuple[str, str]] = []
    fixed = isinstance(parameter, FixedParameter)
    offered = station.choices(parameter.actuator)
    missing = [v for v in _text_values(parameter) if offered is not None and v not in offered]
    if missing and offered is not None:
        problems.append(
            (
                "value" if fixed else "choices",
                f"{', '.join(map(repr, missing))} not among the choices of "
                f"{parameter.actuator!r}: {', '.join(offered)}",
            )
        )
    limits = station.limits(parameter.actuator)
    span = _numeric_span(parameter)
    if limits is not None and span is not None and (span[0] < limits[0] or span[1] > limits[1]):
        problems.append(
            (
                "value" if fixed else "bounds",
                f"bounds [{span[0]}, {span[1]}] leave the limits of {parameter.actuator!r} "
                f"[{limits[0]}, {limits[1]}]",
            )
        )
    return problems


def _option_message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown option"
    return str(error["msg"]).removeprefix("Value error, ")


def _device_problems(campaign: CampaignFile, station: Station) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    spec = campaign.spec
    actuators = sorted(station.actuators)
    for index, parameter in enumerate(spec.parameters):
        field = "device" if parameter.device else "name"
        if parameter.actuator not in station.actuators:
            problems.append(
                campaign.problem(
                    ("parameters", index, field),
                    f"unknown device {parameter.actuator!r}; station {spec.station.plugin!r} "
                    f"has actuators: {', '.join(actuators)}",
                )
            )
            continue
        for key, message in _setting_problems(parameter, station):
            problems.append(campaign.problem(("parameters", index, key), message))
    readings = station.readings()
    measured: list[tuple[tuple[str | int, ...], str]]
    if spec.objectives is None:
        measured = [(("objective", "reading"), spec.primary_objective.reading)]
    else:
        measured = [
            (("objectives", i, "reading"), o.reading) for i, o in enumerate(spec.objectives)
        ]
    measured += [
        (("outcome_constraints", i, "reading"), c.reading)
        for i, c in enumerate(spec.outcome_constraints)
    ]
    for loc, reading in measured:
        if reading not in readings:
            problems.append(
                campaign.problem(
                    loc,
                    f"unknown reading {reading!r}; station {spec.station.plugin!r} "
                    f"reads: {', '.join(sorted(readings))}",
                )
            )
    return problems
