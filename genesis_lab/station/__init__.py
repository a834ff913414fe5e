"""The device contract: stations of Ophyd devices, and the drivers and station plugins
found as entry points."""

from genesis_lab.station._contract import (
    Envelope,
    Station,
    StationPlugin,
    actuator_limits,
    require_movable,
    require_readable,
)
from genesis_lab.station._drivers import (
    DRIVER_GROUP,
    DeviceDriver,
    available_drivers,
    build_device,
    load_driver,
)
from genesis_lab.station._lab import LAB_PLUGIN, LabOptions, station_from_lab
from genesis_lab.station._plugins import (
    ENTRY_POINT_GROUP,
    available_stations,
    build_station,
    check_campaign_fits,
    load_station_plugin,
)

__all__ = [
    "DRIVER_GROUP",
    "ENTRY_POINT_GROUP",
    "LAB_PLUGIN",
    "DeviceDriver",
    "Envelope",
    "LabOptions",
    "Station",
    "StationPlugin",
    "actuator_limits",
    "available_drivers",
    "available_stations",
    "build_device",
    "build_station",
    "check_campaign_fits",
    "load_driver",
    "load_station_plugin",
    "require_movable",
    "require_readable",
    "station_from_lab",
]
