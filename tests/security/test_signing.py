"""Ed25519 keys and signed messages: what a receiver that trusts a key refuses, and why.

Every check goes through the wire format: a message is signed, encoded to the bytes MQTT
carries, decoded as the receiver would, and verified.
"""

from __future__ import annotations

import base64
import os
import stat
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis_lab.errors import KeyFileError, MessageError, SignatureError
from genesis_lab.messages import (
    DocumentMessage,
    ExperimentRequest,
    ManualTrialRequest,
    StationControl,
    TrialStatusMessage,
    decode_message,
    decode_worker_message,
    encode_message,
)
from genesis_lab.security import (
    MemoryNonces,
    MessageSigner,
    MessageVerifier,
    PublicKey,
    SigningKey,
    document_signature,
    generate_signing_key,
    load_public_key,
    load_signing_key,
    verify_document_signature,
)
from genesis_lab.worker._outbox import Outbox

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[SigningKey, SigningKey]:
    """The orchestrator's key and another one (an attacker's)."""
    return generate_signing_key(tmp_path / "op.key"), generate_signing_key(tmp_path / "x.key")


def _request(**fields: object) -> ExperimentRequest:
    base: dict[str, object] = {
        "campaign_id": "c1",
        "trial_id": "t0001",
        "station_id": "bench",
        "setpoints": {"pump_cyan": 3.2, "pump_magenta": 6.1},
        "parameters": {"cyan": 3.2, "magenta": 6.1},
    }
    return ExperimentRequest.model_validate({**base, **fields})


def _wire(message: ExperimentRequest) -> ExperimentRequest:
    return decode_message(encode_message(message), ExperimentRequest)


