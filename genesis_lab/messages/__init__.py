"""Wire messages and the topic scheme (pydantic, versioned, no network code)."""

from genesis_lab.messages._models import (
    MAX_MESSAGE_BYTES,
    SCHEMA_VERSION,
    DocumentMessage,
    ExperimentRequest,
    ManualTrialRequest,
    StationControl,
    StationStatus,
    TrialStatusMessage,
    WorkerMessage,
    decode_message,
    decode_worker_message,
    encode_message,
)
from genesis_lab.messages._topics import (
    TOPIC_PREFIX,
    campaign_control_topic,
    campaign_results_topic,
    check_topic_segment,
    station_control_topic,
    station_requests_topic,
    station_status_topic,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SCHEMA_VERSION",
    "TOPIC_PREFIX",
    "DocumentMessage",
    "ExperimentRequest",
    "ManualTrialRequest",
    "StationControl",
    "StationStatus",
    "TrialStatusMessage",
    "WorkerMessage",
    "campaign_control_topic",
    "campaign_results_topic",
    "check_topic_segment",
    "decode_message",
    "decode_worker_message",
    "encode_message",
    "station_control_topic",
    "station_requests_topic",
    "station_status_topic",
]
