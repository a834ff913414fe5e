"""An e-stop latches (issue 21, item 1, first part): it is kept in the worker's journal,
so a worker killed and started again for the station comes up e-stopped, refuses
requests, and serves again only after a release."""

from __future__ import annotations

import queue
import subprocess
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


def control(*args: str) -> None:
    done = subprocess.run([*CLI, "estop", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


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
    status = retained_status(url, station)
    assert status.state == "online" and status.mode == "estopped", status
    assert "smoke in the hood" in worker.output()

    ghost = f"c-{uuid.uuid4().hex[:8]}"
    answers: queue.Queue[TrialStatusMessage] = queue.Queue()

    def on_result(_topic: str, payload: bytes) -> None:
        message = decode_worker_message(payload)
        if isinstance(message, TrialStatusMessage) and message.state != "accepted":
            answers.put(message)

    request = ExperimentRequest(
        campaign_id=ghost,
        trial_id="t0001",
        station_id=station,
        setpoints={"pump_cyan": 1.0},
        parameters={"cyan": 1.0},
    )
    with MqttClient(url, client_id=f"probe-{ghost}") as probe:
        probe.subscribe(campaign_results_topic(ghost), on_result)
        probe.publish_and_wait(station_requests_topic(station), encode_message(request))
        answer = answers.get(timeout=60)
    assert answer.state == "abandoned" and "emergency stop in force" in answer.reason

    control("--release", "--station", station, "--broker", url)
    assert retained_status(url, station).mode == "serving"
    worker.stop()
    worker = start_worker(processes, campaign, url, outbox, tmp_path / "w3.log")
    wait_for(lambda: retained_status(url, station).state == "online", 60, "the third worker")
    assert retained_status(url, station).mode == "serving"  # the release cleared the latch
    assert "comes up e-stopped" not in worker.output()
