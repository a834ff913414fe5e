"""Signed messages: who sent a command, and which station produced a result.

What is signed is the canonical JSON (sorted keys, no spaces) of

``{"context": "genesis-lab/v1 signed message", "algorithm", "key_id", "signer", "nonce",
"timestamp", "content"}``

where ``content`` is the message as JSON without its ``auth`` block, exactly as the
receiver will parse it (the signer signs its own message after a round trip through the
wire format, so a NaN sent as ``null`` is signed as ``null``). A document's ``content`` is
a statement instead, ``{"kind": "document", "campaign_id", "trial_id", "station_id",
"name", "doc_sha256"}`` with the SHA-256 of the document's canonical JSON: the campaign
record keeps all of that, so a record proves offline which station produced each
measurement (:func:`verify_document_signature`).

A receiver that trusts keys (:class:`MessageVerifier`) refuses, before acting: an unsigned
message, one signed by a key it does not trust, one whose signature does not match (any
byte of what was signed changed, or signed by another key than the one it names), and for
commands (``fresh``) one older than ``max_age_s`` (or its own ``expires_at``, whichever is
later), one more than ``max_future_s`` ahead of the receiver's clock, and one whose nonce it
has seen (a replay). Nonces are kept until the message would have expired anyway, in a
:class:`NonceStore` (the worker's is its outbox file, so a restart does not reopen the
window).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from cryptography.exceptions import InvalidSignature
from pydantic import BaseModel

from genesis_lab.canonical import canonical_json
from genesis_lab.errors import SignatureError
from genesis_lab.messages import DocumentMessage, MessageAuth
from genesis_lab.security._keys import PublicKey, SigningKey, public_key_from_pem

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_MAX_FUTURE_S",
    "RECORD_HEAD_CONTEXT",
    "SIGNING_CONTEXT",
    "MemoryNonces",
    "MessageSigner",
    "MessageSigning",
    "MessageVerifier",
    "NonceStore",
    "Verified",
    "canonical_json",
    "document_signature",
    "sign_record_head",
    "signed_bytes",
    "verify_document_signature",
    "verify_record_head",
]

SIGNING_CONTEXT = "genesis-lab/v1 signed message"
DEFAULT_MAX_AGE_S = 60.0
"""Seconds a signed command stays good after it was signed (unless it says it expires later)."""
DEFAULT_MAX_FUTURE_S = 30.0
"""Seconds a signed command's time may be ahead of the receiver's clock."""

S = TypeVar("S", bound=BaseModel)


def _signature_bytes(text: str) -> bytes:
    """The 64 signature bytes of ``text``, which must be their one canonical base64 (the
    last character's spare bits zero): otherwise ``ValueError``, so no byte of a signed
    message can change unnoticed."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not the canonical base64 of a signature")
    return raw


def _document_digest(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(doc)).encode("utf-8")).hexdigest()


def _document_statement(
    campaign_id: str, trial_id: str, station_id: str, name: str, doc: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "kind": "document",
        "campaign_id": campaign_id,
        "trial_id": trial_id,
        "station_id": station_id,
        "name": name,
        "doc_sha256": _document_digest(doc),
    }


def _content(message: BaseModel) -> dict[str, Any]:
    if isinstance(message, DocumentMessage):
        return _document_statement(
            message.campaign_id, message.trial_id, message.station_id, message.name, message.doc
        )
    # The fields as sent: one a newer release added and an older sender did not send is
    # left out, not filled with its default, or the older sender's signature would not hold.
    return message.model_dump(mode="json", exclude={"auth"}, exclude_unset=True)


def signed_bytes(content: Mapping[str, Any], auth: MessageAuth) -> bytes:
    """The exact bytes an Ed25519 signature covers: ``content`` with ``auth`` but its
    signature, as canonical JSON (UTF-8)."""
    body = {
        "context": SIGNING_CONTEXT,
        "algorithm": auth.algorithm,
        "key_id": auth.key_id,
        "signer": auth.signer,
        "nonce": auth.nonce,
        "timestamp": auth.timestamp,
        "content": dict(content),
    }
    return canonical_json(body).encode("utf-8")


