"""Resends that keep up with an outage (issue 15, item 3): a worker's resends are paced to
what the broker can queue for the orchestrator, the orchestrator asks for what it misses
instead of waiting for the worker's schedule, and a campaign never completes while a
trial's documents are missing."""

from __future__ import annotations

import queue
import time
import uuid
from pathlib import Path

import pytest

from genesis_lab.messages import DeliveryAck, encode_message, station_acks_topic
from genesis_lab.messaging import MqttClient
from genesis_lab.store import TrialState
from genesis_lab.worker._outbox import Outbox
from genesis_lab.worker._resender import WINDOW, Resender

from .conftest import (
    check_record,
    start_runner,
    trial_states,
    wait_for,
    wait_outbox_empty,
    worker_in_process,
    write_campaign,
)
from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

COMPLETED, RUNNING = TrialState.COMPLETED, TrialState.RUNNING
#: A broker that queues at most this many messages for a client it cannot reach.
SMALL_QUEUE = 100


def test_a_run_dropped_by_a_small_queue_is_whole_before_its_time_out(
    start_mosquitto, tmp_path: Path
) -> None:
    """The orchestrator's link stalls while a 1,500-event run streams into a broker that
    queues 100 messages for it: most of the run is dropped. The worker's first resend is
    due only after 60 s, past the trial's 45 s time-out; the run used to be abandoned with
    part of its events stored, and the campaign still said 'completed'. Now the
    orchestrator asks for what it misses when the trial has had no news for a while, the
    worker sends it at once, paced, and the trial completes whole."""
    broker = start_mosquitto(settings=f"allow_anonymous true\nmax_queued_messages {SMALL_QUEUE}\n")
    campaign = write_campaign(
        tmp_path, broker.url, budget=1, replicates=1500, accept_s=30, trial_timeout_s=45
    )
    record_path, outbox = tmp_path / "record.sqlite", tmp_path / "outbox.sqlite"
    with (
        worker_in_process(campaign, broker.url, outbox, ack_timeout_s=60.0) as worker,
        TcpProxy("127.0.0.1", broker.port) as link,
    ):
        run = start_runner(campaign, link.url, record_path)
        wait_for(lambda: trial_states(record_path)[RUNNING] == 1, 60, "a running trial")
        link.stall()
        wait_for(lambda: worker.stats.completed >= 1, 120, "the long run")
        time.sleep(1.0)  # its last documents reach the broker, which drops them
        link.resume()
        result = run.join(timeout=240)
        wait_outbox_empty(outbox, timeout=60)
    assert "Outgoing messages are being dropped" in broker.log_text()
    assert worker.stats.resent > 0
    facts = check_record(record_path)
    assert facts.states == {COMPLETED: 1}, facts
    assert facts.events == 1500
    assert result.states == {"COMPLETED": 1}


def test_resends_go_out_a_window_at_a_time(private_mosquitto, tmp_path: Path) -> None:
    """Three hundred messages are overdue and nobody acknowledges them: one window goes
    out, then the resender waits for acknowledgements (up to the time-out) before the
    next, instead of publishing all of them at once."""
    campaign_id = f"c-{uuid.uuid4().hex[:8]}"
    topic = f"test/{campaign_id}/results"
    box = Outbox(tmp_path / "outbox.sqlite")
    for n in range(300):
        box.put(f"m{n:04d}", campaign_id, topic, b"x", resend_s=0.0)
    seen: queue.Queue[bytes] = queue.Queue()
    with (
        MqttClient(private_mosquitto.url, client_id=f"watch-{campaign_id}") as watcher,
        MqttClient(private_mosquitto.url, client_id=f"send-{campaign_id}") as sender,
    ):
        watcher.subscribe(topic, lambda _t, p: seen.put(p))
        resender = Resender(
            box,
            sender.publish,
            lambda: sender.is_connected,
            ack_timeout_s=4.0,
            max_resend_s=60.0,
        )
        resender.start(name="test-resender")
        try:
            wait_for(lambda: seen.qsize() >= WINDOW, 10, "the first window")
            time.sleep(1.5)  # the resender waits for acknowledgements meanwhile
            assert seen.qsize() == WINDOW
            box.ack([f"m{n:04d}" for n in range(WINDOW)])
            resender.acknowledged()
            wait_for(lambda: seen.qsize() >= 2 * WINDOW, 10, "the next window")
        finally:
            resender.stop()
    box.close()


def test_a_worker_sends_what_it_keeps_when_the_orchestrator_asks(
    private_mosquitto, tmp_path: Path
) -> None:
    """A DeliveryAck with send_again makes the worker send everything kept for that
    campaign now, not when its schedule says (60 s here); a flood of such asks is honoured
    once per acknowledgement time-out."""
    campaign = write_campaign(tmp_path, private_mosquitto.url, budget=1)
    outbox = tmp_path / "outbox.sqlite"
    with worker_in_process(campaign, private_mosquitto.url, outbox, ack_timeout_s=60.0) as worker:
        campaign_id = f"c-{uuid.uuid4().hex[:8]}"
        worker.outbox.put("kept-1", campaign_id, f"test/{campaign_id}", b"x", resend_s=60.0)
        seen: queue.Queue[bytes] = queue.Queue()
        ask = DeliveryAck(campaign_id=campaign_id, station_id=worker.station_id, send_again=True)
        with MqttClient(private_mosquitto.url, client_id=f"ask-{campaign_id}") as orchestrator:
            orchestrator.subscribe(f"test/{campaign_id}", lambda _t, p: seen.put(p))
            for _ in range(20):
                orchestrator.publish(station_acks_topic(worker.station_id), encode_message(ask))
            assert seen.get(timeout=10) == b"x"
            time.sleep(2.0)  # what 19 more asks would have sent
            assert seen.empty()
        assert worker.stats.resent == 1
