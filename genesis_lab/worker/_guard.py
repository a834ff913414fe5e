"""The worker's door: every experiment request and control is checked against the trusted
keys before anything else happens (:class:`CommandGuard`).

With no trusted key the worker accepts unsigned commands, as before signing existed. With
one, it refuses an unsigned, wrongly signed (a key it does not trust, or a signature that
does not match: a forgery, or a byte changed after signing), expired, future or replayed
command: the refusal is logged with its reason, kept in the worker's outbox file
(:meth:`~genesis_lab.worker._outbox.Outbox.refusals`), counted by the worker, and for a
request a ``refused`` status is published to the campaign it names (a courtesy, at most
:data:`REFUSAL_REPORTS_PER_MINUTE` a minute and not kept for re-sending: the campaign it
names may not exist, and the orchestrator changes no trial on it).

One exception: an e-stop that fails its check is obeyed all the same (and logged, kept and
counted as unverified). Stopping the actuators is always safe, and a lab must be able to
stop a machine from any terminal even when a key or a clock is wrong; a forged e-stop costs
an interruption, never a movement, and lifting it (``release``) must be signed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from genesis_lab.errors import SignatureError
from genesis_lab.messages import (
    ExperimentRequest,
    StationControl,
    TrialStatusMessage,
    campaign_results_topic,
    encode_message,
)
from genesis_lab.security import MessageSigner, MessageSigning, MessageVerifier, Verified
from genesis_lab.worker._outbox import Outbox, Refusal

__all__ = ["REFUSAL_REPORTS_PER_MINUTE", "CommandGuard"]

log = logging.getLogger(__name__)

REFUSAL_REPORTS_PER_MINUTE = 30
"""Refused requests reported to their campaign per minute; past it, only logged and kept."""


class CommandGuard:
    """Checks the commands of station ``station_id`` against ``signing.trusted`` (nonces
    and refusals kept in ``outbox``); signs what the worker publishes with ``signing.key``.
    ``publish(topic, payload)`` sends a refusal report without waiting."""

    def __init__(
        self,
        signing: MessageSigning | None,
        outbox: Outbox,
        station_id: str,
        publish: Callable[[str, bytes], object],
    ) -> None:
        self.station_id = station_id
        self._outbox = outbox
        self._publish = publish
        signing = signing or MessageSigning()
        self.verifier: MessageVerifier | None = signing.verifier(nonces=outbox)
        self.signer: MessageSigner | None = signing.signer(f"station {station_id}")
        self._reported: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def enforcing(self) -> bool:
        """Whether unsigned commands are refused (a trusted key is configured)."""
        return self.verifier is not None

    def sign(self, message: TrialStatusMessage) -> TrialStatusMessage:
        return message if self.signer is None else self.signer.sign(message)

    def check(
        self,
        message: ExperimentRequest | StationControl,
        topic: str,
        payload: bytes,
        *,
        obeyed: bool = False,
    ) -> SignatureError | Verified | None:
        """Who signed ``message`` if it may be acted on (None when no key is trusted, so
        nothing is checked); else why not, after logging the refusal and keeping it. An
        experiment request must be signed by a key that may dispatch (not an operator's).
        ``obeyed``: it is acted on all the same (an e-stop)."""
        if self.verifier is None:
            return None
        try:
            return self.verifier.verify(message, dispatch=isinstance(message, ExperimentRequest))
        except SignatureError as exc:
            self._keep(message, topic, payload, exc, obeyed)
            return exc

    def _keep(
        self,
        message: ExperimentRequest | StationControl,
        topic: str,
        payload: bytes,
        exc: SignatureError,
        obeyed: bool,
    ) -> None:
        if isinstance(message, StationControl):
            what = message.command + (" (obeyed: an e-stop is never refused)" * obeyed)
            campaign_id = trial_id = None
        else:
            what, campaign_id, trial_id = "request", message.campaign_id, message.trial_id
        if obeyed:
            log.error("obeying an unverified %s on %s (%s): %s", what, topic, exc.reason, exc)
        else:
            log.warning("refused (%s) %s on %s: %s", exc.reason, what, topic, exc)
        auth = message.auth
        refusal = Refusal(
            at=time.time(),
            reason=exc.reason,
            what=what,
            topic=topic,
            campaign_id=campaign_id,
            trial_id=trial_id,
            signer=None if auth is None else auth.signer,
            key_id=None if auth is None else auth.key_id,
            detail=str(exc),
            payload_sha256=hashlib.sha256(payload).hexdigest(),
        )
        try:
            self._outbox.add_refusal(refusal)
        except Exception as err:  # refused all the same; the log has it
            log.warning("could not keep the refusal in the outbox: %s", err)

    def report(self, request: ExperimentRequest, reason: str, detail: str) -> None:
        """Tell the campaign the request names that it was refused (rate-limited), for
        ``reason`` (a signature check's, or the worker's ``capabilities``): ``detail``."""
        now = time.monotonic()
        with self._lock:
            while self._reported and now - self._reported[0] > 60.0:
                self._reported.popleft()
            if len(self._reported) >= REFUSAL_REPORTS_PER_MINUTE:
                return
            self._reported.append(now)
        status = TrialStatusMessage(
            campaign_id=request.campaign_id,
            trial_id=request.trial_id,
            station_id=self.station_id,
            state="refused",
            reason=f"request refused ({reason}): {detail}"[:4000],
        )
        try:
            self._publish(
                campaign_results_topic(request.campaign_id), encode_message(self.sign(status))
            )
        except Exception as err:  # a courtesy: the refusal is logged and kept regardless
            log.warning("could not report the refusal of trial %s: %s", request.trial_id, err)