class MessageSigner:
    """Signs messages with ``key`` as ``identity`` (who signs: an operator, an
    orchestrator, a station), each with a fresh nonce and the current time."""

    def __init__(
        self, key: SigningKey, identity: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not identity or len(identity) > 200:
            raise ValueError("a signer's identity must be 1 to 200 characters")
        self.key = key
        self.identity = identity
        self._clock = clock

    @property
    def key_id(self) -> str:
        return self.key.key_id

    def sign(self, message: S) -> S:
        """``message`` with its ``auth`` block: signed over what a receiver will parse."""
        if "auth" not in type(message).model_fields:
            raise TypeError(f"a {type(message).__name__} has no auth block to sign")
        unsigned = message.model_copy(update={"auth": None})
        # What the receiver will see: the message after the wire's round trip.
        parsed = type(message).model_validate_json(unsigned.model_dump_json())
        placeholder = MessageAuth(
            key_id=self.key.key_id,
            signer=self.identity,
            nonce=secrets.token_hex(16),
            timestamp=self._clock(),
            signature="A" * 86 + "==",
        )
        signature = self.key.private.sign(signed_bytes(_content(parsed), placeholder))
        auth = placeholder.model_copy(
            update={"signature": base64.b64encode(signature).decode("ascii")}
        )
        return parsed.model_copy(update={"auth": auth})


class NonceStore(Protocol):
    """Where a receiver keeps the nonces it has seen, each until its message expires."""

    def remember(self, nonce: str, until: float, now: float) -> bool:
        """Keep ``nonce`` until ``until`` (Unix s); ``False`` if it is already kept.
        Forget nonces kept past ``now``. Raise :class:`SignatureError`
        (``replay-cache-full``) rather than forget one still needed."""
        ...


class MemoryNonces:
    """Nonces in memory, at most ``capacity`` at a time (thread-safe). Lost with the
    process: a receiver restarted within ``max_age_s`` would take a replay."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def remember(self, nonce: str, until: float, now: float) -> bool:
        with self._lock:
            kept = self._until.get(nonce)
            if kept is not None and kept >= now:
                return False
            if len(self._until) >= self.capacity:
                self._until = {n: u for n, u in self._until.items() if u >= now}
                if len(self._until) >= self.capacity:
                    raise SignatureError(
                        f"{self.capacity} signed messages in their validity window: refusing "
                        "more rather than forgetting a nonce still needed",
                        reason="replay-cache-full",
                    )
            self._until[nonce] = until
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._until)


@dataclass(frozen=True)
class Verified:
    """A message's signature held up: signed by ``signer`` with trusted key ``key_id``."""

    key_id: str
    signer: str
    auth: MessageAuth
    station_id: str | None = None
    """The station the key speaks for, if it is a station's key."""
    operator: str | None = None
    """The person the key belongs to, if it is an operator's key."""

    @property
    def who(self) -> str:
        """Who signed, as the trusted key says (an operator's name) or else as the signer
        named itself, with the key id: ``alice (key 0123...)``."""
        return f"{self.operator or self.signer} (key {self.key_id})"


def _describe(message: BaseModel) -> str:
    kind = getattr(message, "kind", type(message).__name__)
    trial = getattr(message, "trial_id", None)
    command = getattr(message, "command", None)
    return f"{kind}" + (f" {command}" if command else "") + (f" for trial {trial}" if trial else "")


class MessageVerifier:
    """Checks messages against the ``trusted`` public keys.

    ``fresh`` checks (commands: requests, controls, manual trials) also refuse old, future
    and replayed messages, keeping nonces in ``nonces`` (in memory if None). Results are
    checked without them: a worker re-sends a result with its first signature until the
    orchestrator stores it, and the record drops duplicates by uid.
    """

    def __init__(
        self,
        trusted: Iterable[PublicKey],
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
        nonces: NonceStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_age_s <= 0 or max_future_s < 0:
            raise ValueError("need max_age_s > 0 and max_future_s >= 0")
        self.trusted = {key.key_id: key for key in trusted}
        if not self.trusted:
            raise ValueError("a verifier needs at least one trusted public key")
        self.max_age_s = max_age_s
        self.max_future_s = max_future_s
        self.nonces: NonceStore = MemoryNonces() if nonces is None else nonces
        self._clock = clock

    def verify(
        self,
        message: BaseModel,
        *,
        fresh: bool = True,
        station_id: str | None = None,
        dispatch: bool = False,
    ) -> Verified:
        """Return who signed ``message``, or raise :class:`SignatureError` saying why not.

        ``station_id``: the message must come from that station: signed by a key bound to
        it (``wrong-station`` otherwise, whatever station the message claims).
        ``dispatch``: the message moves an instrument (an experiment request): an
        operator's or a station's key may not sign one (``not-a-dispatcher``)."""
        what = _describe(message)
        auth = getattr(message, "auth", None)
        if not isinstance(auth, MessageAuth):
            raise SignatureError(f"{what} is not signed", reason="unsigned")
        key = self.trusted.get(auth.key_id)
        if key is None:
            raise SignatureError(
                f"{what} is signed by {auth.signer!r} with key {auth.key_id}, which is not "
                "trusted here",
                reason="unknown-key",
            )
        try:
            signature = _signature_bytes(auth.signature)
            key.key.verify(signature, signed_bytes(_content(message), auth))
        except (InvalidSignature, binascii.Error, ValueError):
            raise SignatureError(
                f"{what} does not match its signature (key {auth.key_id}, {auth.signer!r}): "
                "altered after signing, or not signed with the key it names",
                reason="bad-signature",
            ) from None
        if station_id is not None and key.station_id != station_id:
            speaks_for = "no station" if key.station_id is None else f"station {key.station_id!r}"
            raise SignatureError(
                f"{what} claims station {station_id!r} but is signed with key {auth.key_id} "
                f"({auth.signer!r}), which speaks for {speaks_for}: a station's key is "
                "trusted for its own station only",
                reason="wrong-station",
            )
        if dispatch and not key.may_dispatch:
            whose = f"operator {key.operator!r}" if key.operator else f"station {key.station_id!r}"
            raise SignatureError(
                f"{what} is signed with key {auth.key_id} of {whose}, which may pause, resume, "
                "e-stop and release but never dispatch an experiment",
                reason="not-a-dispatcher",
            )
        if fresh:
            self._check_fresh(message, auth, what)
        return Verified(auth.key_id, auth.signer, auth, key.station_id, key.operator)

    def _check_fresh(self, message: BaseModel, auth: MessageAuth, what: str) -> None:
        now = self._clock()
        if auth.timestamp > now + self.max_future_s:
            raise SignatureError(
                f"{what} was signed {auth.timestamp - now:.0f} s in the future of this clock "
                f"(more than {self.max_future_s:g} s): check both machines' clocks",
                reason="future",
            )
        until = auth.timestamp + self.max_age_s
        expires_at = getattr(message, "expires_at", None)
        if isinstance(expires_at, float) and math.isfinite(expires_at):
            until = max(until, expires_at)
        if until < now:
            raise SignatureError(
                f"{what} was signed {now - auth.timestamp:.0f} s ago and expired "
                f"{now - until:.0f} s ago (a signed command is good for {self.max_age_s:g} s)",
                reason="expired",
            )
        if not self.nonces.remember(f"{auth.key_id}:{auth.nonce}", until, now):
            raise SignatureError(
                f"{what} was received before (nonce {auth.nonce} of key {auth.key_id}): a replay",
                reason="replayed",
            )


@dataclass(frozen=True)
class MessageSigning:
    """One component's signing settings: ``key`` signs what it sends, as ``identity``;
    ``trusted`` are the keys whose signatures it accepts (none: it accepts unsigned
    messages, as before signing existed)."""

    key: SigningKey | None = None
    identity: str = ""
    trusted: tuple[PublicKey, ...] = field(default=())
    max_age_s: float = DEFAULT_MAX_AGE_S
    max_future_s: float = DEFAULT_MAX_FUTURE_S

    def signer(self, default_identity: str = "") -> MessageSigner | None:
        """A signer with ``key``, or None without one."""
        if self.key is None:
            return None
        return MessageSigner(self.key, self.identity or default_identity or self.key.key_id)

    def verifier(self, nonces: NonceStore | None = None) -> MessageVerifier | None:
        """A verifier of ``trusted`` keeping nonces in ``nonces``, or None if none is trusted."""
        if not self.trusted:
            return None
        return MessageVerifier(
            self.trusted, max_age_s=self.max_age_s, max_future_s=self.max_future_s, nonces=nonces
        )


def document_signature(message: DocumentMessage) -> dict[str, Any] | None:
    """What a record keeps of a document message's signature (None if unsigned): with the
    stored document, its trial and name, enough to check it offline."""
    if message.auth is None:
        return None
    return {"station_id": message.station_id, **message.auth.model_dump(mode="json")}


def verify_document_signature(
    public_key_pem: str,
    *,
    campaign_id: str,
    trial_id: str,
    name: str,
    doc: Mapping[str, Any],
    signature: Mapping[str, Any],
) -> bool:
    """Whether ``signature`` (as :func:`document_signature` gave it) is the signature, by
    the key in ``public_key_pem``, of document ``doc`` named ``name`` of the trial."""
    try:
        key = public_key_from_pem(public_key_pem)
        auth = MessageAuth.model_validate({k: v for k, v in signature.items() if k != "station_id"})
        if auth.key_id != key.key_id:
            return False
        statement = _document_statement(
            campaign_id, trial_id, str(signature["station_id"]), name, doc
        )
        key.key.verify(_signature_bytes(auth.signature), signed_bytes(statement, auth))
    except (InvalidSignature, ValueError, KeyError, binascii.Error):
        return False
    return True


RECORD_HEAD_CONTEXT = "genesis-lab/v1 record head"
"""What a signature over a record's chain head says it is (never a message's context)."""


def _head_statement(campaign_id: str, head: str, signer: str, key_id: str, at: float) -> bytes:
    return canonical_json(
        {
            "context": RECORD_HEAD_CONTEXT,
            "campaign_id": campaign_id,
            "head": head,
            "signer": signer,
            "key_id": key_id,
            "at": at,
        }
    ).encode("utf-8")


def sign_record_head(signer: MessageSigner, campaign_id: str, head: str) -> dict[str, Any]:
    """The signature of campaign ``campaign_id``'s record at chain head ``head`` (what
    :meth:`genesis_lab.store.CampaignRecord.seal` chains after it): key id, signer, time
    and the Ed25519 signature, base64."""
    at = time.time()
    statement = _head_statement(campaign_id, head, signer.identity, signer.key_id, at)
    signature = base64.b64encode(signer.key.private.sign(statement)).decode("ascii")
    return {"key_id": signer.key_id, "signer": signer.identity, "at": at, "signature": signature}


def verify_record_head(
    key: PublicKey, campaign_id: str, head: str, signature: Mapping[str, Any]
) -> bool:
    """Whether ``signature`` (as :func:`sign_record_head` made it) is ``key``'s signature of
    campaign ``campaign_id``'s record at chain head ``head``."""
    try:
        if signature["key_id"] != key.key_id:
            return False
        statement = _head_statement(
            campaign_id, head, str(signature["signer"]), key.key_id, float(signature["at"])
        )
        key.key.verify(_signature_bytes(str(signature["signature"])), statement)
    except (InvalidSignature, ValueError, KeyError, TypeError, binascii.Error):
        return False
    return True
