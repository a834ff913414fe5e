"""The ``scpi-spectrometer`` driver: a spectrometer over SCPI (pyvisa) returning a spectrum.

:class:`Spectrometer` is ``Triggerable`` and ``Readable``: ``trigger()`` starts an
acquisition (``INIT``), polls ``ACQ?`` in a thread until ``DONE`` (at least the exposure
time: acquisition takes real time), fetches the spectrum and derives from it the peak
wavelength and intensity. Its Status fails with the instrument's reason (a refusal, a lost
link) or :class:`~devices._errors.InstrumentTimeoutError` after the exposure plus
``acquire_timeout_s``. Readings: ``NAME_spectrum`` (counts, ``dtype: array``,
``shape: [points]``; the event carries the list), ``NAME_peak_wavelength`` (nm) and
``NAME_peak_intensity`` (counts), both hinted. Configuration: ``NAME_exposure``
(s, itself ``Movable``) and ``NAME_wavelengths`` (nm, the pixel grid).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import DeviceStatus, Kind
from pydantic import BaseModel, Field

from genesis_lab_devices._base import ConnectionSettings, Simulator, build_connected, fault
from genesis_lab_devices._device import ScpiDevice
from genesis_lab_devices._errors import InstrumentTimeoutError
from genesis_lab_devices._poller import fail_status
from genesis_lab_devices._signals import ScpiSetting, UnitSignal
from genesis_lab_devices._visa import VisaSession

__all__ = [
    "SPECTROMETER_DRIVER",
    "Spectrometer",
    "SpectrometerDriver",
    "SpectrometerSettings",
    "spectrometer_simulator",
]


def _floats(reply: str) -> list[float]:
    return [float(v) for v in reply.split(",") if v.strip()]


class Spectrometer(ScpiDevice):
    """A spectrometer (see the module docstring)."""

    spectrum = Cpt(UnitSignal, value=[], units="counts", dtype="array", kind="normal")
    peak_wavelength = Cpt(UnitSignal, value=math.nan, units="nm", kind=Kind.hinted)
    peak_intensity = Cpt(UnitSignal, value=math.nan, units="counts", kind=Kind.hinted)
    exposure = Cpt(ScpiSetting, query="CONF:EXP?", command="CONF:EXP", units="s", kind="config")
    wavelengths = Cpt(UnitSignal, value=[], units="nm", dtype="array", kind="config")

    def __init__(
        self,
        *,
        name: str,
        session: VisaSession,
        acquire_timeout_s: float = 5.0,
        poll_s: float = 0.01,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, session=session, **kwargs)
        self.acquire_timeout_s = float(acquire_timeout_s)
        self.poll_s = float(poll_s)

    def connect(self) -> None:
        """Reach the instrument, learn its wavelength grid and exposure limits."""
        self.idn = self.session.open()
        grid = _floats(self.session.query("FETC:WAV?"))
        self.wavelengths.put(grid)
        for signal in (self.spectrum, self.wavelengths):
            signal._shape = [len(grid)]
        _ = self.exposure.limits

    def trigger(self) -> DeviceStatus:
        """Acquire one spectrum (see the module docstring)."""
        status = DeviceStatus(self)
        try:
            exposure_s = float(self.exposure.get())
            self.session.write_checked("INIT")
        except Exception as exc:
            fail_status(status, exc)
            return status
        grid = np.asarray(self.wavelengths.get(), dtype=np.float64)

        def acquired() -> bool:
            if self.session.query("ACQ?").upper() != "DONE":
                return False
            counts = _floats(self.session.query("FETC:SPEC?"))
            peak = int(np.argmax(counts))
            self.spectrum.put(counts)
            self.peak_wavelength.put(float(grid[peak]))
            self.peak_intensity.put(float(counts[peak]))
            return True

        limit = exposure_s + self.acquire_timeout_s

        def timed_out() -> InstrumentTimeoutError:
            return InstrumentTimeoutError(
                f"{self.name}: no spectrum within {limit:g} s from {self.session.address}",
                device=self.name,
                address=self.session.address,
            )

        self._poller.watch(
            status, acquired, timeout_s=limit, poll_s=self.poll_s, on_timeout=timed_out
        )
        return status

    def describe(self) -> dict[str, dict[str, Any]]:
        description: dict[str, dict[str, Any]] = super().describe()
        description[self.spectrum.name]["dtype_numpy"] = "<f8"
        for entry in description.values():
            entry["source"] = f"SCPI:{self.session.address}:FETC:SPEC?"
        return description


class SpectrometerSettings(ConnectionSettings):
    """Settings of the ``scpi-spectrometer`` driver."""

    acquire_timeout_s: float = Field(
        default=5.0, gt=0.0, description="Allowed beyond the exposure time before failing (s)."
    )


@contextmanager
def spectrometer_simulator(
    settings: Mapping[str, Any] | None = None, **options: Any
) -> Iterator[dict[str, Any]]:
    """Start a simulated spectrometer (real time; ``options``: see
    ``genesis_lab_simulators.spectrometer.SpectrometerSimulatorOptions``); yield settings that reach
    it, updated with ``settings``."""
    from genesis_lab_simulators.spectrometer import SpectrometerSimulatorOptions, start_spectrometer

    with start_spectrometer(SpectrometerSimulatorOptions(**options)) as sim:
        yield {"address": sim.address, **(settings or {})}


class SpectrometerDriver:
    """Builds a :class:`Spectrometer`."""

    description = (
        "Spectrometer over SCPI (pyvisa): Triggerable, acquires for its exposure time (s); "
        "reads the spectrum (counts, array) and its peak wavelength (nm) and intensity"
    )
    settings_model: type[BaseModel] = SpectrometerSettings

    def __init__(self) -> None:
        short = {"acquire_timeout_s": 0.5}
        self.simulator_faults: dict[str, Simulator] = {
            # the readout sticks: ACQ? says BUSY for ever
            "hang": fault(spectrometer_simulator, short, stuck_rate=1.0),
            # INIT is refused: -240 detector cooler fault
            "error": fault(spectrometer_simulator, short, refuse_rate=1.0),
        }

    def simulator(self) -> Any:
        return spectrometer_simulator()

    def build(self, name: str, settings: Any) -> Spectrometer:
        s = SpectrometerSettings.model_validate(settings)
        return build_connected(
            lambda session: Spectrometer(
                name=name, session=session, acquire_timeout_s=s.acquire_timeout_s
            ),
            s,
            name,
        )


#: Entry point ``scpi-spectrometer``.
SPECTROMETER_DRIVER = SpectrometerDriver()
