"""The envelope's hourly cap survives a restart (issue 21, item 2): a worker process run
to its lab file's ``max_experiments_per_hour``, killed and started again on its journal,
refuses the next request with the cap's reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conftest import Cli, start_worker, wait_for, write_campaign
from .test_estop_latch import Asker, mode_is

pytestmark = [pytest.mark.faults, pytest.mark.mosquitto, pytest.mark.slow]

LAB = Path(__file__).parents[2] / "labs" / "colour_lab.yaml"


def lab_campaign(tmp_path: Path, url: str, cap: int) -> tuple[Path, str]:
    """The fault campaign on a station of a copy of the colour lab file, capped at ``cap``
    experiments per hour; the campaign file and the station id."""
    campaign = write_campaign(tmp_path, url)
    spec = yaml.safe_load(campaign.read_text())
    station = spec["station"]["id"]
    lab = yaml.safe_load(LAB.read_text())
    lab["stations"][0].update(id=station, max_experiments_per_hour=cap)
    for device in lab["stations"][0]["devices"]:
        if "envelope" in device:  # the campaign's bounds: the pumps' own 0-10 mL
            device["envelope"].update(limits=[0.0, 10.0], max_step=10.0)
    lab_file = tmp_path / "lab.yaml"
    lab_file.write_text(yaml.safe_dump(lab, sort_keys=False))
    spec["station"] = {
        "plugin": "lab",
        "id": station,
        "options": {"file": str(lab_file), "station": station},
    }
    campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
    return campaign, station


def test_the_hourly_cap_counts_from_the_journal_across_a_restart(
    private_mosquitto, processes: list[Cli], tmp_path: Path
) -> None:
    url = private_mosquitto.url
    campaign, station = lab_campaign(tmp_path, url, cap=2)
    outbox = tmp_path / "outbox.sqlite"
    worker = start_worker(processes, campaign, url, outbox, tmp_path / "w1.log")
    wait_for(lambda: mode_is(url, station, "serving"), 60, "the worker")
    asker = Asker(url, station)
    try:
        for trial in ("t0001", "t0002"):
            asker.send(trial)
            ran = asker.answer(trial)
            assert ran.state == "completed", ran

        worker.kill()  # within the hour: the cap must not start counting again
        worker = start_worker(processes, campaign, url, outbox, tmp_path / "w2.log")
        wait_for(lambda: mode_is(url, station, "serving"), 60, "the restarted worker")
        asker.send("t0003")
        refused = asker.answer("t0003")
    finally:
        asker.close()
    assert refused.trial_id == "t0003" and refused.state != "completed", refused
    assert "max_experiments_per_hour 2 reached" in refused.reason, refused
    assert refused.documents == 0  # nothing moved
