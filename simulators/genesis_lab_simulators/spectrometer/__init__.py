"""A simulated spectrometer speaking SCPI over TCP: one spectrum per acquisition.

``INIT`` starts an acquisition of ``exposure`` seconds (simulated); ``ACQ?`` says
``BUSY`` until it is done, then ``DONE``; ``FETC:SPEC?`` returns the spectrum (counts,
comma-separated, one per wavelength of ``FETC:WAV?``, nm). The spectrum is a Gaussian
emission line at ``peak_nm`` (``peak_width_nm`` FWHM) of ``peak_counts_per_s`` times the
exposure, on a baseline, with shot noise, clipped at ``SATURATION`` counts. Refusals:
``INIT`` while busy (``-221``), ``FETC:SPEC?`` before any acquisition is done (``-230``).
Faults: ``drift_nm_per_h`` moves the line (simulated hours); ``stuck_rate`` /
``stuck_at`` (acquisition numbers from 1): the readout sticks and ``ACQ?`` says ``BUSY``
until ``ABOR`` (the driver's Status times out); ``refuse_rate`` /
``refuse_at``: ``INIT`` is refused with ``-240,"Hardware error; detector cooler fault"``.

Commands: ``CONF:EXP <s>``, ``CONF:EXP? [MIN|MAX]``, ``INIT``, ``ACQ?``, ``FETC:SPEC?``,
``FETC:WAV?``, ``ABOR``. Driver: ``genesis_lab_devices.spectrometer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from genesis_lab_simulators._options import RunningSimulator, SimulatorOptions
from genesis_lab_simulators._scpi import (
    DATA_OUT_OF_RANGE,
    SETTINGS_CONFLICT,
    CommandError,
    ScpiInstrument,
    number_arg,
)
from genesis_lab_simulators._scpi_limits import limit_query

__all__ = [
    "EXPOSURE_LIMITS_S",
    "SATURATION",
    "SpectrometerInstrument",
    "SpectrometerSimulatorOptions",
    "start_spectrometer",
]

EXPOSURE_LIMITS_S = (0.001, 10.0)
SATURATION = 65535.0
DATA_CORRUPT_OR_STALE = -230


class SpectrometerInstrument(ScpiInstrument):
    """The spectrometer (see the module docstring)."""

    idn = "genesis-lab,SPX-256 spectrometer (simulated),SN0004,1.0"
    refusals = MappingProxyType({"INIT": "detector cooler fault"})

    def __init__(
        self,
        *,
        points: int = 256,
        range_nm: tuple[float, float] = (400.0, 700.0),
        peak_nm: float = 532.0,
        peak_width_nm: float = 12.0,
        peak_counts_per_s: float = 200000.0,
        baseline_counts: float = 100.0,
        exposure_s: float = 0.1,
        drift_nm_per_h: float = 0.0,
        stuck_rate: float = 0.0,
        stuck_at: Sequence[int] = (),
        time_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(time_scale=time_scale)
        self.wavelengths: NDArray[np.float64] = np.linspace(*range_nm, points)
        self.peak_nm = peak_nm
        self.peak_width_nm = peak_width_nm
        self.peak_counts_per_s = peak_counts_per_s
        self.baseline_counts = baseline_counts
        self.exposure_s = exposure_s
        self.drift_nm_per_h = drift_nm_per_h
        self.stuck_rate = stuck_rate
        self.stuck_at = tuple(stuck_at)
        self._stuck = False
        self._rng = np.random.default_rng(seed)
        self._stuck_rng = np.random.default_rng([seed, 1])
        self._started: float | None = None
        self._exposure_of_run = exposure_s
        self._spectrum: NDArray[np.float64] | None = None
        self.acquisitions = 0
        self.register("CONF:EXP", self._set_exposure)
        self.register("CONF:EXP?", lambda a: limit_query(a, self.exposure_s, EXPOSURE_LIMITS_S))
        self.register("INIT", lambda a: self._init())
        self.register("ACQ?", lambda a: self.state())
        self.register("FETC:SPEC?", lambda a: self._fetch())
        self.register("FETC:WAV?", lambda a: ",".join(f"{w:.4f}" for w in self.wavelengths))
        self.register("ABOR", lambda a: self._abort())

    def line_nm(self) -> float:
        """Where the emission line is now (nm), drift included."""
        return self.peak_nm + self.drift_nm_per_h * self.now() / 3600.0

    def spectrum(self, exposure_s: float) -> NDArray[np.float64]:
        """One noisy spectrum (counts) of ``exposure_s`` seconds."""
        sigma = self.peak_width_nm / 2.3548
        line = np.exp(-0.5 * ((self.wavelengths - self.line_nm()) / sigma) ** 2)
        mean = self.baseline_counts + self.peak_counts_per_s * exposure_s * line
        counts = self._rng.poisson(mean).astype(np.float64)
        return np.minimum(counts, SATURATION)

    def state(self) -> str:
        with self.lock:
            if self._started is None:
                return "DONE" if self._spectrum is not None else "IDLE"
            if self._stuck:
                return "BUSY"
            if self.now() - self._started >= self._exposure_of_run:
                self._spectrum = self.spectrum(self._exposure_of_run)
                self._started = None
                return "DONE"
            return "BUSY"

    def _set_exposure(self, args: Sequence[str]) -> None:
        value = number_arg(args, name="exposure")
        low, high = EXPOSURE_LIMITS_S
        if not low <= value <= high:
            raise CommandError(DATA_OUT_OF_RANGE, f"Data out of range; {value} s")
        self.exposure_s = value

    def _init(self) -> None:
        if self.state() == "BUSY":
            raise CommandError(SETTINGS_CONFLICT, "Settings conflict; acquisition in progress")
        self._spectrum = None
        self._started = self.now()
        self._exposure_of_run = self.exposure_s
        self.acquisitions += 1
        self._stuck = self.acquisitions in self.stuck_at or (
            self.stuck_rate > 0 and bool(self._stuck_rng.random() < self.stuck_rate)
        )

    def _fetch(self) -> str:
        if self.state() != "DONE" or self._spectrum is None:
            raise CommandError(DATA_CORRUPT_OR_STALE, "Data stale; no finished acquisition")
        return ",".join(f"{c:.0f}" for c in self._spectrum)

    def _abort(self) -> None:
        self._started = None
        self._stuck = False


class SpectrometerSimulatorOptions(SimulatorOptions):
    """Options of the simulated spectrometer."""

    points: int = Field(default=256, ge=8, le=4096, description="Pixels (wavelengths).")
    peak_nm: float = Field(default=532.0, description="Emission line (nm).")
    peak_width_nm: float = Field(default=12.0, gt=0.0, description="Line FWHM (nm).")
    peak_counts_per_s: float = Field(default=200000.0, ge=0.0, description="Line height.")
    drift_nm_per_h: float = Field(default=0.0, description="Line drift (nm per hour).")
    stuck_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Probability per acquisition that the readout sticks (never done).",
    )
    stuck_at: list[int] = Field(
        default_factory=list, description="Acquisitions (from 1) whose readout sticks."
    )


def start_spectrometer(
    options: SpectrometerSimulatorOptions | None = None,
) -> RunningSimulator[SpectrometerInstrument]:
    """Serve a simulated spectrometer on a free port of 127.0.0.1."""
    o = options or SpectrometerSimulatorOptions()
    instrument = SpectrometerInstrument(
        points=o.points,
        peak_nm=o.peak_nm,
        peak_width_nm=o.peak_width_nm,
        peak_counts_per_s=o.peak_counts_per_s,
        drift_nm_per_h=o.drift_nm_per_h,
        stuck_rate=o.stuck_rate,
        stuck_at=o.stuck_at,
        time_scale=o.time_scale,
        seed=o.seed,
    )
    return RunningSimulator(instrument, o, name="spectrometer")
