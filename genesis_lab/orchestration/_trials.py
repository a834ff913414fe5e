"""What the campaign loop reports (progress, the result) and what it tracks per trial."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from genesis_lab.messages import TrialStatusMessage
from genesis_lab.planning import ParameterValue, Proposal
from genesis_lab.store import CampaignRecord, TrialState

__all__ = ["UNREACHED", "CampaignResult", "InFlight", "Progress", "new_campaign_id"]

#: Ends the reason of a trial abandoned before any worker accepted it: the budget gets it
#: back (read again from the record on resume).
UNREACHED = "never reached an instrument: not counted against the budget"


def new_campaign_id(name: str) -> str:
    """A fresh campaign id: the campaign name and 8 random hex digits."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Progress:
    """What the loop reports after each trial ends: its parameters, and its outcomes
    (every objective and measured outcome, by name) or why it did not complete."""

    finished: int
    budget: int
    trial_id: str
    state: TrialState
    outcome: float | None
    best_value: float | None
    parameters: dict[str, ParameterValue] = field(default_factory=dict)
    outcomes: dict[str, float] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class CampaignResult:
    """How a campaign ended."""

    campaign_id: str
    record_path: str
    states: dict[str, int]
    best_trial: str | None
    best_parameters: dict[str, ParameterValue] | None
    best_value: float | None
    stop_reason: str
    rejected_messages: int

    @classmethod
    def of(
        cls,
        record: CampaignRecord,
        campaign_id: str,
        best: tuple[str, dict[str, ParameterValue], float] | None,
        stop_reason: str,
        rejected_messages: int,
    ) -> CampaignResult:
        """How campaign ``campaign_id`` ended, its trials counted by state from ``record``."""
        states: dict[str, int] = {}
        for row in record.trials(campaign_id):
            states[row.state.value] = states.get(row.state.value, 0) + 1
        return cls(
            campaign_id=campaign_id,
            record_path=str(record.path),
            states=states,
            best_trial=best[0] if best else None,
            best_parameters=dict(best[1]) if best else None,
            best_value=best[2] if best else None,
            stop_reason=stop_reason,
            rejected_messages=rejected_messages,
        )


@dataclass
class InFlight:
    """What the loop knows of a dispatched trial that has not ended yet."""

    proposal: Proposal
    dispatched_at: float
    state: TrialState = TrialState.DISPATCHED
    accepted: bool = False  # a worker journalled the request and said so
    lease_from: float = 0.0  # when the accept lease started (the last send)
    redispatches: int = 0
    refusals_at_send: int = 0  # messages refused so far when it was sent
    news_at: float = 0.0  # when a document or status of it last came
    overtime: bool = False  # its time-out passed with its run complete at the worker
    outcomes: dict[str, float] = field(default_factory=dict)  # mean of the events' values
    readings_seen: dict[str, int] = field(default_factory=dict)  # events that carried each
    run_uid: str | None = None
    worker: str = ""  # the worker process running it, as its statuses name it
    descriptors: set[str] = field(default_factory=set)  # uids of the run's descriptors
    streams: dict[str, str] = field(default_factory=dict)  # descriptor uid -> stream name
    seq_nums: dict[str, dict[int, str]] = field(default_factory=dict)  # descriptor -> seq -> uid
    stop_seen: bool = False
    stop_uid: str | None = None
    events_expected: int = 0  # the stop document's num_events, all streams
    stream_events: dict[str, int] = field(default_factory=dict)  # the stop's num_events
    events_stored: int = 0
    documents_stored: int = 0

    def refused_unrun(self) -> bool:
        """Whether its worker gave it up before its run began (an e-stop in force when its
        turn came): nothing moved, no document was sent."""
        done = self.worker_done
        return (
            done is not None
            and done.state == "abandoned"
            and done.documents == 0
            and self.state is TrialState.DISPATCHED
            and self.run_uid is None
        )

    def never_reached(self, refusals: int) -> bool:
        """Whether no worker took this trial: none accepted it, its run never began, and
        no message was refused since it was sent (``refusals``: the count now), which
        might have been its worker's answer (a station whose signatures are refused)."""
        return (
            not self.accepted
            and self.state is TrialState.DISPATCHED
            and refusals == self.refusals_at_send
        )

    def run_conflict(self) -> str | None:
        """Why the stored run cannot be the one its stop describes, if so: more events than
        the stop counts, or a stream whose events are not seq_num 1 to its count."""
        if not self.stop_seen:
            return None
        if self.events_stored > self.events_expected:
            return (
                f"its run holds {self.events_stored} events but its stop counts "
                f"{self.events_expected}: an event that is not the run's was taken"
            )
        if self.events_stored < self.events_expected:
            return None  # some may still come
        for stream, count in self.stream_events.items():
            seqs = sorted(
                seq
                for uid, by_seq in self.seq_nums.items()
                if self.streams.get(uid) == stream
                for seq in by_seq
            )
            if seqs != list(range(1, count + 1)):
                return f"stream {stream!r} holds events {seqs[:5]}..., not 1 to {count}"
        return None

    def run_whole(self) -> bool:
        """Whether the worker said the run completed and every document of it is stored:
        the stop, exactly the events it counts (seq_num 1 to n in each stream), as many
        documents as the worker sent."""
        done = self.worker_done
        return (
            done is not None
            and done.state == "completed"
            and self.stop_seen
            and self.events_stored == self.events_expected
            and self.run_conflict() is None
            and self.documents_stored >= done.documents
        )

    worker_done: TrialStatusMessage | None = None
