"""Device drivers found through entry points: how a vendor's package adds an instrument.

A driver is an object registered in the ``genesis_lab.devices`` entry-point group (in the
vendor's own ``pyproject.toml``, ``[project.entry-points."genesis_lab.devices"]``). It
says what it drives (``description``), which connection settings it takes
(``settings_model``, a pydantic model: address, timeouts, ...), and builds one Ophyd device
from validated settings (``build``). A driver that can be exercised without hardware also
offers ``simulator()``: a context manager that starts a simulated instrument (a server on a
free local port, say) and yields the settings that connect the driver to it; the
conformance kit (``genesis-lab devices check``) and the lab's own tests use it.

The contract a built device must meet is written for vendors in ``docs/driver-contract.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from importlib.metadata import EntryPoint
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from genesis_lab.errors import DeviceUnreachableError, GenesisLabError, StationError
from genesis_lab.station._entry_points import installed, load_entry_point

__all__ = [
    "DRIVER_GROUP",
    "DeviceDriver",
    "available_drivers",
    "build_device",
    "load_driver",
]

DRIVER_GROUP = "genesis_lab.devices"


@runtime_checkable
class DeviceDriver(Protocol):
    """What an entry point in the ``genesis_lab.devices`` group must point to.

    Attributes:
        description: one line for ``genesis-lab devices list``: the instrument, its
            transport, what it moves or reads, in which units.
        settings_model: pydantic model of the connection settings ``build`` takes.
        simulator: None, or a callable returning a context manager that starts a simulated
            instrument for this driver and yields the settings (a plain dict, validated
            by ``settings_model``) that reach it; the instrument stops when the block ends.
    """

    description: str
    settings_model: type[BaseModel]
    simulator: Callable[[], AbstractContextManager[dict[str, Any]]] | None

    def build(self, name: str, settings: Any) -> Any:
        """Create and connect one Ophyd device called ``name`` from validated ``settings``
        (an instance of ``settings_model``). Raise an exception naming the address if the
        instrument cannot be reached."""
        ...


def available_drivers() -> dict[str, EntryPoint]:
    """Installed device drivers by name."""
    return installed(DRIVER_GROUP)


def load_driver(name: str) -> DeviceDriver:
    """Load the driver registered as ``name``; raise :class:`StationError` naming what exists."""
    driver: DeviceDriver = load_entry_point(
        DRIVER_GROUP,
        name,
        kind="device driver",
        protocol=DeviceDriver,
        needs="'description', 'settings_model', 'simulator' and 'build(name, settings)'",
    )
    return driver


def build_device(driver_name: str, name: str, settings: Mapping[str, Any]) -> Any:
    """Validate ``settings`` with the named driver and build the device ``name``.

    Raises :class:`StationError` for an unknown driver or settings the driver refuses (the
    message names each bad setting), or a device the driver failed to build on purpose
    (one of its own errors); :class:`DeviceUnreachableError` if the instrument did not
    answer (the driver raised ``ConnectionError``, ``TimeoutError`` or another ``OSError``).
    """
    driver = load_driver(driver_name)
    try:
        validated = driver.settings_model.model_validate(dict(settings))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise StationError(
            f"device {name!r}: bad settings for driver {driver_name!r}: {problems}",
            station=driver_name,
        ) from None
    try:
        return driver.build(name, validated)
    except OSError as exc:  # ConnectionError, TimeoutError, a socket's error
        address = settings.get("address")
        where = (
            f"is on and listens at {address}, or correct its address"
            if address is not None
            else "is on and connected, or correct its settings"
        )
        raise DeviceUnreachableError(
            f"device {name!r} (driver {driver_name!r}) cannot be reached: {exc}. Check that "
            f"the instrument {where} in the lab file",
            device=name,
            driver=driver_name,
            address=None if address is None else str(address),
        ) from exc
    except GenesisLabError as exc:
        raise StationError(
            f"device {name!r} (driver {driver_name!r}): {exc}", station=driver_name
        ) from exc
