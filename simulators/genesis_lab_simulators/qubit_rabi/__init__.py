"""A simulated single-qubit gate calibration: tuning a transmon's X (pi) pulse.

:class:`QubitRabiModel` is the physical model (a :class:`~simulators._domain.DomainModel`):
drive Rabi frequency, detuning, pulse length and DRAG coefficient in; the fraction of shots
read as excited (binomial shot noise, readout assignment errors) and the pulse's average
gate fidelity out. It combines the Rabi formula with detuning and the drive's AC Stark
shift, T1/T2 decay during the pulse, DRAG-suppressed leakage to the second excited state,
and fails with mode ``"readout_lost"`` when the drive is too strong or carries too much
energy. ``OPTIMUM_SETTINGS``/``OPTIMUM_READINGS`` (best population) and
``BEST_FIDELITY_SETTINGS``/``BEST_FIDELITY_READINGS`` are the computed optima (see
``_model``).
"""

from __future__ import annotations

from genesis_lab_simulators.qubit_rabi._model import (
    BEST_FIDELITY_READINGS,
    BEST_FIDELITY_SETTINGS,
    OPTIMUM_READINGS,
    OPTIMUM_SETTINGS,
    READOUT_LOST_ENERGY_MHZ2_NS,
    READOUT_LOST_RABI_MHZ,
    QubitRabiModel,
)
from genesis_lab_simulators.qubit_rabi._station import DETECTOR_DRIVER, PLUGIN, SETTING_DRIVER

__all__ = [
    "BEST_FIDELITY_READINGS",
    "BEST_FIDELITY_SETTINGS",
    "DETECTOR_DRIVER",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PLUGIN",
    "READOUT_LOST_ENERGY_MHZ2_NS",
    "READOUT_LOST_RABI_MHZ",
    "SETTING_DRIVER",
    "QubitRabiModel",
]
