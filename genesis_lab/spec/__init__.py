"""Campaign and lab files: pydantic models and a loader that names the field and line of
each problem."""

from genesis_lab.spec._base import StrictModel, is_tls_broker_url, parse_broker_url
from genesis_lab.spec._constraints import LinearConstraint, parse_constraint
from genesis_lab.spec._key_values import parse_key_values
from genesis_lab.spec._lab import DeviceEnvelope, Interlock, LabDevice, LabSpec, LabStation
from genesis_lab.spec._loader import (
    CampaignFile,
    LabFile,
    LabFileError,
    load_campaign,
    load_lab,
    parse_campaign,
    parse_lab,
)
from genesis_lab.spec._models import (
    CampaignSpec,
    LeasePolicy,
    MultiObjective,
    Objective,
    OutcomeConstraint,
    PlannerSettings,
    RetryPolicy,
    StationRef,
    StoppingRules,
)
from genesis_lab.spec._parameters import (
    DISCRETE_MAX_VALUES,
    AnyParameter,
    CategoricalParameter,
    ContinuousParameter,
    DiscreteParameter,
    FixedParameter,
    IntegerParameter,
    Parameter,
)

__all__ = [
    "DISCRETE_MAX_VALUES",
    "AnyParameter",
    "CampaignFile",
    "CampaignSpec",
    "CategoricalParameter",
    "ContinuousParameter",
    "DeviceEnvelope",
    "DiscreteParameter",
    "FixedParameter",
    "IntegerParameter",
    "Interlock",
    "LabDevice",
    "LabFile",
    "LabFileError",
    "LabSpec",
    "LabStation",
    "LeasePolicy",
    "LinearConstraint",
    "MultiObjective",
    "Objective",
    "OutcomeConstraint",
    "Parameter",
    "PlannerSettings",
    "RetryPolicy",
    "StationRef",
    "StoppingRules",
    "StrictModel",
    "is_tls_broker_url",
    "load_campaign",
    "load_lab",
    "parse_broker_url",
    "parse_campaign",
    "parse_constraint",
    "parse_key_values",
    "parse_lab",
]
