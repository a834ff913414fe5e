"""The campaign loop: ask, dispatch, ingest documents, tell, until the budget is spent.

Threads: paho's network thread decodes incoming messages and queues them; every decision
and every record write happens on the thread that called :meth:`CampaignRunner.run`.
Each transition is written to the record before it is acted on.

Nothing is lost or counted twice: a worker keeps every document and status until this loop
acknowledges it, after the record write (:mod:`._acks`); a copy that comes again is a
duplicate, dropped by document uid or by the trial having ended. The client id is fixed per
campaign and its session persistent, so :meth:`CampaignRunner.run` with ``resume=True``
takes a campaign back from its record (:mod:`._resume`) after the orchestrator died.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from genesis_lab.errors import PlannerError, StationError
from genesis_lab.messages import (
    DocumentMessage,
    ExperimentRequest,
    ManualTrialRequest,
    TrialStatusMessage,
    campaign_control_topic,
    campaign_results_topic,
    encode_message,
    station_requests_topic,
    station_status_topic,
)
from genesis_lab.messaging import MqttClient, TransportSecurity, discard_session
from genesis_lab.orchestration._acks import Acknowledgements
from genesis_lab.orchestration._capabilities import CapabilityCheck
from genesis_lab.orchestration._decisions import RecordedPlanner
from genesis_lab.orchestration._documents import (
    apply_document,
    document_problem,
    order_problem,
    run_of,
    run_problem,
)
from genesis_lab.orchestration._intake import Intake, StationModeChange
from genesis_lab.orchestration._offline import OfflineWatch
from genesis_lab.orchestration._prior import PriorResult, import_prior
from genesis_lab.orchestration._provenance import campaign_actor, package_versions
from genesis_lab.orchestration._resume import reopen_campaign, restore_campaign
from genesis_lab.orchestration._signatures import record_signing_keys
from genesis_lab.orchestration._stopping import StopWatch
from genesis_lab.orchestration._trials import (
    UNREACHED,
    CampaignResult,
    InFlight,
    Progress,
    new_campaign_id,
)
from genesis_lab.planning import (
    ParameterValue,
    Planner,
    Proposal,
    planner_from_spec,
)
from genesis_lab.security import (
    MessageSigning,
    MessageVerifier,
    document_signature,
    sign_record_head,
)
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import TERMINAL_STATES, CampaignRecord, TrialState, can_transition

__all__ = ["CampaignResult", "CampaignRunner", "Progress", "new_campaign_id"]

log = logging.getLogger(__name__)

#: Ended trials whose runs are kept in memory, for late documents (others are read back).
_ENDED_RUNS_KEPT = 64

#: A trial in flight without news for this long makes the loop ask its worker to send
#: again, at once, whatever it keeps (at most this often).
NEWS_GAP_S = 10.0

#: How a worker's final status maps onto the trial's state (abandoned: an emergency stop).
_WORKER_ENDINGS = {
    "failed": TrialState.FAILED,
    "rejected": TrialState.REJECTED,
    "abandoned": TrialState.ABANDONED,
    "interrupted": TrialState.ABANDONED,
}


class CampaignRunner:
    """Run one campaign against the station named in ``spec``, over the broker at ``broker_url``.

    ``resume=True`` continues campaign ``campaign_id`` of ``record`` (it must be there and
    not completed): the planner is rebuilt from the record and the trials in flight are
    taken up again; ``prior`` is then ignored (the record holds it).

    Every call on the planner is written to the record (:class:`RecordedPlanner`), so the
    decisions can be replayed; ``actor`` (default: the broker identity of ``security`` and
    ``user@host``) is recorded as who started, resumed or interrupted the campaign.
    ``security``: TLS and credentials for the broker (needed for an ``mqtts://``
    ``broker_url``).
    """

    def __init__(
        self,
        spec: CampaignSpec,
        *,
        spec_text: str,
        record: CampaignRecord,
        broker_url: str,
        planner: Planner | None = None,
        campaign_id: str | None = None,
        progress: Callable[[Progress], None] | None = None,
        presence_timeout_s: float = 30.0,
        poll_s: float = 0.2,
        prior: Sequence[PriorResult] = (),
        prior_source: str = "",
        resume: bool = False,
        actor: str | None = None,
        security: TransportSecurity | None = None,
        signing: MessageSigning | None = None,
    ) -> None:
        if resume and campaign_id is None:
            raise ValueError("resume=True needs the campaign_id to resume")
        self.spec = spec
        self.spec_text = spec_text
        self.record = record
        self.broker_url = broker_url
        self.security = security
        self.campaign_id = campaign_id or new_campaign_id(spec.name)
        self.actor = campaign_actor(security) if actor is None else actor
        self._recorded = RecordedPlanner(
            planner or planner_from_spec(spec), record, self.campaign_id
        )
        self.planner: Planner = self._recorded
        self.station_id = spec.station.station_id
        self.progress = progress
        self.presence_timeout_s = presence_timeout_s
        self.poll_s = poll_s
        self.prior_source = prior_source
        # Signed messages: requests signed with signing.key; results refused unless signed
        # by a station key in signing.trusted; manual trials unless signed by signing.key.
        self.signing = signing or MessageSigning()
        unbound = [k.key_id for k in self.signing.trusted if k.station_id is None]
        if unbound:
            raise ValueError(
                f"station keys {', '.join(unbound)} are not bound to a station: trust each "
                "for its own station only (PublicKey.for_station, or a .pub file naming it)"
            )
        self._signer = self.signing.signer(self.actor)
        results = self.signing.verifier()
        own = None if signing is None or signing.key is None else signing.key.public
        self._intake = Intake(
            self.campaign_id,
            self.station_id,
            spec.trial_timeout_s,
            results=results,
            controls=None if own is None else MessageVerifier([own]),
        )
        self.duplicate_documents = 0
        #: Trial statuses received again after the trial ended (a resent copy): dropped.
        self.duplicate_statuses = 0
        #: Requests sent again because no worker accepted them within the lease.
        self.redispatches = 0
        self.resume = resume
        self._in_flight: dict[str, InFlight] = {}
        self._dispatched: set[str] = set()
        # Ended without reaching an instrument (never running): not counted against the budget.
        self._unspent: set[str] = set()
        self._unreached_in_a_row = 0
        self._refused_requests = 0  # requests the station refused (signature, capabilities)
        self._last_refusal = ""  # why the station refused the latest of them
        self._capabilities = CapabilityCheck(spec)  # does the station offer what we need?
        # More in a row than this: the worker is there but does not take our requests; stop.
        self._unreached_limit = max(3, 2 * spec.batch_size)
        self._offline = OfflineWatch(self.station_id, spec.lease.offline_limit_s)
        self._stopwatch = StopWatch(spec)
        # Manual trials, retries and re-runs, dispatched before asking: each already pending in
        # the planner and recorded PROPOSED (its number is in the record from the start).
        self._next: deque[Proposal] = deque()
        self._attempt: dict[str, int] = {}  # trial id -> attempt number of its parameters
        self._ended: dict[str, TrialState] = {}  # trial id -> how it ended
        self._ended_runs: OrderedDict[str, InFlight] = OrderedDict()  # the latest ended
        self.prior = list(prior)
        self._finished = 0
        # A fixed client id and a persistent session: a resumed orchestrator gets what the
        # broker queued for it while it was away (workers re-send the rest).
        self._client = MqttClient(
            broker_url,
            client_id=f"genesis-lab-orchestrator-{self.campaign_id}",
            clean_session=False,
            security=security,
        )
        self._acks = Acknowledgements(self._client, self.campaign_id)
        # After a reconnect the broker may have lost what it held for us: ask for it.
        self._reconnected = threading.Event()
        self._client.on_reconnect(self._reconnected.set)
        self._asked_again_at = 0.0
        self._last_lease_check = 0.0
        self._ended_early = False  # no worker came online: ended with trials left as they are

    # ---------------------------------------------------------------- messages
    @property
    def rejected_messages(self) -> int:
        """Messages refused (each logged with its reason)."""
        return self._intake.rejected_messages

    @property
    def rejection_reasons(self) -> Counter[str]:
        """Refused messages by reason: malformed, oversized, version, schema, campaign,
        station, unknown-trial, ended-trial, contradicts-trial, out-of-order, outside-run,
        invalid-document, foreign-run,
        refused, and the signature checks' unsigned, unknown-key, bad-signature and
        wrong-station."""
        return self._intake.rejection_reasons

    def _refuse(self, reason: str, what: str, *args: object) -> None:
        self._intake.refuse(reason, what, *args)

    # -------------------------------------------------------------------- loop
    def run(self) -> CampaignResult:
        """Run (or resume) the campaign to its end and return how it ended."""
        if self.resume:
            reopen_campaign(self.record, self.campaign_id, actor=self.actor)
        else:
            self.record.create_campaign(
                self.campaign_id,
                name=self.spec.name,
                spec=self.spec.model_dump(mode="json"),
                spec_text=self.spec_text,
                versions=package_versions(),
                actor=self.actor,
            )
        record_signing_keys(self.record, self.campaign_id, self.signing)
        if self.resume:  # vouch for what the interrupted run left before adding to it
            self._seal()
        self._recorded.started()
        self._stopwatch.restart()  # the wall clock counts from the start of the run
        try:
            if self.resume:
                self._restore()
            else:
                self._import_prior()
            # Registered before connecting: the session may hold messages for us already.
            self._client.subscribe(campaign_results_topic(self.campaign_id), self._intake.on_result)
            self._client.subscribe(station_status_topic(self.station_id), self._intake.on_presence)
            self._client.subscribe(
                campaign_control_topic(self.campaign_id), self._intake.on_control
            )
            self._client.connect()
            try:
                self._wait_for_station()
            except StationError as exc:  # nothing was dispatched yet by this run
                self._leave_in_flight(exc)
                raise
            if self._in_flight:  # resumed: the worker may hold their results, on a schedule
                self._ask_again("resumed with trials in flight")
            reason = self._loop()
            self._acks.flush()
            self._acks.campaign_ended(self.station_id)
            status = "completed"
        except KeyboardInterrupt:
            reason = "stopped by the operator (interrupt)"
            self._abandon_unfinished(reason)
            self.record.finish_campaign(
                self.campaign_id, status="stopped", reason=reason, actor=self.actor
            )
            self._seal()
            raise
        except BaseException as exc:
            if self._ended_early:
                raise  # ended already, its trials in flight left as they were
            reason = f"failed: {type(exc).__name__}: {exc}"
            self._abandon_unfinished(reason)
            self.record.finish_campaign(self.campaign_id, status="failed", reason=reason)
            self._seal()
            raise
        finally:
            self._client.close()
        self.record.finish_campaign(self.campaign_id, status=status, reason=reason)
        self._seal()
        # Done for good: the broker need not keep this campaign's session any longer.
        discard_session(self.broker_url, self._client.client_id, security=self.security)
        return self._result(reason)

    def _leave_in_flight(
        self, exc: StationError, then: str = "start the station's worker and run"
    ) -> None:
        """No worker came online (or not the right one): end this run without touching the
        trials in flight (the worker may hold their results, which a later resume
        collects), and say so, and what to do ``then``."""
        waiting = sum(1 for t in self._in_flight.values() if t.state is not TrialState.PROPOSED)
        left = f"; {waiting} trial(s) in flight left as they are" if waiting else ""
        reason = f"stopped: {exc}{left}; {then} 'genesis-lab resume' to carry on"
        self.record.finish_campaign(self.campaign_id, status="stopped", reason=reason)
        self._seal()
        self._ended_early = True

    def _seal(self) -> None:
        """Sign the record's chain head with the orchestrator's key (if it has one), so a
        record rewritten afterwards cannot carry the seal (``genesis-lab verify``)."""
        signer = self._signer
        if signer is not None:
            head = self.record.seal(
                self.campaign_id, lambda head: sign_record_head(signer, self.campaign_id, head)
            )
            log.info("record sealed at chain head %s by key %s", head, signer.key_id)

    def _restore(self) -> None:
        restored = restore_campaign(self.record, self.campaign_id, self.spec, self.planner)
        self._in_flight = restored.in_flight
        self._dispatched = restored.dispatched
        self._unspent = restored.unspent
        self._finished = restored.finished
        self._attempt = restored.attempts
        self._ended = restored.ended
        self._next.extend(restored.queued)
        for outcomes in restored.completed_outcomes:
            self._stopwatch.observe(outcomes)

    def _wait_for_station(self) -> None:
        if not self._intake.station_online.wait(self.presence_timeout_s):
            raise StationError(
                f"no worker is serving station {self.station_id!r} on {self.broker_url} "
                f"(waited {self.presence_timeout_s:.0f} s); start one with "
                f"'genesis-lab worker --station {self.spec.station.plugin} "
                f"--id {self.station_id} --broker {self.broker_url}'"
                + (" with --tls-ca and its own credentials" if "mqtts:" in self.broker_url else ""),
                station=self.station_id,
            )

    def _ask_again(self, why: str) -> None:
        """Ask the station's worker to send now whatever of this campaign it still keeps."""
        self._asked_again_at = time.monotonic()
        log.info("asking station %s for what it still keeps: %s", self.station_id, why)
        self._acks.ask_again(self.station_id)

    def _spent(self) -> int:
        """Experiments counted against the budget: dispatched, less those that ended
        without reaching an instrument."""
        return len(self._dispatched) - len(self._unspent)

    def _watch_presence(self) -> bool:
        """Whether the station is online; a change is recorded, and a station offline for
        longer than ``lease.offline_limit_s`` stops the campaign (trials left in flight)."""
        online = self._intake.station_online.is_set()
        if online:
            self._stop_if_mismatched()
        change = self._offline.observe(online)
        if change is not None:
            self.record.add_event(self.campaign_id, change.event, detail=change.detail)
            self._unreached_in_a_row = 0
            if online:
                self._ask_again("the station is back online")
        if self._reconnected.is_set():
            self._reconnected.clear()
            self._ask_again("reconnected to the broker")
        too_long = self._offline.over_limit()
        if too_long is None and self._unreached_in_a_row >= self._unreached_limit:
            refused = (
                f"; the station refused {self._refused_requests} request(s) of this "
                f"campaign (see 'request-refused' in the record), the last: {self._last_refusal}"
                if self._refused_requests
                else ""
            )
            too_long = (
                f"{self._unreached_in_a_row} trials in a row never reached an instrument "
                f"although station {self.station_id!r} is online: its worker does not accept "
                f"this campaign's requests (see the worker's log){refused}"
            )
        if too_long is not None:
            exc = StationError(too_long, station=self.station_id)
            self._leave_in_flight(exc)
            raise exc
        return online

    def _stop_if_mismatched(self) -> None:
        """Stop (trials in flight left for a resume) if the station's worker, as its status
        advertises it, lacks an actuator or a reading this campaign needs: nothing is
        dispatched to it (checked before the first dispatch and at each new status)."""
        problem = self._capabilities.problem(self._intake.station_status)
        if problem is None:
            return
        log.error("%s", problem)
        self.record.add_event(self.campaign_id, "station-mismatch", detail=problem)
        exc = StationError(problem, station=self.station_id)
        self._leave_in_flight(exc, then="then run")
        raise exc

    def _loop(self) -> str:
        """Keep ``batch_size`` trials in flight until the budget or a stopping rule ends it.

        Nothing is dispatched while the station is paused, e-stopped or offline, or while
        this orchestrator is cut off from the broker."""
        stop_reason: str | None = None
        while True:
            stop_reason = stop_reason or self._stopwatch.reason()
            free = min(
                self.spec.batch_size - len(self._in_flight),
                self.spec.budget - self._spent(),
            )
            online = self._watch_presence()
            cut_off = not self._client.is_connected
            held = self._intake.station_mode != "serving" or not online or cut_off
            if stop_reason is None and free > 0 and not held:
                queued = [self._next.popleft() for _ in range(min(free, len(self._next)))]
                asked = self.planner.ask(free - len(queued)) if len(queued) < free else []
                for proposal in queued:
                    self._dispatch(proposal, recorded=True)
                for proposal in asked:
                    self._dispatch(proposal)
            waiting = held and stop_reason is None and self._spent() < self.spec.budget
            if not self._in_flight and not waiting:
                reason = stop_reason or f"budget of {self.spec.budget} experiments spent"
                self._drop_queued(reason)
                return reason
            if time.monotonic() - self._last_lease_check > self.poll_s:
                self._expire_leases()
            try:
                message = self._intake.inbox.get_nowait()
            except queue.Empty:
                self._acks.flush()  # caught up: tell the workers what is stored
                try:
                    message = self._intake.inbox.get(timeout=self.poll_s)
                except queue.Empty:
                    continue
            if isinstance(message, DocumentMessage):
                self._ingest_document(message)
            elif isinstance(message, TrialStatusMessage):
                self._ingest_status(message)
            elif isinstance(message, StationModeChange):
                self.record.add_event(
                    self.campaign_id, message.mode, detail=message.detail, actor=message.actor
                )
            else:
                self._accept_manual(message)

    def _import_prior(self) -> None:
        """Tell the planner the results of earlier work, and record them as COMPLETED."""
        source = self.prior_source or "prior data"
        primary = self.spec.primary_objective.name
        imported = import_prior(
            self.prior, self.planner, self.record, self.campaign_id, source, primary
        )
        for outcomes in imported:
            self._stopwatch.observe(outcomes)

    def _queue(
        self, parameters: Mapping[str, ParameterValue], origin: str, note: dict[str, Any]
    ) -> Proposal:
        """Number an experiment the planner did not choose (``origin``: manual, retry,
        rerun), record it PROPOSED with ``note`` (why it runs) and queue it to be dispatched
        before new proposals. Recorded at once, not when dispatched: an orchestrator that
        dies before the dispatch leaves the trial, under its number, for the resume."""
        proposal = self._recorded.suggest_trial(parameters, origin=origin, note=note)
        self._next.append(proposal)
        return proposal

    def _drop_queued(self, reason: str) -> None:
        """The campaign ends (``reason``) with trials still queued: each ends ABANDONED,
        never dispatched."""
        while self._next:
            proposal = self._next.popleft()
            log.warning(
                "%s trial %s was not run: the campaign ended", proposal.origin, proposal.trial_id
            )
            self.record.transition(
                self.campaign_id,
                proposal.trial_id,
                TrialState.ABANDONED,
                reason=f"not run: the campaign ended ({reason}) before it was dispatched",
            )
            self.planner.forget(proposal.trial_id)

    def _accept_manual(self, request: ManualTrialRequest) -> None:
        """An operator's own experiment: validated by the planner, run before new proposals."""
        if self._spent() + len(self._next) >= self.spec.budget:
            who = request.requested_by or "an operator"
            self._refuse("refused", "manual trial from %s: the budget is taken", who)
            return
        note = {"requested_by": request.requested_by or "unknown"}
        try:
            proposal = self._queue(request.parameters, "manual", note)
        except PlannerError as exc:
            self._refuse("refused", "manual trial: %s", exc)
            return
        self.record.add_event(
            self.campaign_id,
            "trial-added",
            detail=f"{proposal.trial_id}: {proposal.parameters}",
            actor=request.requested_by
            + (f" (key {request.auth.key_id})" if request.auth is not None else ""),
        )
        log.info("manual trial %s queued: %s", proposal.trial_id, proposal.parameters)

    def _queue_retry(self, trial_id: str, trial: InFlight) -> None:
        """Run a FAILED experiment again, if the retry policy and the budget allow it."""
        attempt = self._attempt.get(trial_id, 1)
        room = self.spec.budget - self._spent() - len(self._next)
        if attempt > self.spec.retry.max_retries or room <= 0:
            return
        note = {"retry_of": trial_id, "attempt": attempt + 1}
        retry = self._queue(trial.proposal.parameters, "retry", note)
        self._attempt[retry.trial_id] = attempt + 1

    def _dispatch(self, proposal: Proposal, *, recorded: bool = False) -> None:
        """Record (unless ``recorded``: a queued trial, recorded PROPOSED when it was
        queued) and send one trial."""
        trial_id = proposal.trial_id
        if not recorded:
            why = proposal.explanation
            self.record.add_trial(
                self.campaign_id,
                trial_id,
                parameters=proposal.parameters,
                origin=proposal.origin,
                explanation=None if why is None else why.to_json(),
            )
        self.record.transition(
            self.campaign_id, trial_id, TrialState.DISPATCHED, station_id=self.station_id
        )
        self._dispatched.add(trial_id)
        now = time.monotonic()
        trial = self._in_flight[trial_id] = InFlight(
            proposal, now, lease_from=now, refusals_at_send=self.rejected_messages, news_at=now
        )
        self._send_request(trial)
        log.info("dispatched %s: %s", trial_id, proposal.parameters)

    def _send_request(self, trial: InFlight) -> None:
        """Publish the trial's request, good for acceptance within ``lease.accept_s``."""
        proposal = trial.proposal
        setpoints = {p.actuator: proposal.parameters[p.name] for p in self.spec.parameters}
        request = ExperimentRequest(
            campaign_id=self.campaign_id,
            trial_id=proposal.trial_id,
            station_id=self.station_id,
            setpoints=setpoints,
            parameters=proposal.parameters,
            readings=list(self.spec.readings.values()),
            replicates=self.spec.replicates,
            expires_at=time.time() + self.spec.lease.accept_s,
        )
        # Not waiting for the broker: with the connection down paho keeps it and sends it
        # after the reconnect, and a request lost anyway is sent again when the lease ends.
        if self._signer is not None:
            request = self._signer.sign(request)
        self._client.publish(station_requests_topic(self.station_id), encode_message(request))

    def _reject(self, message: DocumentMessage | TrialStatusMessage, reason: str, why: str) -> None:
        self._refuse(reason, "%s for trial %s: %s", message.kind, message.trial_id, why)

    def _ingest_document(self, message: DocumentMessage) -> None:
        if message.trial_id not in self._dispatched:
            self._reject(message, "unknown-trial", "this campaign dispatched no such trial")
            self._acks.add(message.station_id, message.message_id)  # refused for good
            return
        problem = document_problem(message.name, message.doc)
        if problem is not None:
            self._reject(message, "invalid-document", problem)
            self._acks.add(message.station_id, message.message_id)  # a resend will not help
            return
        foreign = run_problem(message, self.station_id)
        if foreign is not None:
            self._reject(message, "foreign-run", foreign)
            self._acks.add(message.station_id, message.message_id)  # a resend will not help
            return
        trial = self._in_flight.get(message.trial_id)
        if trial is not None:
            trial.news_at = time.monotonic()
        run = trial if trial is not None else self._ended_run(message.trial_id)
        broken = order_problem(message, run)
        if broken is not None:
            if broken.final:  # never part of the run: refused for good
                self._reject(message, "outside-run", broken.why)
                self._acks.add(message.station_id, message.message_id)
            else:  # not acknowledged: the worker sends it again, after what comes first
                self._reject(message, "out-of-order", broken.why)
            return
        stored = self.record.add_document(
            self.campaign_id,
            message.trial_id,
            message.name,
            message.doc,
            signature=None if self._intake.results is None else document_signature(message),
        )
        self._acks.add(message.station_id, message.message_id)
        if not stored:
            self.duplicate_documents += 1
            return
        apply_document(run, message.name, message.doc, self.spec.readings)
        if trial is None:
            log.warning(
                "stored a late %s document of ended trial %s (its run, after the trial ended)",
                message.name,
                message.trial_id,
            )
            return
        if message.name == "start":
            self._mark_running(message.trial_id, trial)
        else:
            self._finish_if_whole(message.trial_id, trial)

    def _ended_run(self, trial_id: str) -> InFlight:
        """The run of ended trial ``trial_id`` as stored, for checking a late document
        against (the last few are kept; others are read back from the record)."""
        run = self._ended_runs.pop(trial_id, None)
        if run is None:
            row = self.record.trial(self.campaign_id, trial_id)
            run = run_of(row, self.record.documents(self.campaign_id, trial_id), self.spec.readings)
        self._ended_runs[trial_id] = run
        while len(self._ended_runs) > _ENDED_RUNS_KEPT:
            self._ended_runs.popitem(last=False)
        return run

    def _ingest_status(self, message: TrialStatusMessage) -> None:
        if message.trial_id not in self._dispatched:
            self._reject(message, "unknown-trial", "this campaign dispatched no such trial")
            self._acks.add(message.station_id, message.message_id)
            return
        if message.state == "refused":  # by the worker's signature check; changes no trial
            self._note_refusal(message)
            return
        trial = self._in_flight.get(message.trial_id)
        if trial is None:
            ended = self._ended.get(message.trial_id)
            if message.state in ("accepted", "running") or _WORKER_ENDINGS.get(
                message.state, TrialState.COMPLETED
            ) is (ended or TrialState.COMPLETED):
                self.duplicate_statuses += 1  # a copy sent again: already taken
                log.info("dropped a %s status of ended trial %s", message.state, message.trial_id)
            else:
                self._reject(message, "ended-trial", f"{message.state}, but the trial is {ended}")
            self._acks.add(message.station_id, message.message_id)
            return
        trial.news_at = time.monotonic()
        if message.worker:
            trial.worker = message.worker
        if message.state == "accepted":
            trial.accepted = True
        elif message.state == "running":
            trial.accepted = True
            self._mark_running(message.trial_id, trial)
        elif message.state == "completed":
            trial.worker_done = message
            self._finish_if_whole(message.trial_id, trial)
        elif not can_transition(trial.state, _WORKER_ENDINGS[message.state]):
            # "rejected" (before anything moved) for a trial whose run has begun: a forgery
            # or a confusion; the trial goes on (a resend will not make it right).
            self._reject(message, "contradicts-trial", f"{message.state}, but it is {trial.state}")
        else:
            trial.worker_done = message
            if message.state == "abandoned" and message.reason.startswith("emergency stop"):
                self._intake.estopped_at(message.sent_at)  # propose nothing into the e-stop
            if message.state == "interrupted":  # the worker had begun the run
                self._mark_running(message.trial_id, trial)
            self._end(message.trial_id, _WORKER_ENDINGS[message.state], reason=message.reason)
            if message.state == "interrupted":
                self._rerun_interrupted(message.trial_id, trial)
        self._acks.add(message.station_id, message.message_id)

    def _note_refusal(self, message: TrialStatusMessage) -> None:
        """The station refused a request naming one of this campaign's trials: recorded
        and logged, the trial left as it is (the request may have been a forgery; ours is
        sent again when its lease ends)."""
        log.warning(
            "station %s refused trial %s: %s",
            message.station_id,
            message.trial_id,
            message.reason,
        )
        self._refused_requests += 1
        self._last_refusal = message.reason
        self.record.add_event(
            self.campaign_id,
            "request-refused",
            detail=f"{message.trial_id}: {message.reason}",
            actor=message.station_id,
        )
        self._acks.add(message.station_id, message.message_id)

    def _mark_running(self, trial_id: str, trial: InFlight) -> None:
        if trial.state is TrialState.DISPATCHED:
            self.record.transition(
                self.campaign_id,
                trial_id,
                TrialState.RUNNING,
                run_uid=trial.run_uid,
                worker=trial.worker or None,
            )
            trial.state = TrialState.RUNNING

    def _finish_if_whole(self, trial_id: str, trial: InFlight) -> None:
        """End the trial from its run once the run is whole; fail it if its stored run
        cannot be the one its stop describes (an event that is not the run's was taken)."""
        done = trial.worker_done
        conflict = trial.run_conflict()
        if conflict is not None and done is not None and done.state == "completed":
            self._end(trial_id, TrialState.FAILED, reason=f"not taken from its run: {conflict}")
        elif trial.run_whole():
            self._finish(trial_id, trial)

    def _finish(self, trial_id: str, trial: InFlight) -> None:
        """The worker reported completion and the stop document is stored: tell the planner."""
        missing = [r for name, r in self.spec.readings.items() if name not in trial.outcomes]
        if missing:
            self._end(
                trial_id,
                TrialState.FAILED,
                reason=f"no event carried the reading(s) {', '.join(map(repr, missing))}",
            )
            return
        self._mark_running(trial_id, trial)
        self._end(trial_id, TrialState.COMPLETED, outcomes=trial.outcomes)

    def _end(
        self,
        trial_id: str,
        new: TrialState,
        *,
        reason: str = "",
        outcomes: dict[str, float] | None = None,
    ) -> None:
        trial = self._in_flight.pop(trial_id)
        self._ended[trial_id] = new
        self._ended_runs[trial_id] = trial
        unreached = new is TrialState.ABANDONED and (
            trial.never_reached(self.rejected_messages) or trial.refused_unrun()
        )
        if unreached:  # the budget gets it back
            self._unspent.add(trial_id)
            reason += f"; {UNREACHED}"
            if trial.worker_done is None and self._intake.station_online.is_set():
                self._unreached_in_a_row += 1  # online, yet no worker took it
        elif new is not TrialState.ABANDONED:
            self._unreached_in_a_row = 0
        outcome = None if outcomes is None else outcomes[self.spec.primary_objective.name]
        self.record.transition(
            self.campaign_id,
            trial_id,
            new,
            reason=reason,
            outcome=outcome,
            outcomes=outcomes,
            run_uid=trial.run_uid,
            worker=trial.worker or None,
        )
        if new is TrialState.COMPLETED and outcomes is not None:
            self.planner.tell(trial_id, outcomes)
            self._stopwatch.observe(outcomes)
        else:
            # A failure or a refusal says something about the point; an abandonment does not.
            failed = new in (TrialState.FAILED, TrialState.REJECTED)
            self.planner.forget(trial_id, failed=failed)
            if new is TrialState.FAILED:
                self._queue_retry(trial_id, trial)
        if not unreached:
            self._finished += 1
        log.info(
            "trial %s %s %s", trial_id, new, reason or (outcome if outcome is not None else "")
        )
        if self.progress is not None:
            best = self.planner.best
            self.progress(
                Progress(
                    self._finished,
                    self.spec.budget,
                    trial_id,
                    new,
                    outcome,
                    best[2] if best else None,
                    parameters=dict(trial.proposal.parameters),
                    outcomes=dict(outcomes or {}),
                    reason=reason,
                )
            )

    def _expire_leases(self) -> None:
        """Abandon trials past ``trial_timeout_s``; send again (or abandon, as the lease
        policy says) those no worker accepted within ``lease.accept_s``. While the station
        is offline, every trial in flight waits for it: no time-out runs (a trial its
        worker accepted is run when the worker is back; one it did not is sent again).
        The same while this orchestrator is cut off from the broker: it cannot hear a
        result then, and the worker keeps what it has for the reconnect."""
        now = time.monotonic()
        elapsed = now - self._last_lease_check if self._last_lease_check else 0.0
        self._last_lease_check = now
        lease = self.spec.lease
        # A little grace over the request's own expiry, for the worker's "accepted" to arrive.
        accept_s = lease.accept_s + min(5.0, lease.accept_s / 2)
        online = self._intake.station_online.is_set() and self._client.is_connected
        quiet: list[str] = []
        for trial_id, trial in list(self._in_flight.items()):
            if not online:  # waiting for the station (or the broker), not for a result
                trial.dispatched_at += elapsed
                trial.lease_from = now
                continue
            waiting = trial.accepted or trial.state is TrialState.RUNNING
            if waiting and now - trial.news_at > NEWS_GAP_S:
                quiet.append(trial_id)
            if now - trial.dispatched_at > self.spec.trial_timeout_s and self._run_at_worker(
                trial_id, trial, now
            ):
                continue
            if now - trial.dispatched_at > self.spec.trial_timeout_s:
                started = trial.state is TrialState.RUNNING
                self._end(
                    trial_id,
                    TrialState.ABANDONED,
                    reason=f"no result within trial_timeout_s={self.spec.trial_timeout_s}",
                )
                if started:
                    self._rerun_interrupted(trial_id, trial)
                continue
            if trial.accepted or trial.state is not TrialState.DISPATCHED:
                continue
            if now - trial.lease_from <= accept_s:
                continue
            if lease.on_expiry == "abandon" or trial.redispatches >= lease.max_redispatches:
                self._end(
                    trial_id,
                    TrialState.ABANDONED,
                    reason=f"no worker accepted it within lease.accept_s={lease.accept_s:g} s"
                    + (f" after {trial.redispatches} re-sends" if trial.redispatches else ""),
                )
            else:
                trial.redispatches += 1
                self.redispatches += 1
                trial.lease_from = now
                log.warning(
                    "trial %s: no worker accepted it within %g s; sending it again (%d)",
                    trial_id,
                    lease.accept_s,
                    trial.redispatches,
                )
                self._send_request(trial)

        if quiet and online and now - self._asked_again_at > NEWS_GAP_S:
            self._ask_again(f"no news of trial(s) {', '.join(quiet)} for {NEWS_GAP_S:g} s")

    def _run_at_worker(self, trial_id: str, trial: InFlight, now: float) -> bool:
        """Trial ``trial_id`` is past its time-out: if its worker said the run completed
        while documents of it are still missing here, they are in the worker's outbox: it
        waits one more ``trial_timeout_s`` for them (asking for them now), and after that
        the campaign stops, the trial left in flight for a resume (True: handled). A
        campaign never completes with a trial whose run is only partly stored."""
        done = trial.worker_done
        if done is None or done.state != "completed":
            return False
        missing = (
            f"trial {trial_id}'s worker completed its run ({done.documents} documents), "
            f"{trial.documents_stored} of them stored here"
        )
        if not trial.overtime:
            trial.overtime = True
            trial.dispatched_at = now
            log.warning(
                "%s; waiting up to %g s more for the rest", missing, self.spec.trial_timeout_s
            )
            self._ask_again(f"trial {trial_id}'s run is incomplete")
            return True
        exc = StationError(
            f"{missing} after twice trial_timeout_s={self.spec.trial_timeout_s:g} s: the rest "
            "waits in the worker's outbox",
            station=self.station_id,
        )
        self._leave_in_flight(exc)
        raise exc

    def _rerun_interrupted(self, trial_id: str, trial: InFlight) -> None:
        """Run an interrupted experiment again, if the lease policy says the instrument
        allows running it twice and the budget has room."""
        room = self.spec.budget - self._spent() - len(self._next)
        if not self.spec.lease.rerun_interrupted or room <= 0:
            return
        rerun = self._queue(trial.proposal.parameters, "rerun", {"rerun_of": trial_id})
        log.warning("trial %s was cut short; running it again as %s", trial_id, rerun.trial_id)

    def _abandon_unfinished(self, reason: str) -> None:
        """The campaign is ending early: every trial the record holds unfinished is ABANDONED.

        Read from the record, not from memory, so a trial interrupted half-way through its
        dispatch (recorded but not yet tracked) is not left behind.
        """
        reached = {
            t
            for t, trial in self._in_flight.items()
            if not trial.never_reached(self.rejected_messages)
        }
        self._in_flight.clear()
        for row in self.record.trials(self.campaign_id):
            if row.state not in TERMINAL_STATES:
                unreached = row.state is TrialState.DISPATCHED and row.trial_id not in reached
                self.record.transition(
                    self.campaign_id,
                    row.trial_id,
                    TrialState.ABANDONED,
                    reason=f"{reason}; {UNREACHED}" if unreached else reason,
                )

    def _result(self, reason: str) -> CampaignResult:
        return CampaignResult.of(
            self.record, self.campaign_id, self.planner.best, reason, self.rejected_messages
        )