def _refusal(verifier: MessageVerifier, message: object, **kwargs: bool) -> str:
    with pytest.raises(SignatureError) as caught:
        verifier.verify(message, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


# ------------------------------------------------------------------------ keys
def test_keygen_writes_a_private_key_only_its_owner_reads_and_its_public_half(
    tmp_path: Path,
) -> None:
    key = generate_signing_key(tmp_path / "lab" / "orchestrator.key")
    private, public = tmp_path / "lab" / "orchestrator.key", tmp_path / "lab" / "orchestrator.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(key.key_id) == 16 and int(key.key_id, 16) >= 0
    assert load_signing_key(private).key_id == key.key_id == load_public_key(public).key_id
    assert "PRIVATE" not in repr(key) and "private=" not in repr(key)
    with pytest.raises(KeyFileError, match="already exists"):
        generate_signing_key(private)
    assert generate_signing_key(private, overwrite=True).key_id != key.key_id


def test_a_private_key_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "op.key"
    generate_signing_key(path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFileError, match=r"mode 0640.*chmod 600"):
        load_signing_key(path)


def test_bad_key_files_are_refused_naming_the_problem(tmp_path: Path) -> None:
    generate_signing_key(tmp_path / "op.key")
    with pytest.raises(KeyFileError, match="does not exist; make one with"):
        load_signing_key(tmp_path / "missing.key")
    public_as_private = tmp_path / "pub-as.key"
    public_as_private.write_bytes((tmp_path / "op.pub").read_bytes())
    os.chmod(public_as_private, 0o600)
    with pytest.raises(KeyFileError, match="holds a public key"):
        load_signing_key(public_as_private)
    with pytest.raises(KeyFileError, match="holds a private key; give its public half"):
        load_public_key(tmp_path / "op.key")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    other = tmp_path / "ec.key"
    other.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(other, 0o600)
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_signing_key(other)
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        load_signing_key(tmp_path / "op.key").private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    os.chmod(encrypted, 0o600)
    with pytest.raises(KeyFileError, match="is encrypted"):
        load_signing_key(encrypted)
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key")
    with pytest.raises(KeyFileError, match="not a public key"):
        load_public_key(garbage)


# -------------------------------------------------------------- sign / verify
def test_every_signable_message_survives_the_wire_and_verifies(
    keys: tuple[SigningKey, SigningKey],
) -> None:
    signer = MessageSigner(keys[0], "ana@lab")
    verifier = MessageVerifier([keys[0].public])
    request = _wire(signer.sign(_request(expires_at=time.time() + 30)))
    assert verifier.verify(request).signer == "ana@lab"
    control = signer.sign(StationControl(command="release", requested_by="ana"))
    assert verifier.verify(decode_message(encode_message(control), StationControl))
    manual = signer.sign(ManualTrialRequest(campaign_id="c1", parameters={"cyan": 1}))
    assert verifier.verify(decode_message(encode_message(manual), ManualTrialRequest))
    # NaN readings travel as null: the signature covers what the receiver parses.
    doc = {"uid": "u1", "data": {"spectro": float("nan"), "n": 3}, "seq_num": 1}
    document = signer.sign(
        DocumentMessage(campaign_id="c1", trial_id="t1", station_id="b", name="event", doc=doc)
    )
    received = decode_worker_message(encode_message(document))
    assert verifier.verify(received, fresh=False).key_id == keys[0].key_id
    status = signer.sign(
        TrialStatusMessage(campaign_id="c1", trial_id="t1", station_id="b", state="completed")
    )
    assert verifier.verify(decode_worker_message(encode_message(status)), fresh=False)


def test_unsigned_forged_and_tampered_requests_are_refused(
    keys: tuple[SigningKey, SigningKey],
) -> None:
    ours, theirs = keys
    verifier = MessageVerifier([ours.public])
    assert _refusal(verifier, _wire(_request())) == "unsigned"
    # Signed by a key the receiver does not trust.
    forged = _wire(MessageSigner(theirs, "mallory").sign(_request()))
    assert _refusal(verifier, forged) == "unknown-key"
    # Signed by another key but naming the trusted key's id.
    claimed = forged.auth.model_copy(update={"key_id": ours.key_id})  # type: ignore[union-attr]
    assert _refusal(verifier, forged.model_copy(update={"auth": claimed})) == "bad-signature"
    # A setpoint changed on the wire after signing.
    payload = encode_message(MessageSigner(ours, "ana").sign(_request()))
    tampered = payload.replace(b'"pump_cyan":3.2', b'"pump_cyan":9.2')
    assert tampered != payload
    assert _refusal(verifier, decode_message(tampered, ExperimentRequest)) == "bad-signature"
    # The signature's last base64 character carries 4 spare bits: setting one changes no
    # signature byte, and is refused all the same.
    signed = decode_message(payload, ExperimentRequest)
    text = signed.auth.signature  # type: ignore[union-attr]
    spare = text[:85] + _B64[_B64.index(text[85]) ^ 1] + "=="
    assert base64.b64decode(spare) == base64.b64decode(text)
    respelt = signed.auth.model_copy(update={"signature": spare})  # type: ignore[union-attr]
    assert _refusal(verifier, signed.model_copy(update={"auth": respelt})) == "bad-signature"


def _module_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    return SigningKey(private, PublicKey.of(private.public_key()))


_KEY = _module_key()  # hypothesis runs a test many times: one key and one payload for all
_SIGNED = encode_message(MessageSigner(_KEY, "ana").sign(_request(expires_at=time.time() + 3600)))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_changing_any_byte_of_a_signed_request_gets_it_refused(data: st.DataObject) -> None:
    payload, key = _SIGNED, _KEY
    index = data.draw(st.integers(0, len(payload) - 1), label="index")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != payload[index]), label="byte")
    changed = payload[:index] + bytes([byte]) + payload[index + 1 :]
    verifier = MessageVerifier([key.public])
    try:
        message = decode_message(changed, ExperimentRequest)
    except MessageError:
        return  # not even a request any more
    with pytest.raises(SignatureError):
        verifier.verify(message)


def test_expired_and_future_requests_are_refused(keys: tuple[SigningKey, SigningKey]) -> None:
    key = keys[0]
    now = time.time()
    verifier = MessageVerifier([key.public], max_age_s=60, max_future_s=30)
    old = MessageSigner(key, "ana", clock=lambda: now - 61).sign(_request())
    assert _refusal(verifier, _wire(old)) == "expired"
    ahead = MessageSigner(key, "ana", clock=lambda: now + 31).sign(_request())
    assert _refusal(verifier, _wire(ahead)) == "future"
    # A request whose own lease runs longer than the default age is good until its expiry...
    leased = MessageSigner(key, "ana", clock=lambda: now - 90).sign(_request(expires_at=now + 10))
    assert verifier.verify(_wire(leased))
    # ... and not after it.
    lapsed = MessageSigner(key, "ana", clock=lambda: now - 90).sign(_request(expires_at=now - 1))
    assert _refusal(verifier, _wire(lapsed)) == "expired"
    # Results are checked for who signed them, not for age: they are re-sent until stored.
    status = MessageSigner(key, "bench", clock=lambda: now - 3600).sign(
        TrialStatusMessage(campaign_id="c1", trial_id="t1", station_id="b", state="completed")
    )
    assert verifier.verify(status, fresh=False)


