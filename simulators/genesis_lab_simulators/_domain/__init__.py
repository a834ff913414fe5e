"""Simulated laboratories built from published physical models (issue 6).

:class:`DomainModel` is the contract each domain's model implements (pure computation);
the station plugin and Ophyd devices that serve any model come from :mod:`._devices`.
"""

from genesis_lab_simulators._domain._devices import (
    ChoiceSetting,
    DomainOptions,
    DomainPlugin,
    ModelDetector,
    NumericSetting,
)
from genesis_lab_simulators._domain._drivers import DetectorDriver, SettingDriver
from genesis_lab_simulators._domain._model import (
    DomainModel,
    ExperimentFailed,
    Reading,
    Setting,
    SettingValue,
)
from genesis_lab_simulators._domain._offline import OfflineTrial, run_offline_campaign
from genesis_lab_simulators._domain._scoring import (
    campaign_model,
    campaign_score,
    noise_free_outcomes,
)

__all__ = [
    "ChoiceSetting",
    "DetectorDriver",
    "DomainModel",
    "DomainOptions",
    "DomainPlugin",
    "ExperimentFailed",
    "ModelDetector",
    "NumericSetting",
    "OfflineTrial",
    "Reading",
    "Setting",
    "SettingDriver",
    "SettingValue",
    "campaign_model",
    "campaign_score",
    "noise_free_outcomes",
    "run_offline_campaign",
]
