"""A planner that proposes what a record says was run: re-executing a campaign's experiments.

:class:`ScriptedPlanner` answers to the :class:`~genesis_lab.planning.Planner` protocol, so
the campaign loop runs it like any other planner; it consults no model. ``ask`` hands out
the scripted trials in order, each with the trial id it had in the record, so the replay's
trials line up with the recorded ones id for id. Prior results go through ``observe`` and
get the ids the record gave them. :func:`replay_script` reads the script from a record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from genesis_lab.errors import PlannerError
from genesis_lab.planning import ParameterValue, Proposal
from genesis_lab.spec import CampaignSpec
from genesis_lab.store import CampaignRecord, TrialRow, TrialState

__all__ = ["REPLAY_ORIGIN", "ReplayScript", "ScriptedPlanner", "ScriptedTrial", "replay_script"]

#: The origin a replayed trial carries in the replay's record: the record chose it.
REPLAY_ORIGIN = "replay"


@dataclass(frozen=True)
class ScriptedTrial:
    """One experiment to propose again: its recorded id, parameters and origin."""

    trial_id: str
    parameters: dict[str, ParameterValue]
    origin: str


@dataclass(frozen=True)
class ReplayScript:
    """What a record asks of a replay.

    ``trials``: the experiments that reached the station (dispatched, whatever became of
    them), in the order they were proposed; ``prior``: the results imported from earlier
    work (origin ``prior``), not run by the campaign, so not run again, only told to the
    planner as the record tells them; ``skipped``: trials that never left the orchestrator
    (abandoned before dispatch), which nothing ran and a replay does not run either.
    """

    trials: list[ScriptedTrial] = field(default_factory=list)
    prior: list[TrialRow] = field(default_factory=list)
    skipped: list[TrialRow] = field(default_factory=list)


def replay_script(record: CampaignRecord, campaign_id: str) -> ReplayScript:
    """The experiments of campaign ``campaign_id`` in ``record`` to run again, in order.

    Every trial that was dispatched is in the script: completed, failed, rejected and
    abandoned ones alike (a replay compares their states too), and manual trials, retries
    and re-runs at the place they had. A trial that was never dispatched is skipped.
    """
    dispatched = {
        trial_id
        for trial_id, _old, new, _reason, _at in record.transitions(campaign_id)
        if new != TrialState.PROPOSED and new != TrialState.ABANDONED
    }
    script = ReplayScript()
    for row in record.trials(campaign_id):
        if row.origin == "prior":
            script.prior.append(row)
        elif row.trial_id in dispatched:
            script.trials.append(ScriptedTrial(row.trial_id, dict(row.parameters), row.origin))
        else:
            script.skipped.append(row)
    return script


class ScriptedPlanner:
    """Proposes the ``script``'s experiments, in order, with their own trial ids.

    Keeps the planner contract: every proposal is pending until told or forgotten, a
    result is taken once. ``observe`` (prior results) gives out ``prior_ids`` in order.
    ``suggest`` (an operator's experiment, a retry) numbers past every scripted id.
    ``best`` follows the campaign's objectives, outcome constraints and trade-off method
    as :class:`~genesis_lab.planning.BayesianPlanner` does. Asking past the end of the
    script raises :class:`~genesis_lab.errors.PlannerError`: give the campaign a budget
    of ``len(script)``.
    """

    def __init__(
        self,
        spec: CampaignSpec,
        script: Sequence[ScriptedTrial],
        *,
        prior_ids: Sequence[str] = (),
        origin: str | None = REPLAY_ORIGIN,
    ) -> None:
        self.spec = spec
        self.origin = origin
        self._script = list(script)
        self._next = 0
        self._prior_ids = list(prior_ids)
        self._names = [p.name for p in spec.parameters]
        numbers = [_number(t.trial_id) for t in self._script] + [_number(t) for t in prior_ids]
        self._last_number = max(numbers, default=0)
        self._pending: dict[str, dict[str, ParameterValue]] = {}
        self._told: set[str] = set()
        self._forgotten: set[str] = set()
        self._observations: list[tuple[str, dict[str, ParameterValue], dict[str, float]]] = []

    @property
    def remaining(self) -> int:
        """How many scripted experiments have not been proposed yet."""
        return len(self._script) - self._next

    def ask(self, n: int = 1) -> list[Proposal]:
        """The next ``n`` scripted experiments, with their recorded trial ids."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise PlannerError(f"ask(n) needs a positive whole number of proposals, got {n!r}")
        if n > self.remaining:
            raise PlannerError(
                f"the script holds {self.remaining} more experiment(s), {n} were asked for; "
                f"run the replay with a budget of {len(self._script)}"
            )
        proposals = []
        for trial in self._script[self._next : self._next + n]:
            self._pending[trial.trial_id] = dict(trial.parameters)
            proposals.append(
                Proposal(trial.trial_id, dict(trial.parameters), self.origin or trial.origin)
            )
        self._next += n
        return proposals

    def tell(self, trial_id: str, outcomes: Mapping[str, float]) -> None:
        """Take the result of a pending trial (every objective and outcome constraint)."""
        self._check_pending(trial_id, "tell")
        values = self._values(trial_id, outcomes)
        self._told.add(trial_id)
        self._observations.append((trial_id, self._pending.pop(trial_id), values))

    def forget(self, trial_id: str, *, failed: bool = False) -> None:
        """Drop a pending trial that will not report."""
        self._check_pending(trial_id, "forget")
        self._pending.pop(trial_id)
        self._forgotten.add(trial_id)

    def suggest(
        self, parameters: Mapping[str, ParameterValue], *, origin: str = "manual"
    ) -> Proposal:
        """An experiment from elsewhere, numbered after every scripted trial, pending."""
        row = self._row(parameters)
        self._last_number += 1
        trial_id = f"t{self._last_number:04d}"
        self._pending[trial_id] = row
        return Proposal(trial_id, dict(row), origin)

    def observe(
        self,
        parameters: Mapping[str, ParameterValue],
        outcomes: Mapping[str, float],
        *,
        origin: str = "prior",
    ) -> str:
        """A prior result: it takes the next of ``prior_ids`` (or a fresh id) at once."""
        row = self._row(parameters)
        if self._prior_ids:
            trial_id = self._prior_ids.pop(0)
        else:
            self._last_number += 1
            trial_id = f"t{self._last_number:04d}"
        self._told.add(trial_id)
        self._observations.append((trial_id, row, self._values(None, outcomes)))
        return trial_id

    def restore(
        self, trial_id: str, parameters: Mapping[str, ParameterValue], *, origin: str
    ) -> Proposal:
        """Take back the next scripted trial (a resumed replay); it becomes pending."""
        if self.remaining == 0 or self._script[self._next].trial_id != trial_id:
            expected = self._script[self._next].trial_id if self.remaining else "none"
            raise PlannerError(
                f"cannot restore trial {trial_id!r}: the next scripted trial is {expected!r}",
                trial_id=trial_id,
            )
        return self.ask(1)[0]

    @property
    def best(self) -> tuple[str, dict[str, ParameterValue], float] | None:
        """The best result so far, among those meeting every outcome constraint (all of
        them if none does): by the first objective, or the weighted sum when weighted."""
        if not self._observations:
            return None
        spec = self.spec
        feasible = [
            o
            for o in self._observations
            if all(c.holds(o[2][c.name]) for c in spec.outcome_constraints)
        ]
        weights = {spec.primary_objective.name: spec.primary_objective.sign}
        if spec.multi_objective.method == "weighted":
            weights = {o.name: o.sign * o.weight for o in spec.all_objectives}
        trial_id, row, values = max(
            feasible or self._observations,
            key=lambda o: sum(w * o[2][name] for name, w in weights.items()),
        )
        return trial_id, dict(row), values[spec.primary_objective.name]

    def _row(self, parameters: Mapping[str, ParameterValue]) -> dict[str, ParameterValue]:
        if sorted(parameters) != sorted(self._names):
            raise PlannerError(
                f"parameters {sorted(parameters)} are not the campaign's {self._names}"
            )
        return {name: parameters[name] for name in self._names}

    def _values(self, trial_id: str | None, outcomes: Mapping[str, float]) -> dict[str, float]:
        missing = [name for name in self.spec.readings if name not in outcomes]
        if missing:
            what = f"trial {trial_id}" if trial_id else "the observed experiment"
            raise PlannerError(
                f"outcomes of {what} lack {', '.join(map(repr, missing))}", trial_id=trial_id
            )
        return {name: float(outcomes[name]) for name in self.spec.readings}

    def _check_pending(self, trial_id: str, verb: str) -> None:
        if trial_id in self._pending:
            return
        if trial_id in self._told:
            why = "it was already told; a result is taken only once"
        elif trial_id in self._forgotten:
            why = "it was forgotten; a forgotten trial takes no result"
        else:
            why = "this planner never proposed it"
        raise PlannerError(f"cannot {verb} trial {trial_id!r}: {why}", trial_id=trial_id)


def _number(trial_id: str) -> int:
    """The number in a trial id ``t0012`` (0 for an id of another shape)."""
    digits = trial_id.lstrip("t")
    return int(digits) if digits.isdigit() else 0
