"""Write the golden message files of the current wire release (run once per release).

    python tests/messages/golden/make_golden.py v1

Writes ``tests/messages/golden/<release>/``: one JSON file per message kind as this
release sends it (``<kind>.json``) and, for every kind that can be signed, one signed with
a test-only key made for the purpose (``<kind>.signed.json``; its public key,
``golden-test-only.pub``, is kept beside them; delete the private key once written).
These files are never rewritten: every later release must keep reading them
(tests/messages/test_compatibility.py). It refuses to overwrite a release's files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from genesis_lab.messages import (
    DeliveryAck,
    DocumentMessage,
    ExperimentRequest,
    ManualTrialRequest,
    StationControl,
    StationStatus,
    TrialStatusMessage,
    encode_message,
)
from genesis_lab.security import MessageSigner, generate_signing_key

HERE = Path(__file__).parent
AT = 1_796_400_000.0  # 2026-12-04T17:20:00Z: every message's sent_at

SAMPLES: list[BaseModel] = [
    ExperimentRequest(
        sent_at=AT,
        campaign_id="c-golden",
        trial_id="t0007",
        station_id="colour-bench",
        setpoints={"pump_cyan": 3.25, "pump_magenta": 6, "solvent": "ethanol"},
        parameters={"cyan": 3.25, "magenta": 6, "solvent": "ethanol"},
        readings=["spectro_colour_error"],
        replicates=2,
        expires_at=AT + 60,
    ),
    DocumentMessage(
        sent_at=AT,
        message_id="5f0c7c2e-9d1e-4f55-8a43-3b1d2f6a9e01",
        campaign_id="c-golden",
        trial_id="t0007",
        station_id="colour-bench",
        name="event",
        doc={
            "uid": "5f0c7c2e-9d1e-4f55-8a43-3b1d2f6a9e01",
            "descriptor": "0c4f6f7e-2b8b-4d4e-9a55-7d8e1c2b3a40",
            "seq_num": 1,
            "time": AT - 1.5,
            "data": {"spectro_colour_error": 4.125, "pump_cyan": 3.25},
            "timestamps": {"spectro_colour_error": AT - 1.5, "pump_cyan": AT - 2.0},
            "filled": {},
        },
    ),
    TrialStatusMessage(
        sent_at=AT,
        message_id="b2d1e3f4a5b6c7d8e9f0a1b2c3d4e5f6",
        campaign_id="c-golden",
        trial_id="t0007",
        station_id="colour-bench",
        state="completed",
        reason="",
        run_uid="9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
        documents=5,
    ),
    DeliveryAck(
        sent_at=AT,
        campaign_id="c-golden",
        station_id="colour-bench",
        message_ids=["5f0c7c2e-9d1e-4f55-8a43-3b1d2f6a9e01", "b2d1e3f4a5b6c7d8e9f0a1b2c3d4e5f6"],
    ),
    ManualTrialRequest(
        sent_at=AT,
        campaign_id="c-golden",
        parameters={"cyan": 1.5, "magenta": 2, "solvent": "water"},
        requested_by="ana",
    ),
    StationControl(
        sent_at=AT,
        command="estop",
        station_id=None,
        requested_by="ana",
        reason="smoke in the fume hood",
    ),
    StationStatus(
        sent_at=AT,
        station_id="colour-bench",
        state="online",
        mode="estopped",
        plugin="colour-bench",
        actuators=["pump_cyan", "pump_magenta"],
        readings=["spectro_colour_error"],
        changed_by="ana",
        change_reason="estop: smoke in the fume hood",
    ),
]


def write(path: Path, message: BaseModel) -> None:
    text = json.dumps(json.loads(encode_message(message)), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def main(release: str) -> None:
    out = HERE / release
    if out.exists():
        sys.exit(f"{out} exists: golden files are never rewritten")
    out.mkdir()
    key = generate_signing_key(HERE / release / "golden-test-only.key")
    signer = MessageSigner(key, "golden-signer", clock=lambda: AT)
    for message in SAMPLES:
        kind: Any = type(message).model_fields["kind"].default
        write(out / f"{kind}.json", message)
        if "auth" in type(message).model_fields:
            write(out / f"{kind}.signed.json", signer.sign(message))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "v1")
