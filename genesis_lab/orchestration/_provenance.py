"""What a record must say about the software that made it."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, distributions, version

from genesis_lab.messaging import (
    TransportSecurity,
    broker_identity,
    current_actor,
    process_identity,
)

__all__ = [
    "RECORDED_PACKAGES",
    "broker_identity",
    "campaign_actor",
    "current_actor",
    "package_versions",
]

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
    """The software that made a record: Python, the platform, the packages that decide a
    campaign's results (``RECORDED_PACKAGES``) first, then every other installed
    distribution by name, each at its installed version."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    others = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in versions:
            others[name.lower()] = dist.version
    versions.update(sorted(others.items()))
    return versions


def campaign_actor(security: TransportSecurity | None) -> str:
    """Who runs the campaign, for its record: the broker identity with ``user@host``
    beside it (``orchestrator (ada@lab-pc)``), or ``user@host`` alone."""
    return process_identity(security)
