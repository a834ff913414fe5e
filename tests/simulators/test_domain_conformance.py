"""Every simulated laboratory offers its setting and its detector as device drivers.

The conformance kit itself runs on every installed driver, these included, in
``tests/conformance/test_installed_drivers.py``.
"""

from __future__ import annotations

from genesis_lab.station import available_drivers, available_stations

DOMAIN_DRIVERS = sorted(
    name
    for name, entry in available_drivers().items()
    if entry.value.endswith((":SETTING_DRIVER", ":DETECTOR_DRIVER"))
)


def test_every_domain_offers_a_setting_and_a_detector_driver() -> None:
    stations = {name.rsplit("-", 1)[0] for name in DOMAIN_DRIVERS}
    assert len(stations) == 7, DOMAIN_DRIVERS
    assert stations <= set(available_stations())
    for station in stations:
        assert {f"{station}-setting", f"{station}-detector"} <= set(DOMAIN_DRIVERS)
