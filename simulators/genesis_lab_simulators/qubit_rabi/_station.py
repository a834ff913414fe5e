"""The ``qubit-lab`` station plugin and device drivers: QubitRabiModel as Ophyd devices."""

from __future__ import annotations

from genesis_lab_simulators._domain import DetectorDriver, DomainPlugin, SettingDriver
from genesis_lab_simulators.qubit_rabi._model import QubitRabiModel

__all__ = ["DETECTOR_DRIVER", "PLUGIN", "SETTING_DRIVER"]

DESCRIPTION = (
    "Simulated transmon qubit for X-pulse calibration: settings qubit_rabi_mhz (1-100"
    " MHz), qubit_detuning_mhz (-10..10 MHz), qubit_duration_ns (2-200 ns), "
    "qubit_drag (-1..2); detector 'qubit' reads qubit_excited_population (shots read "
    "excited, binomial noise) and qubit_gate_fidelity; fails (readout_lost) above 75 "
    "MHz or with too much pulse energy."
)

#: The entry point ``qubit-lab`` in the ``genesis_lab.stations`` group.
PLUGIN = DomainPlugin(QubitRabiModel, DESCRIPTION)
#: Device drivers ``qubit-lab-setting`` and ``qubit-lab-detector``.
SETTING_DRIVER = SettingDriver(
    QubitRabiModel, "qubit-lab: one numeric setting of the simulated laboratory"
)
DETECTOR_DRIVER = DetectorDriver(QubitRabiModel, "qubit-lab: the simulated laboratory's detector")
