"""A record anchored outside its own control (issue 14, item 2): the orchestrator seals the
chain head with its key, `verify --trust` pins the keys a reviewer expects, `verify --head`
checks a head noted elsewhere, and a signed campaign's documents must all be signed.
Each rewrite below re-hashes the whole chain, so the chain alone still verifies."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from record_forgery import rewrite_record
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.security import (
    MessageSigner,
    generate_signing_key,
    load_signing_key,
    sign_record_head,
)
from genesis_lab.store import CampaignRecord, verify_record

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"

cli = CliRunner()


class Signed:
    """A signed campaign from the CLI: the operator's and the station's keys, the record,
    and the chain head `run` printed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.operator = directory / "operator.key"
        self.station = directory / "station.key"
        self.record = directory / "record.sqlite"
        for key, extra in ((self.operator, []), (self.station, ["--station", "colour-bench"])):
            made = cli.invoke(app, ["security", "keygen", "--out", str(key), *extra])
            assert made.exit_code == 0, made.output
        ran = cli.invoke(
            app,
            [
                "run",
                str(CAMPAIGN),
                "--budget",
                "3",
                "--record",
                str(self.record),
                "--signing-key",
                str(self.operator),
                "--station-key",
                str(self.station),
            ],
        )
        assert ran.exit_code == 0, ran.output
        found = re.search(r"record chain head: ([0-9a-f]{64})", " ".join(ran.output.split()))
        assert found, ran.output
        self.printed_head = found.group(1)

    def pins(self) -> list[str]:
        return [
            "--trust",
            str(self.operator.with_suffix(".pub")),
            "--trust",
            str(self.station.with_suffix(".pub")),
        ]

    def copy(self, tmp_path: Path) -> Path:
        path = tmp_path / "copy.sqlite"
        shutil.copy(self.record, path)
        return path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return Signed(tmp_path_factory.mktemp("anchors"))


def verify(path: Path, *options: str) -> tuple[int, str]:
    result = cli.invoke(app, ["verify", str(path), *options])
    return result.exit_code, " ".join(result.output.split())


def test_a_signed_campaign_is_sealed_and_verifies_against_pinned_keys(signed: Signed) -> None:
    code, said = verify(signed.record, *signed.pins(), "--head", signed.printed_head)
    assert code == 0, said
    assert "sealed: chain head" in said and "checked against a pinned key" in said
    assert f"passes through the noted head {signed.printed_head}" in said
    with CampaignRecord(signed.record, read_only=True) as record:
        [seal] = record.seals()
        ledger = record.ledger()
    # The seal is the last entry (nothing written after it); run printed the final head.
    assert ledger[-1].kind == "seal" and ledger[-1].hash == signed.printed_head
    assert seal.head == ledger[-2].hash
    # A head the chain never passed through.
    code, said = verify(signed.record, "--head", "0" * 64)
    assert code == 1 and "does not pass through the noted head" in said


def test_a_rewritten_chain_breaks_the_seal(signed: Signed, tmp_path: Path) -> None:
    path = signed.copy(tmp_path)
    with CampaignRecord(path, read_only=True) as record:
        cid = record.campaigns()[-1].campaign_id

    def edit(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "event" and body["event"] == "started":
            return {**body, "actor": "someone else"}
        return None

    rewrite_record(
        path,
        [("UPDATE campaign_events SET actor = 'someone else' WHERE event = 'started'", ())],
        edit,
    )
    with CampaignRecord(path, read_only=True) as record:
        assert verify_record(record).ok  # the chain was re-hashed consistently
    code, said = verify(path)
    assert code == 1 and "seal (ledger entry" in said and f"of campaign {cid}" in said
    assert "the chain before it was rewritten, or the seal forged" in said
    code, said = verify(path, "--head", signed.printed_head)
    assert code == 1 and "does not pass through the noted head" in said


def test_replaced_keys_pass_only_until_the_expected_keys_are_pinned(
    signed: Signed, tmp_path: Path
) -> None:
    """The forger replaces the orchestrator's key in the record with their own and seals
    the rewritten chain with it: the record's own keys then agree, so only pinning the
    expected keys catches it."""
    path = signed.copy(tmp_path)
    forger = generate_signing_key(tmp_path / "forger.key")
    real = load_signing_key(signed.operator)
    signer = MessageSigner(forger, "orchestrator")

    def edit(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "signing-key" and body["key_id"] == real.key_id:
            return {**body, "key_id": forger.key_id, "public_key": forger.public.pem}
        return None

    rewrite_record(
        path,
        [
            (
                "UPDATE signing_keys SET key_id = ?, public_key = ? WHERE key_id = ?",
                (forger.key_id, forger.public.pem, real.key_id),
            )
        ],
        edit,
        reseal=lambda cid, head: sign_record_head(signer, cid, head),
    )
    code, said = verify(path)
    assert code == 0, said  # self-consistent: nothing in the record says otherwise
    code, said = verify(path, *signed.pins())
    assert code == 1
    assert f"orchestrator key {forger.key_id}: is not one of the keys pinned with --trust" in said
    assert f"made with key {forger.key_id}, not an orchestrator key pinned with --trust" in said


def test_a_removed_document_signature_fails_verify(signed: Signed, tmp_path: Path) -> None:
    path = signed.copy(tmp_path)
    with CampaignRecord(path, read_only=True) as record:
        cid = record.campaigns()[-1].campaign_id
        uid = next(iter(record.document_signatures(cid)))

    def edit(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "document" and body["uid"] == uid:
            return {k: v for k, v in body.items() if k != "signature"}
        return None

    rewrite_record(path, [("DELETE FROM document_signatures WHERE uid = ?", (uid,))], edit)
    with CampaignRecord(path, read_only=True) as record:
        assert verify_record(record).ok
    code, said = verify(path)
    assert code == 1
    assert f"document {uid}" in said and "carries no station signature" in said


def test_an_unsigned_campaign_says_it_is_not_sealed(tmp_path: Path) -> None:
    record = tmp_path / "plain.sqlite"
    ran = cli.invoke(app, ["run", str(CAMPAIGN), "--budget", "2", "--record", str(record)])
    assert ran.exit_code == 0, ran.output
    code, said = verify(record)
    assert code == 0 and "not sealed: no orchestrator signed its chain head" in said
    with CampaignRecord(record, read_only=True) as stored:
        assert stored.seals() == []
    assert (
        json.loads(cli.invoke(app, ["verify", str(record), "--json"]).output)["seals"]["seals"] == 0
    )
