"""The SCPI spectrometer driver: spectra as array data in the event documents."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import bluesky.plans as bp
import pytest
from bluesky import RunEngine
from bluesky.protocols import Readable, Triggerable

from genesis_lab.station import build_device, load_driver
from genesis_lab_devices._errors import InstrumentRefusedError, InstrumentTimeoutError
from genesis_lab_devices.spectrometer import SPECTROMETER_DRIVER, Spectrometer
from genesis_lab_simulators.spectrometer import SpectrometerSimulatorOptions, start_spectrometer


@pytest.fixture
def spectro() -> Iterator[Spectrometer]:
    with start_spectrometer(SpectrometerSimulatorOptions(points=128, peak_nm=532.0)) as sim:
        device = SPECTROMETER_DRIVER.build("spec", {"address": sim.address})
        device.sim = sim  # type: ignore[attr-defined]
        yield device
        device.close()


def test_describe_has_an_array_spectrum_and_scalar_peaks(spectro: Spectrometer) -> None:
    assert isinstance(spectro, Triggerable) and isinstance(spectro, Readable)
    description = spectro.describe()
    assert set(description) == set(spectro.read())
    assert description["spec_spectrum"]["dtype"] == "array"
    assert description["spec_spectrum"]["shape"] == [128]
    assert description["spec_peak_wavelength"]["units"] == "nm"
    assert description["spec_peak_intensity"]["units"] == "counts"
    assert spectro.exposure.limits == (0.001, 10.0)


def test_an_acquisition_takes_its_exposure_and_finds_the_line(spectro: Spectrometer) -> None:
    spectro.exposure.set(0.2).wait(5)
    status = spectro.trigger()
    assert not status.done  # acquisition takes real time
    status.wait(timeout=10)
    reading = spectro.read()
    assert len(reading["spec_spectrum"]["value"]) == 128
    assert reading["spec_peak_wavelength"]["value"] == pytest.approx(532.0, abs=3.0)
    assert reading["spec_peak_intensity"]["value"] > 10000


def test_a_lost_reply_fails_the_acquisition_not_the_caller() -> None:
    options = SpectrometerSimulatorOptions(mute_rate=1.0)
    with start_spectrometer(SpectrometerSimulatorOptions(points=64)) as sim:
        spectro = SPECTROMETER_DRIVER.build(
            "spec", {"address": sim.address, "timeout_s": 0.2, "retries": 0}
        )
        try:
            sim.server.faults = type(sim.server.faults)(mute_rate=options.mute_rate)
            status = spectro.trigger()
            with pytest.raises(InstrumentTimeoutError, match=sim.address.replace(":", ".")):
                status.wait(timeout=10)
        finally:
            spectro.close()


def test_the_spectrum_is_array_data_in_valid_event_documents(
    run_engine: RunEngine, spectro: Spectrometer, documents: Any
) -> None:
    run_engine(bp.count([spectro], num=2), documents)
    run_engine(bp.scan([spectro], spectro.exposure, 0.01, 0.05, 2), documents)
    run_engine(bp.list_scan([spectro], spectro.exposure, [0.02, 0.04]), documents)
    documents.validate()
    descriptor = documents.of("descriptor")[0]
    assert descriptor["data_keys"]["spec_spectrum"]["shape"] == [128]
    assert descriptor["data_keys"]["spec_spectrum"]["dtype"] == "array"
    events = documents.of("event")
    assert len(events) == 6
    for event in events:
        spectrum = event["data"]["spec_spectrum"]
        assert isinstance(spectrum, list) and len(spectrum) == 128
        assert event["data"]["spec_peak_intensity"] == max(spectrum)


def test_the_driver_is_an_entry_point_with_a_standalone_simulator() -> None:
    driver = load_driver("scpi-spectrometer")
    assert driver.simulator is not None
    with driver.simulator() as settings:
        device = build_device("scpi-spectrometer", "spec", settings)
        try:
            device.trigger().wait(timeout=10)
        finally:
            device.close()


def test_a_stuck_readout_fails_the_acquisition_with_a_timeout_and_abor_frees_it() -> None:
    with start_spectrometer(SpectrometerSimulatorOptions(points=64, stuck_at=[1])) as sim:
        spectro = SPECTROMETER_DRIVER.build(
            "spec", {"address": sim.address, "acquire_timeout_s": 0.3}
        )
        try:
            with pytest.raises(InstrumentTimeoutError, match="spec: no spectrum within"):
                spectro.trigger().wait(timeout=10)
            deadline = time.monotonic() + 5.0  # Ophyd stops the device after the failure
            while "ABOR" not in sim.command_log and time.monotonic() < deadline:
                time.sleep(0.01)
            assert "ABOR" in sim.command_log
            spectro.trigger().wait(timeout=10)  # the fault struck one acquisition
            assert len(spectro.read()["spec_spectrum"]["value"]) == 64
        finally:
            spectro.close()


def test_a_refused_acquisition_fails_with_the_instruments_reason() -> None:
    with start_spectrometer(SpectrometerSimulatorOptions(points=64, refuse_at=[1])) as sim:
        spectro = SPECTROMETER_DRIVER.build("spec", {"address": sim.address})
        try:
            with pytest.raises(InstrumentRefusedError, match="-240 Hardware error; detector"):
                spectro.trigger().wait(timeout=10)
            spectro.trigger().wait(timeout=10)  # refuse_at counts actions: only the first
            assert sim.instrument.actions == 2
        finally:
            spectro.close()
