"""Orchestration: the campaign loop, its record, and what it reports."""

from genesis_lab.orchestration._against import (
    CampaignSide,
    OutcomeStats,
    ReplayComparison,
    TrialPair,
    compare_campaigns,
    replay_spec,
    replay_station,
)
from genesis_lab.orchestration._differences import DifferenceLimits, Exceedance
from genesis_lab.orchestration._export import (
    ExportedFile,
    ExportSummary,
    InvalidDocument,
    export_documents,
    export_trials_csv,
)
from genesis_lab.orchestration._integrity import IntegrityCheck, check_record
from genesis_lab.orchestration._measured import check_trial_outcomes, run_outcomes
from genesis_lab.orchestration._prior import PriorResult, read_prior_csv
from genesis_lab.orchestration._provenance import package_versions
from genesis_lab.orchestration._replay import (
    DEFAULT_TOLERANCE,
    Divergence,
    ReplayResult,
    replay_decisions,
)
from genesis_lab.orchestration._report import ReportFiles, default_report_dir, write_report
from genesis_lab.orchestration._runner import (
    CampaignResult,
    CampaignRunner,
    Progress,
    new_campaign_id,
)
from genesis_lab.orchestration._scripted import (
    REPLAY_ORIGIN,
    ReplayScript,
    ScriptedPlanner,
    ScriptedTrial,
    replay_script,
)
from genesis_lab.orchestration._seals import (
    SealCheck,
    check_noted_head,
    check_pinned_keys,
    check_seals,
)
from genesis_lab.orchestration._signatures import (
    SignatureCheck,
    check_document_signatures,
    record_signing_keys,
)
from genesis_lab.orchestration._summary import (
    CampaignSummary,
    TrialDetail,
    summarize,
    trial_detail,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "REPLAY_ORIGIN",
    "CampaignResult",
    "CampaignRunner",
    "CampaignSide",
    "CampaignSummary",
    "DifferenceLimits",
    "Divergence",
    "Exceedance",
    "ExportSummary",
    "ExportedFile",
    "IntegrityCheck",
    "InvalidDocument",
    "OutcomeStats",
    "PriorResult",
    "Progress",
    "ReplayComparison",
    "ReplayResult",
    "ReplayScript",
    "ReportFiles",
    "ScriptedPlanner",
    "ScriptedTrial",
    "SealCheck",
    "SignatureCheck",
    "TrialDetail",
    "TrialPair",
    "check_document_signatures",
    "check_noted_head",
    "check_pinned_keys",
    "check_record",
    "check_seals",
    "check_trial_outcomes",
    "compare_campaigns",
    "default_report_dir",
    "export_documents",
    "export_trials_csv",
    "new_campaign_id",
    "package_versions",
    "read_prior_csv",
    "record_signing_keys",
    "replay_decisions",
    "replay_script",
    "replay_spec",
    "replay_station",
    "run_outcomes",
    "summarize",
    "trial_detail",
    "write_report",
]
