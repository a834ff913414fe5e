"""Leases: a request no worker accepts is sent again or abandoned, as the campaign says;
a trial cut short is run again only when the lease policy says the instrument allows it."""

from __future__ import annotations

import queue
import uuid
from pathlib import Path

import pytest
from campaign_helpers import small_spec, worker_for

from genesis_lab.errors import StationError
from genesis_lab.messages import (
    ExperimentRequest,
    StationStatus,
    decode_message,
    encode_message,
    station_requests_topic,
    station_status_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.orchestration import CampaignRunner
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, CampaignRow, TrialState


def _spec(budget: int, **changes: object) -> CampaignSpec:
    data = small_spec(budget=budget, latency_s=changes.pop("latency_s", 0.0)).model_dump()
    data.update(changes)
    return CampaignSpec.model_validate(data)


def _run_without_a_worker(
    spec: CampaignSpec, broker: str, record_path: Path
) -> tuple[list[ExperimentRequest], list[tuple[str, TrialState, str]], CampaignRow, str]:
    """Run ``spec`` against a station that looks online (its retained status) but whose
    worker never accepts anything; return the requests sent, each trial's ending, the
    campaign's row and why the run ended (the StationError it raised)."""
    requests: queue.Queue[ExperimentRequest] = queue.Queue()
    station = spec.station.station_id
    online = StationStatus(station_id=station, state="online", plugin="colour-bench")
    with MqttClient(broker, client_id=f"silent-{uuid.uuid4().hex[:8]}") as silent:
        silent.subscribe(
            station_requests_topic(station),
            lambda _t, p: requests.put(decode_message(p, ExperimentRequest)),
        )
        silent.publish_and_wait(station_status_topic(station), encode_message(online), retain=True)
        with CampaignRecord(record_path) as record:
            runner = CampaignRunner(
                spec, spec_text="", record=record, broker_url=broker, poll_s=0.05
            )
            with pytest.raises(StationError) as ended:
                runner.run()
            [campaign] = record.campaigns()
            endings = [(t.trial_id, t.state, t.reason) for t in record.trials(runner.campaign_id)]
        silent.publish_and_wait(station_status_topic(station), b"", retain=True)
    sent = [requests.get_nowait() for _ in range(requests.qsize())]
    return sent, endings, campaign, str(ended.value)


@pytest.mark.slow
def test_unaccepted_requests_are_sent_again_then_abandoned_without_spending_budget(
    embedded_broker: str, tmp_path: Path
) -> None:
    """Each request is sent again up to max_redispatches, then abandoned; a trial no worker
    took costs no budget, so another takes its place, until 3 in a row tell the campaign
    that the worker takes none of its requests: it stops, saying so."""
    spec = _spec(2, lease={"accept_s": 0.3, "max_redispatches": 2})
    sent, endings, campaign, why = _run_without_a_worker(
        spec, embedded_broker, tmp_path / "r.sqlite"
    )
    assert [state for _id, state, _reason in endings] == [TrialState.ABANDONED] * 3
    assert all("no worker accepted it within lease.accept_s=0.3" in r for *_x, r in endings)
    assert all("after 2 re-sends" in r for *_x, r in endings)
    assert all(r.endswith("not counted against the budget") for *_x, r in endings)
    assert campaign.status == "stopped" and "3 trials in a row never reached" in why
    by_trial = {trial_id: [r for r in sent if r.trial_id == trial_id] for trial_id, *_ in endings}
    assert {trial_id: len(copies) for trial_id, copies in by_trial.items()} == {
        trial_id: 3 for trial_id, *_ in endings
    }
    for copies in by_trial.values():  # the same experiment each time, each good for a while
        assert len({tuple(sorted(c.setpoints.items())) for c in copies}) == 1
        expiries = [c.expires_at for c in copies]
        assert all(e is not None for e in expiries) and expiries == sorted(expiries)


def test_abandon_policy_gives_up_at_the_first_expiry(embedded_broker: str, tmp_path: Path) -> None:
    spec = _spec(1, lease={"accept_s": 0.3, "on_expiry": "abandon"})
    sent, endings, _campaign, _why = _run_without_a_worker(
        spec, embedded_broker, tmp_path / "r.sqlite"
    )
    assert len(sent) == 3 and len({r.trial_id for r in sent}) == 3  # each sent once
    assert all(state is TrialState.ABANDONED for _t, state, _r in endings)
    assert all("re-send" not in reason for _t, _s, reason in endings)


@pytest.mark.slow
def test_accepted_trials_keep_their_lease_while_they_wait(
    embedded_broker: str, tmp_path: Path
) -> None:
    """A worker that accepts at once but takes longer than accept_s per experiment: no
    trial is sent again, every one completes. The lease (3 s) leaves a loaded machine time
    to accept; the record shows that a trial did wait longer than it, accepted."""
    accept_s = 3.0
    spec = _spec(4, batch_size=3, lease={"accept_s": accept_s}, latency_s=2.0)
    with worker_for(spec, embedded_broker) as worker, CampaignRecord(tmp_path / "r.sqlite") as rec:
        runner = CampaignRunner(spec, spec_text="", record=rec, broker_url=embedded_broker)
        result = runner.run()
        moments: dict[tuple[str, str], float] = {}
        for trial_id, _before, state, _reason, at in rec.transitions(runner.campaign_id):
            moments.setdefault((trial_id, state), at)
    assert result.states == {"COMPLETED": 4}
    waits = [
        moments[(t, "RUNNING")] - at for (t, state), at in moments.items() if state == "DISPATCHED"
    ]
    assert max(waits) > accept_s  # the premise: one waited past accept_s, in the queue
    assert runner.redispatches == 0
    assert worker.stats.duplicates == 0
