"""A small colour-mixing campaign, a worker for it in this process, and a run of it on a
broker: what the orchestration and review tests build their campaigns from."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from genesis_lab.messages import station_status_topic
from genesis_lab.messaging import MqttClient
from genesis_lab.orchestration import CampaignResult, CampaignRunner, Progress
from genesis_lab.spec import CampaignSpec, load_campaign
from genesis_lab.station import build_station
from genesis_lab.store import CampaignRecord
from genesis_lab.worker import Worker

__all__ = ["run", "small_spec", "worker_for"]

REPO = Path(__file__).resolve().parents[1]


def small_spec(budget: int = 12, **station_options: object) -> CampaignSpec:
    """The shipped colour-mixing campaign, smaller, on a station id of this test alone."""
    spec = load_campaign(REPO / "campaigns" / "colour_mixing.yaml").spec
    data = spec.model_dump()
    data.update(budget=budget, initial_design=min(5, budget), trial_timeout_s=60)
    data["station"]["id"] = f"bench-{uuid.uuid4().hex[:8]}"
    data["station"]["options"].update(station_options)
    return CampaignSpec.model_validate(data)


@contextmanager
def worker_for(spec: CampaignSpec, url: str) -> Iterator[Worker]:
    station = build_station(spec.station)
    worker = Worker(station, spec.station.station_id, url, plugin=spec.station.plugin)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        station.close()
        with MqttClient(url, client_id=f"cleanup-{uuid.uuid4().hex[:8]}") as client:
            client.publish_and_wait(
                station_status_topic(spec.station.station_id), b"", retain=True
            )  # leave no retained status on shared brokers


def run(
    spec: CampaignSpec, url: str, record_path: Path, progress: list[Progress] | None = None
) -> tuple[CampaignResult, CampaignRunner]:
    with CampaignRecord(record_path) as record:
        runner = CampaignRunner(
            spec,
            spec_text="",
            record=record,
            broker_url=url,
            progress=None if progress is None else progress.append,
        )
        return runner.run(), runner
