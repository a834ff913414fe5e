"""Orchestration: the campaign loop, its record, and what it reports."""

from genesis_lab.orchestration._export import (
    ExportedFile,
    ExportSummary,
    InvalidDocument,
    export_documents,
    export_trials_csv,
)
from genesis_lab.orchestration._prior import PriorResult, read_prior_csv
from genesis_lab.orchestration._provenance import package_versions
from genesis_lab.orchestration._replay import (
    DEFAULT_TOLERANCE,
    Divergence,
    ReplayResult,
    replay_decisions,
)
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
    "DEFAULT_TOLERANCE",
    "CampaignResult",
    "CampaignRunner",
    "CampaignSummary",
    "Divergence",
    "ExportSummary",
    "ExportedFile",
    "InvalidDocument",
    "PriorResult",
    "Progress",
    "ReplayResult",
    "TrialDetail",
    "export_documents",
    "export_trials_csv",
    "new_campaign_id",
    "package_versions",
    "read_prior_csv",
    "replay_decisions",
    "summarize",
    "trial_detail",
]
