"""Resuming a campaign from its record: the planner rebuilt, the budget finished, nothing
told twice; and 'genesis-lab resume' as an operator meets it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from campaign_helpers import small_spec, worker_for
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.errors import RecordError
from genesis_lab.orchestration import (
    CampaignRunner,
    PriorResult,
    Progress,
)
from genesis_lab.orchestration._resume import NEVER_SENT, restore_campaign
from genesis_lab.orchestration._trials import UNREACHED
from genesis_lab.planning import BayesianPlanner
from genesis_lab.review import replay_decisions
from genesis_lab.store import CampaignRecord, TrialState

cli = CliRunner()


class _Stop(KeyboardInterrupt):
    """What Ctrl-C raises in the loop's thread."""


@pytest.mark.slow
def test_an_interrupted_campaign_resumes_to_its_budget(
    embedded_broker: str, tmp_path: Path
) -> None:
    spec = small_spec(budget=7)
    text = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)  # the file as run
    prior = [PriorResult({"cyan": 3.0, "magenta": 6.0, "yellow": 1.0}, {"colour_error": 4.0}, 2)]
    record_path = tmp_path / "r.sqlite"

    def interrupt_after_three(progress: Progress) -> None:
        if progress.finished == 3:
            raise _Stop

    with worker_for(spec, embedded_broker), CampaignRecord(record_path) as record:
        first = CampaignRunner(
            spec,
            spec_text=text,
            record=record,
            broker_url=embedded_broker,
            progress=interrupt_after_three,
            prior=prior,
        )
        with pytest.raises(_Stop):
            first.run()
        campaign_id = first.campaign_id
        before = {t.trial_id: t for t in record.trials(campaign_id)}
        assert record.campaigns()[-1].status == "stopped"

        resumed = CampaignRunner(
            spec,
            spec_text=text,
            record=record,
            broker_url=embedded_broker,
            campaign_id=campaign_id,
            resume=True,
        )
        result = resumed.run()
        trials = {t.trial_id: t for t in record.trials(campaign_id)}
        events = record.campaign_events(campaign_id)
        replayed = replay_decisions(record, campaign_id)  # two planners, one after the other
        restored_observations = len(resumed.planner.observations)  # type: ignore[attr-defined]

    assert result.campaign_id == campaign_id
    assert replayed.ok and replayed.proposals == 7, (
        replayed.divergence,
        replayed.causes,
        replayed.record_problems,
    )
    assert [e.event for e in events] == ["started", "stopped", "resumed", "completed"]
    resumed_event = next(e for e in events if e.event == "resumed")
    assert "stopped" in resumed_event.detail
    # Earlier trials keep their ids, parameters and results; new ones follow them.
    for trial_id, old in before.items():
        assert trials[trial_id].parameters == old.parameters
        if old.state is TrialState.COMPLETED:
            assert trials[trial_id].outcomes == old.outcomes
    dispatched = [t for t in trials.values() if t.origin != "prior"]
    assert len(dispatched) == spec.budget
    assert all(t.state is not TrialState.PROPOSED for t in trials.values())
    completed = [t for t in trials.values() if t.state is TrialState.COMPLETED]
    # Every completed trial (and the prior one) is known to the planner exactly once.
    assert restored_observations == len(completed)
    points = [tuple(sorted(t.parameters.items())) for t in dispatched]
    assert len(set(points)) == len(points), "a resumed planner re-proposed a point"


def test_resume_refuses_a_completed_campaign(embedded_broker: str, tmp_path: Path) -> None:
    spec = small_spec(budget=2)
    record_path = tmp_path / "r.sqlite"
    with worker_for(spec, embedded_broker), CampaignRecord(record_path) as record:
        runner = CampaignRunner(spec, spec_text="", record=record, broker_url=embedded_broker)
        runner.run()
        again = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=embedded_broker,
            campaign_id=runner.campaign_id,
            resume=True,
        )
        with pytest.raises(RecordError, match="nothing to resume"):
            again.run()
    result = cli.invoke(app, ["resume", str(record_path)])
    assert result.exit_code == 2
    assert "completed" in result.output and "nothing to resume" in result.output


def test_resume_names_a_missing_record_or_campaign(tmp_path: Path) -> None:
    result = cli.invoke(app, ["resume", str(tmp_path / "nope.sqlite")])
    assert result.exit_code == 2 and "no record" in result.output
    with CampaignRecord(tmp_path / "empty.sqlite"):
        pass
    result = cli.invoke(app, ["resume", str(tmp_path / "empty.sqlite"), "--campaign", "x-1"])
    assert result.exit_code == 2 and "no campaign x-1" in result.output


