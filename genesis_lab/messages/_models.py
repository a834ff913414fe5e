"""Versioned wire messages. Everything that crosses MQTT is one of these, as JSON.

Compatibility (the README's "Wire compatibility" states the policy in full): a receiver
reads the messages of the schema versions in :data:`READABLE_SCHEMA_VERSIONS` and ignores
fields it does not know (a tolerant reader: a newer sender's new optional field does not
stop an older receiver). An unknown field is kept with the message (``model_extra``) and
so stays under the signature, which covers the content as sent; the code acts on none of
them. A message of a schema version the receiver cannot read is refused with a reason
that names both versions. The ``auth`` block is closed (unknown fields refused): a change
to signing is a new schema version.
"""

from __future__ import annotations

import math
import time
import unicodedata
import uuid
from functools import partial
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from genesis_lab import __version__
from genesis_lab.errors import MessageError
from genesis_lab.ids import ID_PATTERN

__all__ = [
    "MAX_MESSAGE_BYTES",
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "DeliveryAck",
    "DocumentMessage",
    "ExperimentRequest",
    "ManualTrialRequest",
    "MessageAuth",
    "StationControl",
    "StationStatus",
    "TrialStatusMessage",
    "WorkerMessage",
    "decode_message",
    "decode_worker_message",
    "encode_message",
]

SCHEMA_VERSION: Final = 1
"""The schema version this release sends."""
READABLE_SCHEMA_VERSIONS: Final = (1,)
"""The schema versions this release reads: its own and (once there is one) the previous."""
MAX_MESSAGE_BYTES = 1_048_576  # 1 MiB; larger payloads are refused before parsing

_ID = ID_PATTERN
DocumentName = Literal[
    "start", "descriptor", "event", "event_page", "stop", "resource", "datum", "datum_page"
]


def plain_text(value: object, *, limit: int) -> object:
    """``value`` made safe to log and store, if it is text: every control or format
    character (newlines, escape sequences, bidirectional overrides) becomes a space and
    the text is cut to ``limit`` characters. Other values pass unchanged, to be refused by
    the field's type."""
    if not isinstance(value, str):
        return value
    cleaned = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    return cleaned[:limit]


# Free text a person or a peer fills in, cleaned by plain_text and cut (not refused) at
# its limit, so that an e-stop is never refused for the length of its reason.
_Name = Annotated[str, BeforeValidator(partial(plain_text, limit=200)), Field(max_length=200)]
_Reason = Annotated[str, BeforeValidator(partial(plain_text, limit=500)), Field(max_length=500)]
_Change = Annotated[str, BeforeValidator(partial(plain_text, limit=600)), Field(max_length=600)]
_Detail = Annotated[str, BeforeValidator(partial(plain_text, limit=4000)), Field(max_length=4000)]


def _non_finite(value: Any, where: str = "doc") -> str | None:
    """Where in ``value`` a NaN or an infinity sits (JSON's ``NaN``, ``Infinity`` or a
    number too large for a float), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_finite(item, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _non_finite(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _nulled(value: Any) -> Any:
    """``value`` with every NaN or infinite number replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _nulled(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulled(item) for item in value]
    return value


class _Message(BaseModel):
    # allow_inf_nan=False: JSON has no NaN or Infinity, and a record cannot store one; a
    # sender's NaN reading goes out as null (pydantic's JSON), a failed reading.
    # extra="allow": a tolerant reader (see the module's docstring); unknown fields are
    # kept, under the signature, and never acted on.
    model_config = ConfigDict(extra="allow", frozen=True, strict=True, allow_inf_nan=False)

    schema_version: int = Field(
        default=SCHEMA_VERSION,
        description="Wire schema version; bumped on a change an older receiver cannot read.",
    )
    sent_at: float = Field(default_factory=time.time, description="Sender's clock, Unix seconds.")

    @field_validator("schema_version")
    @classmethod
    def _readable(cls, version: int) -> int:
        if version in READABLE_SCHEMA_VERSIONS:
            return version
        readable = " and ".join(str(v) for v in READABLE_SCHEMA_VERSIONS)
        if version > max(READABLE_SCHEMA_VERSIONS):
            who = "the sender runs a newer genesis-lab: upgrade this receiver"
        else:
            who = "the sender runs a genesis-lab too old for this one: upgrade the sender"
        raise ValueError(
            f"message schema_version {version}, but this receiver (genesis-lab {__version__}) "
            f"reads schema_version {readable}; {who}"
        )


