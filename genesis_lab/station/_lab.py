"""The built-in ``lab`` station plugin: a station declared in a lab file.

Options ``{file: PATH, station: ID}``: the lab file (YAML, see
:mod:`genesis_lab.spec._lab`) and the id of one of its stations. Every device is built by
its driver (``genesis_lab.devices`` entry points) from its settings; the station carries
the lab file's envelope (limits, max_step, tolerance per actuator; interlocks; the hourly
cap; the move timeout), which the worker enforces before anything moves. A campaign uses
it as ``station: {plugin: lab, id: ID, options: {file: labs/demo.yaml, station: ID}}``; a
worker as ``genesis-lab worker --station lab --id ID -o file=labs/demo.yaml -o station=ID``.
"""

from __future__ import annotations

from typing import Any

from bluesky.protocols import Movable
from pydantic import BaseModel, ConfigDict, Field

from genesis_lab.errors import CampaignFileError, StationError
from genesis_lab.spec import LabDevice, LabStation, load_lab
from genesis_lab.station._contract import Envelope, Station, actuator_limits
from genesis_lab.station._drivers import build_device

__all__ = ["LAB_PLUGIN", "LabOptions", "LabStationPlugin", "station_from_lab"]


class LabOptions(BaseModel):
    """Options of the ``lab`` station plugin."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(min_length=1, description="Lab file (YAML), relative to the working dir.")
    station: str = Field(min_length=1, description="Id of the station in the lab file.")


def station_from_lab(lab_station: LabStation) -> Station:
    """Build the devices of ``lab_station`` through their drivers, with its envelope.

    Raises :class:`StationError` naming the device that could not be built; the devices
    built before it are closed again.
    """
    built: list[Any] = []
    try:
        devices = []
        for entry in lab_station.devices:
            device = build_device(entry.driver, entry.name, entry.settings)
            built.append(device)
            devices.append((entry, device))
        return _assemble(lab_station, devices, built)
    except BaseException:
        _close_all(built)
        raise


def _assemble(
    lab_station: LabStation, devices: list[tuple[LabDevice, Any]], built: list[Any]
) -> Station:
    actuators: dict[str, Any] = {}
    detectors: list[Any] = []
    units: dict[str, str] = {}
    limits: dict[str, tuple[float, float]] = {}
    max_step: dict[str, float] = {}
    tolerance: dict[str, float] = {}
    for entry, device in devices:
        role = entry.role or ("actuator" if isinstance(device, Movable) else "detector")
        if role == "detector":
            detectors.append(device)
            continue
        actuators[entry.name] = device
        envelope = entry.envelope
        if envelope is None:
            continue
        if envelope.units:
            units[entry.name] = envelope.units
        if envelope.limits is not None:
            own = actuator_limits(device)
            if own is not None and (envelope.limits[0] > own[1] or envelope.limits[1] < own[0]):
                raise StationError(
                    f"station {lab_station.id!r}: device {entry.name!r}: envelope limits "
                    f"{list(envelope.limits)} do not overlap the device's own {list(own)}",
                    station=lab_station.id,
                )
            limits[entry.name] = envelope.limits
        if envelope.max_step is not None:
            max_step[entry.name] = envelope.max_step
        if envelope.tolerance is not None:
            tolerance[entry.name] = envelope.tolerance
    return Station(
        actuators=actuators,
        detectors=detectors,
        units=units,
        close=lambda: _close_all(built),
        envelope=Envelope(
            limits=limits,
            max_step=max_step,
            tolerance=tolerance,
            interlocks=tuple(lab_station.interlocks),
            max_experiments_per_hour=lab_station.max_experiments_per_hour,
            move_timeout_s=lab_station.move_timeout_s,
        ),
    )


def _close_all(devices: list[Any]) -> None:
    for device in reversed(devices):
        close = getattr(device, "close", None) or getattr(device, "destroy", None)
        if callable(close):
            close()


class LabStationPlugin:
    """Builds the station ``options.station`` of the lab file ``options.file``."""

    description = (
        "A station declared in a lab file (options: file, station): devices built by their "
        "drivers (genesis_lab.devices), with the lab file's safety envelope."
    )
    options_model: type[BaseModel] = LabOptions

    def build(self, options: Any) -> Station:
        """Read the lab file and build the named station's devices."""
        settings = LabOptions.model_validate(options)
        try:
            lab = load_lab(settings.file)
        except CampaignFileError as exc:
            raise StationError(f"lab file {exc}", station=settings.station) from None
        try:
            lab_station = lab.spec.station(settings.station)
        except KeyError as exc:
            raise StationError(str(exc.args[0]), station=settings.station) from None
        return station_from_lab(lab_station)


#: The entry point ``lab`` in the ``genesis_lab.stations`` group.
LAB_PLUGIN = LabStationPlugin()
