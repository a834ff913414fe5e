"""A spectrometer driven by SCPI over TCP, returning spectra (entry point ``scpi-spectrometer``)."""

from __future__ import annotations

from genesis_lab_devices.spectrometer._spectrometer import (
    SPECTROMETER_DRIVER,
    Spectrometer,
    SpectrometerDriver,
    SpectrometerSettings,
    spectrometer_simulator,
)

__all__ = [
    "SPECTROMETER_DRIVER",
    "Spectrometer",
    "SpectrometerDriver",
    "SpectrometerSettings",
    "spectrometer_simulator",
]
