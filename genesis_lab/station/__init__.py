"""The device contract: stations of Ophyd devices, found as entry-point plugins."""

from genesis_lab.station._contract import (
    Station,
    StationPlugin,
    actuator_limits,
    require_movable,
    require_readable,
)
from genesis_lab.station._plugins import (
    ENTRY_POINT_GROUP,
    available_stations,
    build_station,
    check_campaign_fits,
    load_station_plugin,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Station",
    "StationPlugin",
    "actuator_limits",
    "available_stations",
    "build_station",
    "check_campaign_fits",
    "load_station_plugin",
    "require_movable",
    "require_readable",
]
