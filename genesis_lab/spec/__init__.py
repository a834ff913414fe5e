"""Campaign files: pydantic models and a loader that names the field and line of each problem."""

from genesis_lab.spec._loader import CampaignFile, load_campaign, parse_campaign
from genesis_lab.spec._models import (
    CampaignSpec,
    ContinuousParameter,
    Objective,
    PlannerSettings,
    RetryPolicy,
    StationRef,
    StoppingRules,
    StrictModel,
    parse_broker_url,
)

__all__ = [
    "CampaignFile",
    "CampaignSpec",
    "ContinuousParameter",
    "Objective",
    "PlannerSettings",
    "RetryPolicy",
    "StationRef",
    "StoppingRules",
    "StrictModel",
    "load_campaign",
    "parse_broker_url",
    "parse_campaign",
]
