"""The ``penicillin-fermenter`` station plugin and device drivers (PenicillinModel)."""

from __future__ import annotations

from genesis_lab_simulators._domain import DetectorDriver, DomainPlugin, SettingDriver
from genesis_lab_simulators.penicillin._model import PenicillinModel

__all__ = ["DETECTOR_DRIVER", "PLUGIN", "SETTING_DRIVER"]

DESCRIPTION = (
    "Simulated fed-batch penicillin fermentation (Liang and Lai 2021, as BoTorch's "
    "Penicillin): settings penicillin_culture_volume (60-120 L), "
    "penicillin_biomass_concentration (0.05-18 g/L), penicillin_temperature (293-303 "
    "K), penicillin_glucose_concentration (0.05-18 g/L), "
    "penicillin_substrate_feed_rate (0.01-0.5 L/h), "
    "penicillin_substrate_feed_concentration (500-700 g/L), "
    "penicillin_h_ion_concentration (5-6.5); detector 'penicillin' reads "
    "penicillin_titer (g/L), penicillin_co2 (mmol/L) and penicillin_batch_time (h); "
    "fails when the culture dies or the batch overruns."
)

#: The entry point ``penicillin-fermenter`` in the ``genesis_lab.stations`` group.
PLUGIN = DomainPlugin(PenicillinModel, DESCRIPTION)
#: Device drivers ``penicillin-fermenter-setting`` and ``penicillin-fermenter-detector``.
SETTING_DRIVER = SettingDriver(
    PenicillinModel, "penicillin-fermenter: one numeric setting of the simulated laboratory"
)
DETECTOR_DRIVER = DetectorDriver(
    PenicillinModel, "penicillin-fermenter: the simulated laboratory's detector"
)
