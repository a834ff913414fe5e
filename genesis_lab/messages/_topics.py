"""The MQTT topic scheme. Every topic starts with the protocol version.

=============================================  ======================  ===========================
topic                                          publisher -> receiver    payload
=============================================  ======================  ===========================
``genesis-lab/v1/stations/{station}/requests``  orchestrator -> worker  :class:`ExperimentRequest`
``genesis-lab/v1/stations/{station}/status``    worker (retained, will)  :class:`StationStatus`
``genesis-lab/v1/stations/{station}/control``   operator -> worker      :class:`StationControl`
                                                                        (an e-stop: retained)
``genesis-lab/v1/stations/{station}/acks``      orchestrator -> worker  :class:`DeliveryAck`
``genesis-lab/v1/stations/control``             operator -> every worker :class:`StationControl`
                                                                        (an e-stop: retained)
``genesis-lab/v1/campaigns/{campaign}/results`` worker -> orchestrator  :class:`DocumentMessage`,
                                                                        :class:`TrialStatusMessage`
``genesis-lab/v1/campaigns/{campaign}/control`` operator -> orchestr.  :class:`ManualTrialRequest`
=============================================  ======================  ===========================

A worker serves one station and may serve several campaigns; an orchestrator listens
only to its own campaign's results. Documents and statuses of one campaign share a
topic so that MQTT keeps them in the order the worker sent them.
"""

from __future__ import annotations

from genesis_lab.ids import check_id

__all__ = [
    "TOPIC_PREFIX",
    "campaign_control_topic",
    "campaign_results_topic",
    "check_topic_segment",
    "station_acks_topic",
    "station_control_topic",
    "station_requests_topic",
    "station_status_topic",
]

TOPIC_PREFIX = "genesis-lab/v1"


def check_topic_segment(value: str, what: str) -> str:
    """Return ``value`` if it is safe inside a topic (no ``/``, ``+``, ``#``); else raise."""
    return check_id(value, what)


def station_requests_topic(station_id: str) -> str:
    """Topic where experiment requests for ``station_id`` are published."""
    return f"{TOPIC_PREFIX}/stations/{check_topic_segment(station_id, 'station id')}/requests"


def station_status_topic(station_id: str) -> str:
    """Retained topic holding the worker's presence for ``station_id``."""
    return f"{TOPIC_PREFIX}/stations/{check_topic_segment(station_id, 'station id')}/status"


def station_acks_topic(station_id: str) -> str:
    """Topic where orchestrators acknowledge the messages of ``station_id``'s worker."""
    return f"{TOPIC_PREFIX}/stations/{check_topic_segment(station_id, 'station id')}/acks"


def station_control_topic(station_id: str | None = None) -> str:
    """Topic of operators' controls (e-stop, pause, ...) for ``station_id``; for every
    station when None. A worker listens to both its own and the shared one."""
    if station_id is None:
        return f"{TOPIC_PREFIX}/stations/control"
    return f"{TOPIC_PREFIX}/stations/{check_topic_segment(station_id, 'station id')}/control"


def campaign_control_topic(campaign_id: str) -> str:
    """Topic where operators send a campaign's orchestrator requests (manual trials)."""
    return f"{TOPIC_PREFIX}/campaigns/{check_topic_segment(campaign_id, 'campaign id')}/control"


def campaign_results_topic(campaign_id: str) -> str:
    """Topic where workers publish the documents and trial statuses of a campaign."""
    return f"{TOPIC_PREFIX}/campaigns/{check_topic_segment(campaign_id, 'campaign id')}/results"
