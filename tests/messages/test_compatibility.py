"""The wire survives upgrades (issue 21, item 3; the README's "Wire compatibility").

- Golden files (tests/messages/golden/<release>/, written once by make_golden.py, never
  rewritten): every message kind as each release sent it. This release, and every later
  one, must read them all and verify the signed ones.
- A newer minor release adds optional fields: a receiver of this release reads its
  messages, ignores the new fields, and still checks signatures over everything sent
  (new fields included: altering one breaks the signature).
- A message of a schema version this release cannot read is refused, naming both.
- On real processes over a real (TLS, ACL) broker with signing both ways, a campaign runs
  between a newer worker and a current orchestrator, and between a current worker and a
  newer orchestrator (tests/messages/newer_release.py).
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from genesis_lab import __version__
from genesis_lab.cli import app
from genesis_lab.errors import MessageError, SignatureError
from genesis_lab.messages import (
    SCHEMA_VERSION,
    DeliveryAck,
    DocumentMessage,
    ExperimentRequest,
    ManualTrialRequest,
    StationControl,
    StationStatus,
    TrialStatusMessage,
    decode_message,
    decode_worker_message,
    encode_message,
)
from genesis_lab.security import (
    MessageSigner,
    MessageVerifier,
    generate_signing_key,
    load_public_key,
)
from genesis_lab.store import CampaignRecord

sys.path.insert(0, str(Path(__file__).parent))
from newer_release import NEWER_FIELDS, newer

GOLDEN = Path(__file__).parent / "golden"
RELEASES = sorted(path for path in GOLDEN.iterdir() if path.is_dir())
MODELS: dict[str, type[BaseModel]] = {
    model.model_fields["kind"].default: model
    for model in (
        ExperimentRequest,
        DocumentMessage,
        TrialStatusMessage,
        DeliveryAck,
        ManualTrialRequest,
        StationControl,
        StationStatus,
    )
}
FILES = sorted(path for release in RELEASES for path in release.glob("*.json"))


def _kind(path: Path) -> str:
    return path.name.split(".")[0]


def _read_bytes(path: Path, payload: bytes) -> BaseModel:
    """``payload`` read as the message kind of the golden file ``path``, as its receiver
    reads it."""
    model = MODELS[_kind(path)]
    if model in (DocumentMessage, TrialStatusMessage):  # as the orchestrator reads them
        return decode_worker_message(payload)
    return decode_message(payload, model)


def _read(path: Path) -> BaseModel:
    return _read_bytes(path, path.read_bytes())


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_golden_message_of_every_release_is_read_as_it_was_sent(path: Path) -> None:
    message = _read(path)
    golden = json.loads(path.read_text())
    again = json.loads(encode_message(message))
    # Every field the old release sent is read with its value; nothing is left unknown.
    assert {key: again[key] for key in golden} == golden
    assert not message.model_extra


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if ".signed." in p.name],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_signed_golden_message_still_verifies(path: Path) -> None:
    verifier = MessageVerifier([load_public_key(path.parent / "golden-test-only.pub")])
    message = _read(path)
    assert verifier.verify(message, fresh=False).signer == "golden-signer"
    tampered = json.loads(path.read_text())
    tampered["sent_at"] += 1.0
    if _kind(path) == "document":  # a document's signature covers its statement
        tampered["doc"]["seq_num"] = 99
    altered = _read_bytes(path, json.dumps(tampered).encode())
    with pytest.raises(SignatureError) as refused:
        verifier.verify(altered, fresh=False)
    assert refused.value.reason == "bad-signature"


def test_the_newest_golden_release_holds_every_message_kind_of_this_release() -> None:
    newest = RELEASES[-1]
    kinds = {_kind(p) for p in newest.glob("*.json")}
    assert kinds == set(MODELS), "run tests/messages/golden/make_golden.py for a new release"
    signable = {k for k, model in MODELS.items() if "auth" in model.model_fields}
    assert {_kind(p) for p in newest.glob("*.signed.json")} == signable


UNKNOWN: dict[str, Any] = {
    "priority": 3,
    "calibration": {"certificate": "NIST-2026-117", "drift": [0.1, -0.25]},
    "note": "a field of schema 1.1",
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fields_of_a_newer_minor_release_are_ignored(path: Path) -> None:
    golden = json.loads(path.read_text())
    if "auth" in golden and golden["auth"] is not None:
        golden["auth"] = None  # re-signed with the new fields in the test below
    newer_payload = json.dumps({**golden, **UNKNOWN}).encode()
    message = _read_bytes(path, newer_payload)
    plain = _read_bytes(path, json.dumps(golden).encode())
    assert message.model_extra == UNKNOWN
    # Everything this release knows reads as without them.
    assert message.model_dump(exclude=set(UNKNOWN)) == plain.model_dump()


@pytest.mark.parametrize(
    "model",
    sorted((m for m in NEWER_FIELDS if "auth" in m.model_fields), key=lambda m: m.__name__),
    ids=lambda m: m.__name__,
)
def test_a_newer_release_signs_its_new_field_and_this_one_checks_it(
    model: type[BaseModel], tmp_path: Path
) -> None:
    key = generate_signing_key(tmp_path / "newer.key")
    sample = _read(RELEASES[-1] / f"{model.model_fields['kind'].default}.json")
    variant = newer(model)
    sent = MessageSigner(key, "newer").sign(variant.model_validate(sample.model_dump()))
    payload = encode_message(sent)
    field, value = NEWER_FIELDS[model]
    assert json.loads(payload)[field] == value
    verifier = MessageVerifier([key.public])
    path = RELEASES[-1] / f"{model.model_fields['kind'].default}.json"
    received = _read_bytes(path, payload)
    assert received.model_extra == {field: value}
    assert verifier.verify(received, fresh=False).signer == "newer"
    if model is DocumentMessage:
        return  # its signature covers its statement (the README says so): see below
    for change in ({field: "changed"}, {field: None}):
        altered = _read_bytes(path, json.dumps({**json.loads(payload), **change}).encode())
        with pytest.raises(SignatureError, match="does not match its signature"):
            verifier.verify(altered, fresh=False)
    dropped = {k: v for k, v in json.loads(payload).items() if k != field}
    with pytest.raises(SignatureError, match="does not match its signature"):
        verifier.verify(_read_bytes(path, json.dumps(dropped).encode()), fresh=False)


def test_a_document_signature_covers_its_statement_and_new_fields_change_nothing() -> None:
    """A document is signed as a statement (ids, name, the SHA-256 of the document) that
    the record keeps; a field outside it is ignored by this release, never stored."""
    path = RELEASES[-1] / "document.signed.json"
    verifier = MessageVerifier([load_public_key(path.parent / "golden-test-only.pub")])
    with_extra = json.dumps({**json.loads(path.read_text()), **UNKNOWN}).encode()
    message = decode_worker_message(with_extra)
    assert verifier.verify(message, fresh=False).signer == "golden-signer"
    assert isinstance(message, DocumentMessage) and "priority" not in message.doc


@pytest.mark.parametrize("version", [0, 2, 17])
def test_a_message_of_a_schema_version_this_release_cannot_read_names_both(
    version: int,
) -> None:
    payload = json.loads((RELEASES[-1] / "experiment_request.json").read_text())
    with pytest.raises(MessageError) as refused:
        decode_message(
            json.dumps({**payload, "schema_version": version}).encode(), ExperimentRequest
        )
    assert refused.value.reason == "version"
    text = str(refused.value)
    assert f"schema_version {version}" in text
    assert f"reads schema_version {SCHEMA_VERSION}" in text and __version__ in text
    assert ("upgrade this receiver" if version > SCHEMA_VERSION else "upgrade the sender") in text


def test_the_signature_block_stays_closed() -> None:
    """A change to how messages are signed is a new schema version, never a new field."""
    payload = json.loads((RELEASES[-1] / "experiment_request.signed.json").read_text())
    payload["auth"]["countersignature"] = "x"
    with pytest.raises(MessageError) as refused:
        decode_message(json.dumps(payload).encode(), ExperimentRequest)
    assert refused.value.reason == "schema" and "auth.countersignature" in str(refused.value)


# -- a campaign between releases, on real processes ---------------------------------------

CAMPAIGN = Path(__file__).parents[2] / "campaigns" / "colour_mixing.yaml"
NEWER = [sys.executable, str(Path(__file__).parent / "newer_release.py")]
CURRENT = [str(Path(sys.executable).parent / "genesis-lab")]
STATION = "colour-bench"


def _printed(output: str, command: str) -> list[str]:
    found = [
        ln.strip() for ln in output.splitlines() if ln.strip().startswith(f"genesis-lab {command} ")
    ]
    assert len(found) == 1, output
    return shlex.split(found[0])[1:]


@pytest.mark.mosquitto
@pytest.mark.slow
def test_a_campaign_runs_between_a_newer_and_a_current_release(
    tmp_path: Path, unused_port: int, start_mosquitto: Callable[..., Any]
) -> None:
    out = tmp_path / "lab"
    me = pwd.getpwuid(os.geteuid()).pw_name
    init = CliRunner().invoke(
        app,
        [
            "security", "init", "--lab", "compat", "--station", STATION,
            "--hostname", "127.0.0.1", "--port", str(unused_port), "--broker-user", me,
            "--out", str(out),
        ],
    )  # fmt: skip
    assert init.exit_code == 0, init.output
    start_mosquitto(config=out / "mosquitto.conf", port=unused_port, scheme="mqtts")
    url = f"mqtts://127.0.0.1:{unused_port}"
    worker_args = _printed(init.stdout, "worker")
    worker_args[worker_args.index("PLUGIN")] = STATION
    run_args = _printed(init.stdout, "run")

    for newer_side in ("worker", "orchestrator"):
        log = tmp_path / f"{newer_side}-newer.log"
        worker_cmd = NEWER if newer_side == "worker" else CURRENT
        run_cmd = NEWER if newer_side == "orchestrator" else CURRENT
        outbox = tmp_path / f"outbox-{newer_side}.sqlite"
        with log.open("ab") as sink:
            worker = subprocess.Popen(
                [*worker_cmd, *worker_args, "--outbox", str(outbox)],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            spec = yaml.safe_load(CAMPAIGN.read_text())
            spec.update(name=f"newer-{newer_side}", budget=3, initial_design=3, broker=url)
            campaign = tmp_path / f"campaign-{newer_side}.yaml"
            campaign.write_text(yaml.safe_dump(spec, sort_keys=False))
            args = list(run_args)
            args[args.index("CAMPAIGN.yaml")] = str(campaign)
            record = tmp_path / f"record-{newer_side}.sqlite"
            run = subprocess.run(
                [*run_cmd, *args, "--record", str(record), "--presence-timeout", "60"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stdout + run.stderr + log.read_text()
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        worker_log = log.read_text()
        # Nothing refused either way: every message of the other release was read.
        assert "3 completed, 0 failed, 0 rejected, 0 refused messages" in worker_log, worker_log
        assert "rejected (" not in worker_log and "refused (" not in worker_log, worker_log
        assert "rejected (" not in run.stdout + run.stderr, run.stdout + run.stderr

        with CampaignRecord(record, read_only=True) as stored:
            cid = stored.campaigns()[-1].campaign_id
            assert [t.state.value for t in stored.trials(cid)] == ["COMPLETED"] * 3
        verified = CliRunner().invoke(app, ["verify", str(record)])
        assert verified.exit_code == 0, verified.output
        # The newer side really sent its field: the worker journals requests as received.
        if newer_side == "orchestrator":
            import sqlite3

            with sqlite3.connect(outbox) as db:
                requests = [json.loads(row[0]) for row in db.execute("SELECT request FROM journal")]
            assert requests and all(r["priority"] == 3 for r in requests)