def test_resume_help_explains_itself() -> None:
    result = cli.invoke(app, ["resume", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Resume a campaign whose orchestrator stopped" in text
    assert "--no-local-worker" in text and "--campaign" in text


def test_a_resume_reads_back_which_trials_cost_no_budget(tmp_path: Path) -> None:
    """A trial abandoned before any worker took it costs no budget; a resume reads that
    from the record, so the resumed campaign runs as many experiments as it had left."""
    spec = small_spec(budget=3)
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        record.create_campaign(
            "c-1", name=spec.name, spec=spec.model_dump(mode="json"), spec_text="", versions={}
        )
        endings = {
            "t0001": (TrialState.COMPLETED, ""),
            "t0002": (TrialState.ABANDONED, f"no worker accepted it; {UNREACHED}"),
            "t0003": (TrialState.ABANDONED, "no result within trial_timeout_s=5"),
        }
        for n, (trial_id, (state, reason)) in enumerate(endings.items()):
            record.add_trial(
                "c-1",
                trial_id,
                parameters={"cyan": 1.0 + n, "magenta": 2.0, "yellow": 3.0},
                origin="initial",
            )
            record.transition("c-1", trial_id, TrialState.DISPATCHED)
            if state is TrialState.COMPLETED:
                record.transition("c-1", trial_id, TrialState.RUNNING)
            outcomes = {"colour_error": 1.0} if state is TrialState.COMPLETED else None
            record.transition(
                "c-1",
                trial_id,
                state,
                reason=reason,
                outcome=None if outcomes is None else 1.0,
                outcomes=outcomes,
            )
        restored = restore_campaign(record, "c-1", spec, BayesianPlanner.from_spec(spec))
    assert restored.dispatched == {"t0001", "t0002", "t0003"}
    assert restored.unspent == {"t0002"}
    assert restored.finished == 2  # the progress counts what the budget paid for


def test_a_resume_queues_again_what_was_queued_and_counts_nothing_never_sent(
    tmp_path: Path,
) -> None:
    """Issue 21, item 4: a manual trial or retry is recorded PROPOSED when it is queued; a
    resume queues it again under its number (not abandoned, its number not given to
    another). A trial that ended without ever being dispatched (abandoned by an earlier
    resume, or when the campaign ended) costs no budget, however many resumes follow."""
    spec = small_spec(budget=5)
    row = {"cyan": 1.0, "magenta": 2.0, "yellow": 3.0}
    with CampaignRecord(tmp_path / "r.sqlite") as record:
        record.create_campaign(
            "c-1", name=spec.name, spec=spec.model_dump(mode="json"), spec_text="", versions={}
        )
        record.add_trial("c-1", "t0001", parameters=row, origin="sobol")
        record.transition("c-1", "t0001", TrialState.DISPATCHED)
        record.transition("c-1", "t0001", TrialState.RUNNING)
        record.transition("c-1", "t0001", TrialState.FAILED, reason="lamp fault")
        record.add_trial("c-1", "t0002", parameters=row, origin="sobol")  # never sent
        record.transition("c-1", "t0002", TrialState.ABANDONED, reason=NEVER_SENT)
        note = {"retry_of": "t0001", "attempt": 2}
        record.add_trial("c-1", "t0003", parameters=row, origin="retry", explanation=note)
        record.add_trial(
            "c-1", "t0004", parameters=row, origin="manual", explanation={"requested_by": "ada"}
        )
        planner = BayesianPlanner.from_spec(spec)
        restored = restore_campaign(record, "c-1", spec, planner)
        states = {t.trial_id: t.state for t in record.trials("c-1")}
    assert [(p.trial_id, p.origin) for p in restored.queued] == [
        ("t0003", "retry"),
        ("t0004", "manual"),
    ]
    assert restored.attempts == {"t0003": 2}
    assert set(planner.pending) == {"t0003", "t0004"}
    assert restored.dispatched == {"t0001"} and restored.finished == 1
    assert states["t0003"] is TrialState.PROPOSED and states["t0004"] is TrialState.PROPOSED
    assert planner.ask(1)[0].trial_id == "t0005"
    # A trial never sent says it cost nothing, as every unreached one does (the ten-minute
    # outage scenario counts by that suffix).
    assert NEVER_SENT.endswith(UNREACHED)
