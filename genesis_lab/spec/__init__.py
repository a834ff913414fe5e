"""Campaign files: pydantic models and a loader that names the field and line of each problem."""

from genesis_lab.spec._loader import CampaignFile, load_campaign, parse_campaign
from genesis_lab.spec._models import (
    DISCRETE_MAX_VALUES,
    AnyParameter,
    CampaignSpec,
    CategoricalParameter,
    ContinuousParameter,
    DiscreteParameter,
    FixedParameter,
    IntegerParameter,
    Objective,
    Parameter,
    PlannerSettings,
    RetryPolicy,
    StationRef,
    StoppingRules,
    StrictModel,
    parse_broker_url,
)

__all__ = [
    "DISCRETE_MAX_VALUES",
    "AnyParameter",
    "CampaignFile",
    "CampaignSpec",
    "CategoricalParameter",
    "ContinuousParameter",
    "DiscreteParameter",
    "FixedParameter",
    "IntegerParameter",
    "Objective",
    "Parameter",
    "PlannerSettings",
    "RetryPolicy",
    "StationRef",
    "StoppingRules",
    "StrictModel",
    "load_campaign",
    "parse_broker_url",
    "parse_campaign",
]
