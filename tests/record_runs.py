"""Write a trial's run into a record as a worker's documents would arrive: for tests that
build records by hand. A completed trial's result must come from its own run's documents
(``genesis-lab verify`` recomputes it), so a hand-made completed trial needs one."""

from __future__ import annotations

from collections.abc import Mapping

from event_model import compose_run

from genesis_lab.store import CampaignRecord

__all__ = ["store_run"]


def store_run(
    record: CampaignRecord,
    campaign_id: str,
    trial_id: str,
    station_id: str,
    data: Mapping[str, float],
) -> str:
    """Store a run of one event with ``data`` (data key -> value) for the trial: start,
    descriptor, event, stop. Returns the start document's uid (the trial's run uid)."""
    run = compose_run(
        metadata={"campaign_id": campaign_id, "trial_id": trial_id, "station_id": station_id}
    )
    keys = {key: {"source": "sim", "dtype": "number", "shape": []} for key in data}
    descriptor = run.compose_descriptor(name="primary", data_keys=keys)
    event = descriptor.compose_event(data=dict(data), timestamps=dict.fromkeys(data, 0.0))
    docs = [("start", run.start_doc), ("descriptor", descriptor.descriptor_doc)]
    docs += [("event", event), ("stop", run.compose_stop())]
    for name, doc in docs:
        record.add_document(campaign_id, trial_id, name, dict(doc))
    return str(run.start_doc["uid"])
