"""Run ``genesis-lab`` as the next minor release of the wire would: every message it sends
carries an optional field this release does not know (``priority`` on requests and
acknowledgements, ``calibration`` on documents and statuses, ``site`` on presence), made
by a model variant of each message (a subclass with the field), signed with it.

    python tests/messages/newer_release.py worker --campaign ... (any genesis-lab command)

Used by tests/messages/test_compatibility.py to run a campaign between a newer and a
current orchestrator or worker, in processes of their own, over a real broker.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel, Field

from genesis_lab.messages import (
    DeliveryAck,
    DocumentMessage,
    ExperimentRequest,
    StationStatus,
    TrialStatusMessage,
)

NEWER_FIELDS: dict[type[BaseModel], tuple[str, Any]] = {
    ExperimentRequest: ("priority", 3),
    DeliveryAck: ("priority", 3),
    DocumentMessage: ("calibration", {"certificate": "NIST-2026-117", "valid_days": 365}),
    TrialStatusMessage: ("calibration", {"certificate": "NIST-2026-117", "valid_days": 365}),
    StationStatus: ("site", "building 7, bay 3"),
}


def newer(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with its newer optional field, as the next minor release declares it."""
    name, default = NEWER_FIELDS[model]
    return type(
        model.__name__,  # the same name: what the logs and errors say does not change
        (model,),
        {
            "__annotations__": {name: type(default)},
            name: Field(default=default, description="A field of a newer minor release."),
            "__module__": __name__,
        },
    )


def install() -> None:
    """Make every sender of this process build the newer variants."""
    from genesis_lab.orchestration import (
        _acks,
        _runner,
    )
    from genesis_lab.worker import _guard, _worker

    _runner.ExperimentRequest = newer(ExperimentRequest)  # type: ignore[misc]
    _acks.DeliveryAck = newer(DeliveryAck)  # type: ignore[misc]
    _worker.DocumentMessage = newer(DocumentMessage)  # type: ignore[misc]
    _worker.TrialStatusMessage = newer(TrialStatusMessage)  # type: ignore[misc]
    _guard.TrialStatusMessage = newer(TrialStatusMessage)  # type: ignore[misc]
    _worker.StationStatus = newer(StationStatus)  # type: ignore[misc]


if __name__ == "__main__":
    install()
    from genesis_lab.cli import app

    sys.argv[0] = "genesis-lab"
    app()
