"""Review: what a reviewer does with a campaign's record (verify, replay, replay against a
simulator, report, figures, export, summary). Reads records; never runs a campaign of
its own except a replay, in a record of its own."""

from genesis_lab.review._against import (
    CampaignSide,
    OutcomeStats,
    ReplayComparison,
    TrialPair,
    compare_campaigns,
    replay_spec,
    replay_station,
)
from genesis_lab.review._differences import DifferenceLimits, Exceedance
from genesis_lab.review._export import (
    ExportedFile,
    ExportSummary,
    InvalidDocument,
    export_documents,
    export_trials_csv,
)
from genesis_lab.review._integrity import (
    IntegrityCheck,
    check_record,
)
from genesis_lab.review._measured import (
    check_trial_outcomes,
    run_outcomes,
)
from genesis_lab.review._replay import (
    DEFAULT_TOLERANCE,
    Divergence,
    ReplayResult,
    replay_decisions,
)
from genesis_lab.review._report import (
    ReportFiles,
    default_report_dir,
    write_report,
)
from genesis_lab.review._rerun import Rerun, default_replay_path, plan_rerun, run_rerun
from genesis_lab.review._scripted import (
    REPLAY_ORIGIN,
    ReplayScript,
    ScriptedPlanner,
    ScriptedTrial,
    replay_script,
)
from genesis_lab.review._seals import (
    SealCheck,
    check_noted_head,
    check_pinned_keys,
    check_seals,
)
from genesis_lab.review._summary import (
    CampaignSummary,
    TrialDetail,
    summarize,
    trial_detail,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "REPLAY_ORIGIN",
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
    "ReplayComparison",
    "ReplayResult",
    "ReplayScript",
    "ReportFiles",
    "Rerun",
    "ScriptedPlanner",
    "ScriptedTrial",
    "SealCheck",
    "TrialDetail",
    "TrialPair",
    "check_noted_head",
    "check_pinned_keys",
    "check_record",
    "check_seals",
    "check_trial_outcomes",
    "compare_campaigns",
    "default_replay_path",
    "default_report_dir",
    "export_documents",
    "export_trials_csv",
    "plan_rerun",
    "replay_decisions",
    "replay_script",
    "replay_spec",
    "replay_station",
    "run_outcomes",
    "run_rerun",
    "summarize",
    "trial_detail",
    "write_report",
]