class MessageAuth(BaseModel):
    """A message's signature block: who signed it, with which key, when, and a nonce.

    The Ed25519 signature covers the canonical JSON (sorted keys, no spaces) of the message
    without this block, together with every field here but ``signature``
    (:mod:`genesis_lab.security` makes and checks it; a document's signature covers a
    statement of what it is and the SHA-256 of its canonical JSON, which the campaign record
    keeps). A message without it is unsigned: accepted only where no trust is configured.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    algorithm: Literal["ed25519"] = "ed25519"
    key_id: str = Field(
        pattern=r"^[0-9a-f]{16}$",
        description="The signing key's id: the first 16 hex digits of the SHA-256 of its raw "
        "32-byte public key.",
    )
    signer: _Name = Field(min_length=1, description="Who signed, as the signer names itself.")
    nonce: str = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="128 random bits, hex: a receiver refuses a nonce it has seen before.",
    )
    timestamp: float = Field(
        allow_inf_nan=False, description="The signer's clock when it signed, Unix seconds."
    )
    signature: str = Field(
        pattern=r"^[A-Za-z0-9+/]{86}==$", description="The 64-byte Ed25519 signature, base64."
    )


_AUTH_FIELD = Field(
    default=None,
    description="Signature (genesis_lab.security); None: unsigned, refused by a receiver "
    "that trusts a key.",
)


class ExperimentRequest(_Message):
    """Orchestrator -> worker: run one experiment with these actuator setpoints."""

    kind: Literal["experiment_request"] = "experiment_request"
    campaign_id: str = Field(pattern=_ID)
    trial_id: str = Field(pattern=_ID)
    station_id: str = Field(pattern=_ID)
    setpoints: dict[str, StrictFloat | StrictInt | StrictStr] = Field(
        min_length=1,
        description="Actuator name -> value, in the actuator's units (text for a choice); "
        "strict: true/false are refused, not read as 1/0.",
    )
    parameters: dict[str, float | int | str] = Field(
        description="Campaign parameter name -> value, recorded in the run's start document."
    )
    readings: list[str] = Field(
        default_factory=list, description="Data keys the orchestrator needs from the events."
    )
    replicates: int = Field(
        default=1, ge=1, le=10_000, description="Measurements (events) taken at the setpoints."
    )
    expires_at: float | None = Field(
        default=None,
        description="Unix time (orchestrator's clock) after which a worker must not accept "
        "it: by then the orchestrator has sent it again or given up on it. A request "
        "accepted in time is run even if it starts later.",
    )
    auth: MessageAuth | None = _AUTH_FIELD


def _new_message_id() -> str:
    return uuid.uuid4().hex


_MESSAGE_ID_FIELD = Field(
    default_factory=_new_message_id,
    pattern=_ID,
    description="Identity of this message for delivery acknowledgements; a resent copy "
    "keeps it. A document's is its uid.",
)


class DocumentMessage(_Message):
    """Worker -> orchestrator: one Bluesky document of a trial's run."""

    kind: Literal["document"] = "document"
    message_id: str = _MESSAGE_ID_FIELD
    campaign_id: str = Field(pattern=_ID)
    trial_id: str = Field(pattern=_ID)
    station_id: str = Field(pattern=_ID)
    name: DocumentName
    doc: dict[str, Any]
    auth: MessageAuth | None = _AUTH_FIELD

    @field_validator("doc")
    @classmethod
    def _finite(cls, doc: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """On the wire a NaN or infinity is refused (it is not JSON, and no record can hold
        it); a document made here carries it as null, a failed reading, as the wire would."""
        where = _non_finite(doc)
        if where is None:
            return doc
        if info.mode == "json":
            raise ValueError(
                f"{where} is not a finite number (NaN or infinite): not JSON, and no record "
                "can hold it; send a failed reading as null"
            )
        return _nulled(doc)


class TrialStatusMessage(_Message):
    """Worker -> orchestrator: a trial was accepted, started, finished, failed, or refused."""

    kind: Literal["trial_status"] = "trial_status"
    message_id: str = _MESSAGE_ID_FIELD
    campaign_id: str = Field(pattern=_ID)
    trial_id: str = Field(pattern=_ID)
    station_id: str = Field(pattern=_ID)
    state: Literal[
        "accepted",
        "running",
        "completed",
        "failed",
        "rejected",
        "abandoned",
        "interrupted",
        "refused",
    ] = Field(
        description="accepted: the worker has the request (journalled) and will run it. "
        "abandoned: stopped by the operator (emergency stop), not run because an emergency "
        "stop was in force, or its request expired. interrupted: the worker died during "
        "the run (reported by the worker that took its place); never run again by itself. "
        "refused: the worker refused the request itself, before anything moved (unsigned, "
        "wrongly signed, expired or replayed; or it sets an actuator or asks for a reading "
        "the station does not offer): the trial was not accepted, and the request may not "
        "have come from this campaign's orchestrator at all."
    )
    reason: _Detail = ""
    run_uid: str | None = Field(default=None, description="uid of the run's start document.")
    documents: int = Field(
        default=0, ge=0, description="Documents the worker published for this trial so far."
    )
    auth: MessageAuth | None = _AUTH_FIELD
    worker: _Name = Field(
        default="",
        description="The worker process that sends it, as its presence names it (empty from "
        "a worker older than this field).",
    )


class DeliveryAck(_Message):
    """Orchestrator -> worker: these messages are stored (or refused for good); forget them.

    The worker keeps every document and status in its outbox until acknowledged this way,
    and re-sends what is not; an acknowledgement only ever comes after the record write."""

    kind: Literal["delivery_ack"] = "delivery_ack"
    campaign_id: str = Field(pattern=_ID)
    station_id: str = Field(pattern=_ID)
    message_ids: list[Annotated[str, Field(pattern=_ID)]] = Field(
        default_factory=list, max_length=2000
    )
    send_again: bool = Field(
        default=False,
        description="The orchestrator misses messages of this campaign (it reconnected, or "
        "a trial has had no news for a while): send every one still kept now, paced, rather "
        "than when its resend schedule says.",
    )
    campaign_ended: bool = Field(
        default=False,
        description="The campaign has completed and stored all it needs: whatever of it the "
        "worker still keeps will never be acknowledged (set aside, not sent again).",
    )

    @model_validator(mode="after")
    def _says_something(self) -> DeliveryAck:
        if not (self.message_ids or self.send_again or self.campaign_ended):
            raise ValueError(
                "an acknowledgement names message ids, asks to send again or says the "
                "campaign ended"
            )
        return self


class ManualTrialRequest(_Message):
    """Operator -> orchestrator: run this experiment of my own choosing next."""

    kind: Literal["manual_trial"] = "manual_trial"
    campaign_id: str = Field(pattern=_ID)
    parameters: dict[str, float | int | str] = Field(
        min_length=1, description="Campaign parameter name -> value, in the parameter's units."
    )
    requested_by: _Name = Field(default="", description="Who asked for it.")
    auth: MessageAuth | None = _AUTH_FIELD


class StationControl(_Message):
    """Operator -> workers: emergency stop, release, pause or resume.

    ``estop``: stop every actuator and halt the run in progress now (its trial ends
    abandoned), refuse requests until ``release``. ``pause``: start no new experiment and
    pause the one running; ``resume`` continues. ``resume`` does not lift an e-stop.
    """

    kind: Literal["station_control"] = "station_control"
    command: Literal["estop", "release", "pause", "resume"]
    station_id: str | None = Field(
        default=None, pattern=_ID, description="The station it is for; None: every station."
    )
    requested_by: _Name = Field(default="", description="Who asked for it.")
    reason: _Reason = Field(default="", description="Why, for the record.")
    auth: MessageAuth | None = _AUTH_FIELD


class StationStatus(_Message):
    """Worker presence, retained on the station's status topic (and its last will)."""

    kind: Literal["station_status"] = "station_status"
    station_id: str = Field(pattern=_ID)
    state: Literal["online", "offline"]
    mode: Literal["serving", "paused", "estopped"] = Field(
        default="serving", description="Whether it takes requests, is paused, or e-stopped."
    )
    plugin: str = ""
    actuators: list[str] = Field(default_factory=list)
    readings: list[str] = Field(default_factory=list)
    changed_by: _Name = Field(default="", description="Who made the last change of mode.")
    change_reason: _Change = Field(default="", description="The command and reason of that change.")
    worker: _Name = Field(
        default="",
        description="Which worker process serves the station (who, where, pid and a random "
        "instance id): a second worker for the same station id sees it and refuses to start. "
        "Empty from a worker older than this field.",
    )


WorkerMessage = Annotated[DocumentMessage | TrialStatusMessage, Field(discriminator="kind")]
_WORKER_ADAPTER: TypeAdapter[DocumentMessage | TrialStatusMessage] = TypeAdapter(WorkerMessage)

M = TypeVar("M", bound=_Message)


def encode_message(message: _Message) -> bytes:
    """Serialise a message to the JSON bytes sent on the wire."""
    return message.model_dump_json().encode("utf-8")


def _check_size(payload: bytes, topic: str | None) -> None:
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageError(
            f"message of {len(payload)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit",
            topic=topic,
            reason="oversized",
        )


def decode_message(payload: bytes, model: type[M], *, topic: str | None = None) -> M:
    """Parse ``payload`` as ``model``; raise :class:`MessageError` with the reason if it is not."""
    _check_size(payload, topic)
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise MessageError(
            _summary(exc, model.__name__), topic=topic, reason=_reason(exc)
        ) from None


def decode_worker_message(
    payload: bytes, *, topic: str | None = None
) -> DocumentMessage | TrialStatusMessage:
    """Parse a message from a campaign's results topic (a document or a trial status)."""
    _check_size(payload, topic)
    try:
        return _WORKER_ADAPTER.validate_json(payload)
    except ValidationError as exc:
        raise MessageError(
            _summary(exc, "worker message"), topic=topic, reason=_reason(exc)
        ) from None


def _summary(exc: ValidationError, what: str) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "payload"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"not a valid {what}: {where}: {first['msg']}{more}"


_NOT_AN_OBJECT = {"json_invalid", "json_type", "dict_type", "model_type", "model_attributes_type"}


def _reason(exc: ValidationError) -> str:
    """Why a payload was refused, for counting: malformed, version or schema."""
    errors = exc.errors()
    if any(e["type"] in _NOT_AN_OBJECT and len(e["loc"]) == 0 for e in errors):
        return "malformed"
    if any(e["loc"][-1:] == ("schema_version",) for e in errors):
        return "version"
    return "schema"