def test_a_replayed_request_is_refused(keys: tuple[SigningKey, SigningKey]) -> None:
    key = keys[0]
    verifier = MessageVerifier([key.public])
    payload = encode_message(MessageSigner(key, "ana").sign(_request()))
    assert verifier.verify(decode_message(payload, ExperimentRequest))
    assert _refusal(verifier, decode_message(payload, ExperimentRequest)) == "replayed"
    # The same request signed again has a new nonce: not a replay.
    assert verifier.verify(_wire(MessageSigner(key, "ana").sign(_request())))


def test_the_replay_window_survives_a_restart_of_the_worker(
    keys: tuple[SigningKey, SigningKey], tmp_path: Path
) -> None:
    """The worker keeps nonces in its outbox file: a new worker on it refuses the replay."""
    key = keys[0]
    payload = encode_message(MessageSigner(key, "ana").sign(_request()))
    first = Outbox(tmp_path / "outbox.sqlite")
    try:
        MessageVerifier([key.public], nonces=first).verify(
            decode_message(payload, ExperimentRequest)
        )
    finally:
        first.close()
    second = Outbox(tmp_path / "outbox.sqlite")
    try:
        verifier = MessageVerifier([key.public], nonces=second)
        assert _refusal(verifier, decode_message(payload, ExperimentRequest)) == "replayed"
    finally:
        second.close()


def test_nonces_are_forgotten_once_their_message_expired_and_the_cache_is_bounded() -> None:
    nonces = MemoryNonces(capacity=2)
    assert nonces.remember("a", until=10.0, now=0.0)
    assert not nonces.remember("a", until=10.0, now=5.0)
    assert nonces.remember("b", until=20.0, now=5.0)
    assert nonces.remember("c", until=30.0, now=11.0)  # "a" has expired: room again
    with pytest.raises(SignatureError) as full:
        nonces.remember("d", until=40.0, now=12.0)  # "b" and "c" are still needed
    assert full.value.reason == "replay-cache-full"


def test_a_document_signature_proves_offline_what_the_station_measured(
    keys: tuple[SigningKey, SigningKey],
) -> None:
    station = keys[1]
    doc = {"uid": "e1", "data": {"spectro_colour_error": 1.25}, "seq_num": 1}
    message = MessageSigner(station, "station bench").sign(
        DocumentMessage(campaign_id="c1", trial_id="t3", station_id="bench", name="event", doc=doc)
    )
    signature = document_signature(message)
    assert signature is not None

    def check(
        pem: str = station.public.pem,
        trial_id: str = "t3",
        name: str = "event",
        measured: dict[str, object] = doc,
    ) -> bool:
        return verify_document_signature(
            pem, campaign_id="c1", trial_id=trial_id, name=name, doc=measured, signature=signature
        )

    assert check()
    assert not check(measured={**doc, "data": {"spectro_colour_error": 1.26}})
    assert not check(trial_id="t4")
    assert not check(name="descriptor")
    assert not check(pem=keys[0].public.pem)


def test_a_key_file_names_its_station_or_its_operator_never_both(tmp_path: Path) -> None:
    """Issue 14, items 1 and 4: what a public key may sign follows from its file."""
    station = generate_signing_key(tmp_path / "s.key", station_id="furnace-1")
    operator = generate_signing_key(tmp_path / "o.key", operator="carol")
    plain = generate_signing_key(tmp_path / "p.key")
    loaded = {name: load_public_key(tmp_path / f"{name}.pub") for name in ("s", "o", "p")}
    assert (loaded["s"].station_id, loaded["s"].operator) == ("furnace-1", None)
    assert (loaded["o"].station_id, loaded["o"].operator) == (None, "carol")
    assert [loaded[n].may_dispatch for n in ("s", "o", "p")] == [False, False, True]
    assert [loaded[n].key_id for n in ("s", "o", "p")] == [
        station.key_id,
        operator.key_id,
        plain.key_id,
    ]
    both = tmp_path / "both.pub"
    both.write_text("station: furnace-1\noperator: carol\n" + plain.public.pem)
    with pytest.raises(KeyFileError, match="bound more than once"):
        load_public_key(both)
    with pytest.raises(KeyFileError, match="speaks for 'furnace-1', not station 'furnace-2'"):
        load_public_key(tmp_path / "s.pub", station_id="furnace-2")
