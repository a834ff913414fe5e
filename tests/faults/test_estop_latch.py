"""An e-stop latches (issue 21, item 1): it is kept in the worker's journal, so a worker
killed and started again for the station comes up e-stopped, refuses requests, and serves
again only after a release; and it is retained on the broker, so a worker that was down
when it was sent, or starts on a new machine, comes up stopped too."""

from __future__ import annotations

import queue
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from genesis_lab.messages import (
    ExperimentRequest,
    TrialStatusMessage,
    campaign_results_topic,
    decode_worker_message,
    encode_message,
    station_requests_topic,
)
from genesis_lab.messaging import MqttClient

from .conftest import CLI, Cli, start_worker, wait_for, write_campaign
from .test_presence import retained_status

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

_UNDER_WAY = ("accepted", "running")


def control(*args: str, code: int = 0) -> str:
    """``genesis-lab estop ARGS``, which must exit ``code`` (3: no station confirmed it);
    its output."""
    done = subprocess.run([*CLI, "estop", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout


class Asker:
    """A campaign of the test's own on the station: sends it requests, collects how each
    trial ended."""

    def __init__(self, url: str, station: str) -> None:
        self.station = station
        self.campaign_id = f"c-{uuid.uuid4().hex[:8]}"
        self.answers: queue.Queue[TrialStatusMessage] = queue.Queue()
        self.client = MqttClient(url, client_id=f"probe-{self.campaign_id}")
        self.client.connect()
        self.client.subscribe(campaign_results_topic(self.campaign_id), self._on_result)

    def _on_result(self, _topic: str, payload: bytes) -> None:
        message = decode_worker_message(payload)
        if isinstance(message, TrialStatusMessage) and message.state not in _UNDER_WAY:
            self.answers.put(message)

    def send(self, trial_id: str) -> None:
        request = ExperimentRequest(
            campaign_id=self.campaign_id,
            trial_id=trial_id,
            station_id=self.station,
            setpoints={"pump_cyan": 1.0},
            parameters={"cyan": 1.0},
        )
        topic = station_requests_topic(self.station)
        self.client.publish_and_wait(topic, encode_message(request))

    def answer(self, trial_id: str) -> TrialStatusMessage:
        """How ``trial_id`` ended (statuses of other trials, resent by a restarted worker
        that nobody acknowledges, are passed over)."""
        deadline = time.monotonic() + 60
        while True:
            message = self.answers.get(timeout=max(0.1, deadline - time.monotonic()))
            if message.trial_id == trial_id:
                return message

    def close(self) -> None:
        self.client.close()


def ask(url: str, station: str) -> TrialStatusMessage:
    """Send the station one request; how the trial ended."""
    asker = Asker(url, station)
    try:
        asker.send("t0001")
        return asker.answer("t0001")
    finally:
        asker.close()


def mode_is(url: str, station: str, mode: str) -> bool:
    status = retained_status(url, station)
    return status.state == "online" and status.mode == mode


def test_an_estop_holds_across_a_worker_restart_until_released(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    campaign = write_campaign(tmp_path, private_mosquitto.url)
    station = yaml.safe_load(campaign.read_text())["station"]["id"]
    outbox = tmp_path / "outbox.sqlite"
    url = private_mosquitto.url
    worker = start_worker(processes, campaign, url, outbox, tmp_path / "w1.log")
    wait_for(lambda: retained_status(url, station).state == "online", 60, "the worker")
    control("--station", station, "--broker", url, "--reason", "smoke in the hood")
    assert retained_status(url, station).mode == "estopped"

    worker.kill()  # no goodbye: it comes back from its journal alone
    worker = start_worker(processes, campaign, url, outbox, tmp_path / "w2.log")
    wait_for(lambda: "comes up e-stopped" in worker.output(), 60, "the restarted worker")
    wait_for(lambda: mode_is(url, station, "estopped"), 60, "the worker to announce it")
    assert "smoke in the hood" in worker.output()

    answer = ask(url, station)
    assert answer.state == "abandoned" and "emergency stop in force" in answer.reason

    control("--release", "--station", station, "--broker", url)
    assert retained_status(url, station).mode == "serving"
    worker.stop()
    worker = start_worker(processes, campaign, url, outbox, tmp_path / "w3.log")
    wait_for(lambda: retained_status(url, station).state == "online", 60, "the third worker")
    assert retained_status(url, station).mode == "serving"  # the release cleared the latch
    assert "comes up e-stopped" not in worker.output()


def test_an_estop_sent_while_a_worker_is_down_stops_it_when_it_starts(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    campaign = write_campaign(tmp_path, private_mosquitto.url)
    station = yaml.safe_load(campaign.read_text())["station"]["id"]
    url = private_mosquitto.url
    worker = start_worker(processes, campaign, url, tmp_path / "a.sqlite", tmp_path / "w1.log")
    wait_for(lambda: mode_is(url, station, "serving"), 60, "the worker")
    worker.stop()
    wait_for(lambda: retained_status(url, station).state == "offline", 60, "the worker to go")

    sent = control("--broker", url, "--reason", "gas alarm", code=3)  # nobody is online
    assert "no worker is online" in sent
    status = control("--status", "--broker", url)
    assert "LAB-WIDE E-STOP in force" in status and "gas alarm" in status, status
    assert f"{station}: offline" in status, status

    # A worker on a new machine: nothing in its journal; it finds the e-stop on the broker,
    # and obeys it before it runs the request queued for the station while it was down.
    asker = Asker(url, station)
    asker.send("t0001")
    fresh = tmp_path / "b.sqlite"
    worker = start_worker(processes, campaign, url, fresh, tmp_path / "w2.log")
    queued = asker.answer("t0001")
    asker.close()
    assert queued.state == "abandoned" and "emergency stop in force" in queued.reason
    assert queued.reason.endswith("not run") and queued.documents == 0, queued
    assert "gas alarm" in queued.reason
    wait_for(lambda: mode_is(url, station, "estopped"), 60, "the new worker to stop")
    answer = ask(url, station)
    assert answer.state == "abandoned" and "emergency stop in force" in answer.reason

    # Released for this station alone: the lab-wide e-stop stays in force for the others,
    # and does not stop this station again when its worker comes back.
    control("--release", "--station", station, "--broker", url)
    assert mode_is(url, station, "serving")
    assert "LAB-WIDE E-STOP in force" in control("--status", "--broker", url)
    worker.kill()
    worker = start_worker(processes, campaign, url, fresh, tmp_path / "w3.log")
    wait_for(
        lambda: "not stopping again for the e-stop the broker retains" in worker.output(),
        60,
        "the restarted worker to meet the released e-stop",
    )
    wait_for(lambda: mode_is(url, station, "serving"), 60, "the restarted worker to serve")
    assert ask(url, station).state == "completed"

    # A lab-wide release clears the latch on the broker: a new machine serves.
    control("--release", "--broker", url)
    status = control("--status", "--broker", url)
    assert "no lab-wide e-stop in force" in status and "E-STOP" not in status, status
    worker.stop()
    worker = start_worker(processes, campaign, url, tmp_path / "c.sqlite", tmp_path / "w4.log")
    wait_for(lambda: mode_is(url, station, "serving"), 60, "a worker on a third machine")
    assert "e-stop" not in worker.output().lower()
