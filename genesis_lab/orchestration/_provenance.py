"""What a record must say about the software that made it."""

from __future__ import annotations

import getpass
import platform
import socket
from importlib.metadata import PackageNotFoundError, version

__all__ = ["RECORDED_PACKAGES", "current_actor", "package_versions"]

RECORDED_PACKAGES = (
    "genesis-lab",
    "torch",
    "botorch",
    "gpytorch",
    "bluesky",
    "ophyd",
    "event-model",
    "pydantic",
    "paho-mqtt",
    "amqtt",
    "numpy",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that decide a campaign's results, and Python's."""
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def current_actor() -> str:
    """Who is running this process, for the record: ``user@host``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
