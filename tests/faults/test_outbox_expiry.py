"""Outbox entries nobody will acknowledge (issue 15, item 4): a worker sets aside, with a
logged reason, what a campaign that ended or never existed will never take, instead of
sending it again forever; ``genesis-lab worker --outbox-status`` shows what waits and why.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from genesis_lab.messages import (
    DeliveryAck,
    ExperimentRequest,
    encode_message,
    station_acks_topic,
    station_requests_topic,
)
from genesis_lab.messaging import MqttClient
from genesis_lab.worker import Outbox

from .conftest import (
    CLI,
    Cli,
    outbox_size,
    wait_for,
    worker_in_process,
    write_campaign,
)

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto]


def outbox_status(outbox: Path) -> str:
    done = subprocess.run(
        [*CLI, "worker", "--station", "colour-bench", "--outbox", str(outbox), "--outbox-status"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return " ".join(done.stdout.split())


@pytest.mark.slow
def test_results_of_a_campaign_that_never_existed_are_set_aside(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    """An unsigned request names a campaign no orchestrator runs: the worker runs it (an
    unsigned lab obeys anyone) and its results used to be sent again every 300 s forever.
    Now, silent for --outbox-expiry seconds, they are set aside with the reason, logged,
    kept in the file and shown by --outbox-status."""
    campaign = write_campaign(tmp_path, private_mosquitto.url)
    station = yaml.safe_load(campaign.read_text())["station"]["id"]
    outbox = tmp_path / "outbox.sqlite"
    worker = Cli(
        [
            "worker",
            "--campaign",
            str(campaign),
            "--broker",
            private_mosquitto.url,
            "--outbox",
            str(outbox),
            "--ack-timeout",
            "1",
            "--outbox-expiry",
            "20",
        ],
        tmp_path / "w.log",
    )
    processes.append(worker)
    wait_for(lambda: "serving on" in worker.output(), 60, "the worker to serve")
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    request = ExperimentRequest(
        campaign_id=ghost,
        trial_id="t0001",
        station_id=station,
        setpoints={"pump_cyan": 1.0, "pump_magenta": 1.0, "pump_yellow": 1.0},
        parameters={"cyan": 1.0, "magenta": 1.0, "yellow": 1.0},
    )
    with MqttClient(private_mosquitto.url, client_id=f"misrouted-{ghost}") as sender:
        sender.publish_and_wait(station_requests_topic(station), encode_message(request))
    wait_for(lambda: outbox_size(outbox) > 0, 60, "the misrouted trial's results")
    waiting = outbox_status(outbox)
    assert f"campaign {ghost}:" in waiting and "it never acknowledged anything" in waiting
    wait_for(lambda: outbox_size(outbox) == 0, 120, "the results to be set aside")
    said = " ".join(worker.output().split())
    assert f"of campaign {ghost}: it acknowledged nothing for 20 s" in said
    shown = outbox_status(outbox)
    assert "waiting for an acknowledgement: 0 message(s)" in shown
    assert f"campaign {ghost}:" in shown and "never had an orchestrator" in shown
    assert Outbox(outbox).expired()[0].count >= 4  # kept in the file: start, ..., status


def test_a_completed_campaign_lets_its_worker_set_aside_what_is_left(
    private_mosquitto, tmp_path: Path
) -> None:
    """The orchestrator of a completed campaign says so; whatever its worker still keeps
    of that campaign (never needed) is set aside at once, not sent again; another
    campaign's messages stay."""
    campaign = write_campaign(tmp_path, private_mosquitto.url)
    with worker_in_process(campaign, private_mosquitto.url, tmp_path / "o.sqlite", 60.0) as w:
        w.outbox.put("left-1", "done-1", "t/done", b"x", resend_s=60.0)
        w.outbox.put("other-1", "running-1", "t/running", b"y", resend_s=60.0)
        ended = DeliveryAck(campaign_id="done-1", station_id=w.station_id, campaign_ended=True)
        with MqttClient(private_mosquitto.url, client_id=f"o-{uuid.uuid4().hex[:8]}") as o:
            o.publish_and_wait(station_acks_topic(w.station_id), encode_message(ended))
        wait_for(lambda: len(w.outbox) == 1, 30, "the completed campaign's message set aside")
        [aside] = w.outbox.expired()
        assert aside.campaign_id == "done-1" and "completed" in aside.reason
        assert [x.campaign_id for x in w.outbox.waiting()] == ["running-1"]


def test_a_campaign_that_acknowledges_keeps_its_messages(tmp_path: Path) -> None:
    """Only a silent campaign's messages are set aside: one whose orchestrator
    acknowledged something lately keeps what waits (a resume will take it)."""
    box = Outbox(tmp_path / "o.sqlite")
    box.put("a-1", "alive", "t", b"x", resend_s=1.0)
    box.put("a-2", "alive", "t", b"x", resend_s=1.0)
    box.put("s-1", "silent", "t", b"x", resend_s=1.0)
    time.sleep(1.0)  # every message is older than the silence allowed below
    box.ack(["a-1"], "alive")
    assert box.expire_silent(0.5) == {"silent": 1}
    assert [w.campaign_id for w in box.waiting()] == ["alive"]
    [aside] = box.expired()
    assert aside.campaign_id == "silent" and "acknowledged nothing for 0.5 s" in aside.reason
    box.close()
