"""Every installed device driver passes the conformance kit against its simulator.

Parametrised by the kit's pytest plugin over ``available_drivers()`` (every entry point in
``genesis_lab.devices``), so a new driver is covered without touching this file; a check
that does not apply to a driver is skipped with the reason.
"""

from __future__ import annotations

import pytest

from genesis_lab.conformance import Outcome, run_conformance
from genesis_lab.station import available_drivers

REPO_DRIVERS = {
    "colour-bench-pump",
    "colour-bench-spectrophotometer",
    "colour-bench-solvent-selector",
}


def test_installed_driver_conforms(genesis_conformance_case):
    genesis_conformance_case.assert_conforms()


def test_the_colour_bench_devices_are_installed_as_drivers():
    assert set(available_drivers()) >= REPO_DRIVERS


def test_a_real_instrument_gets_no_fault_or_disconnect_checks():
    report = run_conformance("colour-bench-pump", {"timeout_s": 2.0})
    outcomes = {result.check: result.outcome for result in report}
    assert report.passed and not report.simulated
    assert outcomes["set-completes"] is Outcome.PASS
    for check in ("timeout", "fault", "disconnect"):
        assert outcomes[check] is Outcome.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        ("scpi-furnace", {"timeout": Outcome.PASS, "fault": Outcome.PASS}),
        ("scpi-syringe-pump", {"timeout": Outcome.PASS, "fault": Outcome.PASS}),
        ("scpi-robot-arm", {"timeout": Outcome.PASS, "fault": Outcome.PASS}),
        ("scpi-spectrometer", {"timeout": Outcome.PASS, "fault": Outcome.PASS}),
        # one query answered at once: nothing on the instrument can hang
        ("scpi-film-probe", {"timeout": Outcome.NOT_APPLICABLE, "fault": Outcome.PASS}),
    ],
)
def test_the_scpi_reference_drivers_offer_simulated_faults(
    driver: str, expected: dict[str, Outcome]
) -> None:
    report = run_conformance(driver, only=["timeout", "fault"])
    assert {result.check: result.outcome for result in report} == expected, report


@pytest.mark.parametrize(
    ("driver", "settings"),
    [
        ("colour-bench-pump", {"cuvette": "conformance", "dye": "cyan"}),
        ("colour-bench-solvent-selector", {"cuvette": "conformance"}),
        ("colour-bench-spectrophotometer", {"cuvette": "conformance"}),
    ],
)
def test_the_colour_bench_drivers_conform_on_a_shared_cuvette(
    driver: str, settings: dict[str, str]
) -> None:
    # every check builds a fresh device and closes it: a pump that did not leave the
    # cuvette on close() would block the next one
    report = run_conformance(driver, settings)
    assert report.passed, report
