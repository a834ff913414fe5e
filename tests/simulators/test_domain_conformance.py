"""Every simulated laboratory's setting and detector pass the driver conformance kit."""

from __future__ import annotations

import pytest

from genesis_lab.conformance import Outcome, run_conformance
from genesis_lab.station import available_drivers

DOMAIN_DRIVERS = sorted(
    name
    for name, entry in available_drivers().items()
    if entry.value.endswith((":SETTING_DRIVER", ":DETECTOR_DRIVER"))
)


def test_every_domain_offers_a_setting_and_a_detector_driver() -> None:
    stations = {name.rsplit("-", 1)[0] for name in DOMAIN_DRIVERS}
    assert len(stations) >= 5, DOMAIN_DRIVERS
    for station in stations:
        assert {f"{station}-setting", f"{station}-detector"} <= set(DOMAIN_DRIVERS)


@pytest.mark.parametrize("driver", DOMAIN_DRIVERS)
def test_domain_driver_passes_the_conformance_kit(driver: str) -> None:
    report = run_conformance(driver)
    failed = [r for r in report.results if r.outcome is Outcome.FAIL]
    assert not failed, failed
    passed = {r.check for r in report.results if r.outcome is Outcome.PASS}
    assert {"build", "protocols", "describe-read", "metadata", "count"} <= passed
