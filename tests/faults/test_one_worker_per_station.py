"""Two workers for one station id (issue 17, item 2): they used to share one MQTT client
id and push each other off the broker every few seconds, failing trials. Now the second
sees the first's presence, refuses to start with a clear error, and the first serves on
undisturbed; once the first has stopped, a new one starts."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .conftest import Cli, start_worker, wait_for, write_campaign
from .test_presence import retained_status

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]


def test_a_second_worker_for_a_served_station_refuses_to_start(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    url = private_mosquitto.url
    campaign = write_campaign(tmp_path, url, budget=2)
    first = start_worker(processes, campaign, url, tmp_path / "a.sqlite", tmp_path / "a.log")
    wait_for(lambda: retained_status(url, _station(campaign)).state == "online", 60, "worker A")
    serving = retained_status(url, _station(campaign))
    assert serving.worker, serving  # the presence names the worker process

    second = start_worker(processes, campaign, url, tmp_path / "b.sqlite", tmp_path / "b.log")
    assert second.wait(timeout=120) == 1, second.output()
    said = second.output()
    assert f"station '{_station(campaign)}' is already served by another worker" in said
    assert serving.worker in said  # who serves it
    # The first kept its session and its presence: nobody pushed it off.
    assert first.proc.poll() is None
    assert retained_status(url, _station(campaign)) == serving
    assert "disconnected" not in (tmp_path / "a.log").read_text()

    first.proc.send_signal(signal.SIGTERM)  # a clean stop says offline
    assert first.proc.wait(timeout=60) == 0, first.output()
    third = start_worker(processes, campaign, url, tmp_path / "a.sqlite", tmp_path / "c.log")
    wait_for(
        lambda: retained_status(url, _station(campaign)).worker not in ("", serving.worker),
        60,
        "a new worker to serve the station",
    )
    assert third.proc.poll() is None


def _station(campaign: Path) -> str:
    import yaml

    return str(yaml.safe_load(campaign.read_text())["station"]["id"])
