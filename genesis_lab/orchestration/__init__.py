"""Orchestration: the campaign loop and its record."""

from genesis_lab.orchestration._prior import (
    PriorResult,
    read_prior_csv,
)
from genesis_lab.orchestration._provenance import package_versions
from genesis_lab.orchestration._runner import (
    CampaignResult,
    CampaignRunner,
    Progress,
    new_campaign_id,
)
from genesis_lab.orchestration._signatures import (
    SignatureCheck,
    check_document_signatures,
    record_signing_keys,
)

__all__ = [
    "CampaignResult",
    "CampaignRunner",
    "PriorResult",
    "Progress",
    "SignatureCheck",
    "check_document_signatures",
    "new_campaign_id",
    "package_versions",
    "read_prior_csv",
    "record_signing_keys",
]
