"""Orchestration: the campaign loop, its record, and what it reports."""

from genesis_lab.orchestration._prior import PriorResult, read_prior_csv
from genesis_lab.orchestration._provenance import package_versions
from genesis_lab.orchestration._runner import (
    CampaignResult,
    CampaignRunner,
    Progress,
    new_campaign_id,
)
from genesis_lab.orchestration._summary import (
    CampaignSummary,
    TrialDetail,
    summarize,
    trial_detail,
)

__all__ = [
    "CampaignResult",
    "CampaignRunner",
    "CampaignSummary",
    "PriorResult",
    "Progress",
    "TrialDetail",
    "new_campaign_id",
    "package_versions",
    "read_prior_csv",
    "summarize",
    "trial_detail",
]
