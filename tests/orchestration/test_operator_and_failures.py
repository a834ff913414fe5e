"""Retries of failed trials, operators' own trials, and prior results, through a real loop."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from campaign_helpers import small_spec, worker_for
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.errors import DataFileError
from genesis_lab.messages import ManualTrialRequest, campaign_control_topic, encode_message
from genesis_lab.messaging import MqttClient
from genesis_lab.orchestration import (
    CampaignRunner,
    Progress,
    read_prior_csv,
)
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, TrialState


def _spec(budget: int, **changes: object) -> CampaignSpec:
    options = changes.pop("options", {})
    data = small_spec(budget=budget, **options).model_dump()  # type: ignore[arg-type]
    data.update(changes)
    return CampaignSpec.model_validate(data)


@pytest.mark.slow
def test_failed_trials_are_retried_with_the_same_parameters(
    embedded_broker: str, tmp_path: Path
) -> None:
    spec = _spec(8, options={"fault_rate": 0.5}, retry={"max_retries": 1})
    with worker_for(spec, embedded_broker), CampaignRecord(tmp_path / "r.sqlite") as record:
        result = CampaignRunner(spec, spec_text="", record=record, broker_url=embedded_broker).run()
        trials = {t.trial_id: t for t in record.trials(result.campaign_id)}
    assert len(trials) == 8
    retries = [t for t in trials.values() if t.origin == "retry"]
    assert retries, "with fault_rate 0.5 some trial failed and was retried"
    for retry in retries:
        assert retry.explanation is not None
        original = trials[retry.explanation["retry_of"]]
        assert original.state is TrialState.FAILED
        assert original.parameters == retry.parameters
        assert retry.explanation["attempt"] == 2
        assert original.origin != "retry"  # max_retries 1: a retry is never retried


@pytest.mark.slow
def test_an_operator_trial_is_run_and_learned_from(embedded_broker: str, tmp_path: Path) -> None:
    spec = _spec(5)
    chosen = {"cyan": 3.2, "magenta": 6.1, "yellow": 1.5}
    sent: list[str] = []

    def operator(_progress: Progress) -> None:
        if sent:
            return
        with MqttClient(embedded_broker, client_id=f"op-{uuid.uuid4().hex[:8]}") as client:
            topic = campaign_control_topic(runner.campaign_id)
            bad = ManualTrialRequest(
                campaign_id=runner.campaign_id,
                parameters={**chosen, "cyan": 99.0},
                requested_by="ada",
            )
            client.publish_and_wait(topic, encode_message(bad))  # out of bounds: refused
            result = CliRunner().invoke(
                app,
                [
                    "suggest",
                    runner.campaign_id,
                    *(f"{k}={v}" for k, v in chosen.items()),
                    "--broker",
                    embedded_broker,
                    "--by",
                    "ada",
                ],
            )
            assert result.exit_code == 0, result.output
        sent.append("done")

    with worker_for(spec, embedded_broker), CampaignRecord(tmp_path / "r.sqlite") as record:
        runner = CampaignRunner(
            spec, spec_text="", record=record, broker_url=embedded_broker, progress=operator
        )
        result = runner.run()
        trials = record.trials(result.campaign_id)
        added = [e for e in record.campaign_events(result.campaign_id) if e.event == "trial-added"]
    assert len(trials) == 5 and result.rejected_messages == 1
    assert [(e.actor, e.detail.split(":")[0]) for e in added] == [("ada", "t0003")]
    [manual] = [t for t in trials if t.origin == "manual"]
    # sent while t0001 ended, when t0002 was already being proposed; it runs next, as t0003
    assert manual.trial_id == "t0003"
    assert manual.parameters == chosen and manual.state is TrialState.COMPLETED
    assert manual.explanation == {"requested_by": "ada"}
    assert result.best_trial == "t0003"  # the target volumes: the best colour there is


PRIOR = "cyan,magenta,yellow,colour_error,note\n3.0,6.0,1.6,2.5,old run\n5,5,5,60.1,\n"


def test_prior_results_are_read_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "prior.csv"
    path.write_text(PRIOR)
    results = read_prior_csv(path, small_spec())
    assert [(r.line, r.outcomes) for r in results] == [
        (2, {"colour_error": 2.5}),
        (3, {"colour_error": 60.1}),
    ]
    assert results[0].parameters == {"cyan": 3.0, "magenta": 6.0, "yellow": 1.6}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cyan,magenta,colour_error\n1,2,3\n", ":1: header: missing column(s) yellow"),
        ("cyan,magenta,yellow,colour_error\n1,2,,3\n", ":2: yellow: empty value"),
        ("cyan,magenta,yellow,colour_error\n1,2,3,4\n1,2,3,bad\n", ":3: colour_error: objective"),
    ],
)
def test_bad_prior_files_name_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prior.csv"
    path.write_text(text)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_prior_csv(path, small_spec())


@pytest.mark.slow
def test_prior_results_seed_the_model_and_are_recorded(
    embedded_broker: str, tmp_path: Path
) -> None:
    path = tmp_path / "prior.csv"
    path.write_text(PRIOR)
    spec = _spec(3, initial_design=2)
    prior = read_prior_csv(path, spec)
    with worker_for(spec, embedded_broker), CampaignRecord(tmp_path / "r.sqlite") as record:
        result = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=embedded_broker,
            prior=prior,
            prior_source=str(path),
        ).run()
        trials = record.trials(result.campaign_id)
        history = record.transitions(result.campaign_id)
    assert [t.origin for t in trials[:2]] == ["prior", "prior"]
    assert [t.outcome for t in trials[:2]] == [2.5, 60.1]
    assert trials[0].reason == f"imported from {path}, line 2"
    assert [h[1:3] for h in history if h[0] == "t0001"] == [(None, "COMPLETED")]
    # the prior results fill the initial design, so the model chooses from the first trial
    assert [t.origin for t in trials[2:]] == ["model"] * 3
    assert result.states == {"COMPLETED": 5}


def test_run_with_a_bad_prior_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "prior.csv"
    path.write_text("cyan,colour_error\n1,2\n")
    campaign = Path(__file__).resolve().parents[2] / "campaigns" / "colour_mixing.yaml"
    result = CliRunner().invoke(app, ["run", str(campaign), "--prior", str(path)])
    assert result.exit_code == 2
    assert "missing column(s) magenta, yellow" in " ".join(result.output.split())
