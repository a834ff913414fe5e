"""Pydantic models of a campaign file: what to vary, what to measure, where, how long."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from genesis_lab.ids import CAMPAIGN_NAME_MAX_LENGTH, CAMPAIGN_NAME_PATTERN
from genesis_lab.spec._base import _IDENTIFIER, _SLUG, StrictModel, parse_broker_url
from genesis_lab.spec._constraints import LinearConstraint, _check_constraint, parse_constraint
from genesis_lab.spec._parameters import AnyParameter, Parameter

__all__ = [
    "CampaignSpec",
    "LeasePolicy",
    "MultiObjective",
    "Objective",
    "OutcomeConstraint",
    "PlannerSettings",
    "RetryPolicy",
    "StationRef",
    "StoppingRules",
]


class Objective(StrictModel):
    """A number a campaign optimises, taken from a detector reading."""

    name: str = Field(pattern=_IDENTIFIER)
    direction: Literal["maximize", "minimize"]
    reading: str = Field(
        min_length=1, description="Data key in the event documents that holds the value."
    )
    units: str = ""
    reference: float | None = Field(
        default=None,
        description="With several objectives: the worst value still worth having (the "
        "hypervolume reference point), in the objective's units; inferred from the data "
        "when omitted.",
    )
    weight: float = Field(
        default=1.0,
        gt=0,
        description="With `multi_objective.method: weighted`: this objective's weight in the "
        "one number optimised (per unit of the objective).",
    )

    @property
    def sign(self) -> float:
        """+1 when larger is better, -1 when smaller is better."""
        return 1.0 if self.direction == "maximize" else -1.0


class MultiObjective(StrictModel):
    """How several objectives are traded off."""

    method: Literal["pareto", "weighted"] = Field(
        default="pareto",
        description="'pareto': search for the Pareto front (qLogNEHVI); 'weighted': optimise "
        "the one number sum(weight * value), each value signed so that larger is better.",
    )


class OutcomeConstraint(StrictModel):
    """A measured quantity that must stay within limits (e.g. purity at least 0.95).

    The planner models it and proposes where it is likely to hold; a result that breaks it
    is recorded, but never counts as the best.
    """

    name: str = Field(pattern=_IDENTIFIER)
    reading: str = Field(
        min_length=1, description="Data key in the event documents that holds the value."
    )
    min: float | None = Field(default=None, description="Smallest acceptable value.")
    max: float | None = Field(default=None, description="Largest acceptable value.")
    units: str = ""

    @model_validator(mode="after")
    def _has_a_limit(self) -> OutcomeConstraint:
        if self.min is None and self.max is None:
            raise ValueError(f"outcome constraint {self.name!r} needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"outcome constraint {self.name!r}: min {self.min} > max {self.max}")
        return self

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the limits."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        """The constraint as an operator writes it, e.g. ``purity >= 0.95``."""
        parts = []
        if self.min is not None:
            parts.append(f"{self.name} >= {self.min:g}")
        if self.max is not None:
            parts.append(f"{self.name} <= {self.max:g}")
        return " and ".join(parts)


class StationRef(StrictModel):
    """Which instrument station runs the experiments."""

    plugin: str = Field(
        min_length=1, description="Entry point in the 'genesis_lab.stations' group."
    )
    id: str | None = Field(
        default=None,
        pattern=_SLUG,
        description="Station id on the wire (topic names); defaults to the plugin name.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Settings passed to the plugin (validated by it)."
    )

    @property
    def station_id(self) -> str:
        """The id workers and orchestrators use for this station on the wire."""
        return self.id or self.plugin


class StoppingRules(StrictModel):
    """When to end a campaign before its budget is spent. Every rule is optional.

    When a rule fires, no new experiment is dispatched; the ones in flight finish (or time
    out), and the rule that fired is recorded as the reason for stopping.
    """

    target: float | None = Field(
        default=None,
        description="Stop once the best objective value reaches this (<= when minimizing, "
        ">= when maximizing), in the objective's units.",
    )
    no_improvement: int | None = Field(
        default=None,
        ge=1,
        description="Stop after this many completed experiments in a row that did not "
        "improve on the best value.",
    )
    max_duration_s: float | None = Field(
        default=None, gt=0, description="Stop dispatching after this many seconds of running."
    )


class RetryPolicy(StrictModel):
    """What to do with a FAILED trial (a device fault, a failed measurement)."""

    max_retries: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Run a failed experiment again, with the same parameters, up to this many "
        "times; each retry is a new trial and counts against the budget.",
    )


class LeasePolicy(StrictModel):
    """How long a dispatched trial may wait for a worker, and what follows when it waits too
    long or its run is cut short. A worker journals every request it accepts and never runs
    the same trial twice, so sending a request again is always safe."""

    accept_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a dispatched trial may wait for the station's worker to accept "
        "it (the worker journals it and says so) before its lease expires.",
    )
    on_expiry: Literal["redispatch", "abandon"] = Field(
        default="redispatch",
        description="When the accept lease expires: send the request again to the station's "
        "live worker, or abandon the trial.",
    )
    max_redispatches: int = Field(
        default=5, ge=0, le=100, description="Give up (abandon) after this many re-sends."
    )
    rerun_interrupted: bool = Field(
        default=False,
        description="The instrument allows running an experiment twice: a trial whose run "
        "was cut short (its worker died mid-run) is run again as a new trial, counting "
        "against the budget. Off (the default): it is only abandoned.",
    )
    offline_limit_s: float = Field(
        default=900.0,
        gt=0,
        description="Seconds the campaign waits for its station's worker to come back "
        "online (nothing is dispatched to an offline station) before it stops, its trials "
        "in flight left as they are for 'genesis-lab resume'.",
    )


class PlannerSettings(StrictModel):
    """Which planner, and the knobs of its acquisition optimiser; the defaults suit a
    handful of parameters."""

    kind: Literal["bayesian", "random"] = Field(
        default="bayesian",
        description="bayesian: a Sobol design, then a GP model and expected improvement; "
        "random: uniform proposals, the baseline to compare a campaign against.",
    )
    num_restarts: int = Field(default=8, ge=1, le=64)
    raw_samples: int = Field(default=256, ge=16, le=8192)


class CampaignSpec(StrictModel):
    """A whole campaign file."""

    version: Literal[1] = Field(default=1, description="Campaign file format version.")
    name: str = Field(
        pattern=CAMPAIGN_NAME_PATTERN,
        description=f"Campaign name: letters, digits, '_', '.', '-', at most "
        f"{CAMPAIGN_NAME_MAX_LENGTH} characters (its campaign ids add a suffix).",
    )
    description: str = ""
    parameters: list[AnyParameter] = Field(
        min_length=1, description="What to vary; each item's `type` defaults to continuous."
    )
    objective: Objective | None = Field(
        default=None, description="The one objective; or list several under `objectives`."
    )
    objectives: list[Objective] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description="Several objectives (instead of `objective`), traded off as "
        "`multi_objective` says.",
    )
    multi_objective: MultiObjective = Field(default_factory=MultiObjective)
    outcome_constraints: list[OutcomeConstraint] = Field(
        default_factory=list,
        description="Measured quantities that must stay within limits; modelled by the planner.",
    )
    budget: int = Field(ge=1, le=100_000, description="Number of experiments to run.")
    initial_design: int = Field(
        default=5, ge=1, description="Experiments drawn from a Sobol design before the model."
    )
    seed: int = Field(default=0, ge=0, description="Seed of the design and the acquisition.")
    station: StationRef
    broker: str = Field(
        default="embedded",
        description="'embedded', 'mqtt://HOST:PORT' or 'mqtts://HOST:PORT' (TLS; the CA and "
        "credentials come from options or the environment, never from the campaign file).",
    )
    trial_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="Seconds a dispatched trial may take from dispatch to its result; past "
        "it the trial is abandoned (and its request expires, so no worker starts it later).",
    )
    replicates: int = Field(
        default=1,
        ge=1,
        le=10_000,
        description="Measurements taken at each experiment's setpoints (one event each); "
        "the outcome is their mean.",
    )
    batch_size: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Experiments in flight at once; each new proposal treats them as pending.",
    )
    stopping: StoppingRules = Field(default_factory=StoppingRules)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    lease: LeasePolicy = Field(default_factory=LeasePolicy)
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    constraints: list[str] = Field(
        default_factory=list,
        description="Linear constraints on continuous linear-scale parameters, in their units, "
        "e.g. 'cyan + magenta + yellow <= 12'; relations '<=', '>=', '=='.",
    )

    @property
    def all_objectives(self) -> tuple[Objective, ...]:
        """Every objective, in file order: ``objectives``, or ``objective`` alone."""
        if self.objectives:
            return tuple(self.objectives)
        assert self.objective is not None  # the validator demands one of them
        return (self.objective,)

    @property
    def primary_objective(self) -> Objective:
        """The first objective: the one shown first and used by single-number summaries."""
        return self.all_objectives[0]

    @property
    def pareto(self) -> bool:
        """Whether the planner searches a Pareto front (several objectives, not weighted)."""
        return len(self.all_objectives) > 1 and self.multi_objective.method == "pareto"

    @property
    def readings(self) -> dict[str, str]:
        """Objective and outcome-constraint names -> the data keys that carry them."""
        readings = {objective.name: objective.reading for objective in self.all_objectives}
        readings.update({c.name: c.reading for c in self.outcome_constraints})
        return readings

    @model_validator(mode="after")
    def _objectives_and_rules(self) -> CampaignSpec:
        if self.objective is not None and self.objectives is not None:
            raise ValueError("give 'objective' (one) or 'objectives' (several), not both")
        if self.objective is None and self.objectives is None:
            raise ValueError(
                "the campaign has no objective: give 'objective' (one) or 'objectives' (several)"
            )
        names = [o.name for o in self.all_objectives] + [c.name for c in self.outcome_constraints]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"objective and outcome-constraint names must differ; used twice: {repeated}"
            )
        if len(self.all_objectives) > 1 and self.stopping.target is not None:
            raise ValueError(
                "stopping.target compares one objective's value; with several objectives use "
                "stopping.no_improvement (a result that improves none of them) instead"
            )
        return self

    @property
    def linear_constraints(self) -> tuple[LinearConstraint, ...]:
        """``constraints`` parsed (they were checked when the campaign was validated)."""
        return tuple(parse_constraint(text) for text in self.constraints)

    @field_validator("constraints")
    @classmethod
    def _parse_constraints(cls, constraints: list[str], info: ValidationInfo) -> list[str]:
        parameters = info.data.get("parameters")
        if parameters is None:  # parameters already refused
            return constraints
        by_name = {parameter.name: parameter for parameter in parameters}
        errors: list[InitErrorDetails] = []
        for index, text in enumerate(constraints):
            try:
                _check_constraint(text, by_name)
            except ValueError as error:
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "constraint",
                            "constraint {index}: {why}",
                            {"index": index, "why": str(error)},
                        ),
                        loc=(index,),
                        input=text,
                    )
                )
        if errors:
            raise ValidationError.from_exception_data("constraints", errors)
        return constraints

    @field_validator("broker")
    @classmethod
    def _broker(cls, broker: str) -> str:
        if broker != "embedded":
            parse_broker_url(broker)
        return broker

    @field_validator("parameters")
    @classmethod
    def _unique_names(cls, parameters: list[Parameter]) -> list[Parameter]:
        seen: set[str] = set()
        for parameter in parameters:
            if parameter.name in seen:
                raise ValueError(f"parameter name {parameter.name!r} is used twice")
            seen.add(parameter.name)
        return parameters

    @field_validator("initial_design")
    @classmethod
    def _design_within_budget(cls, initial_design: int, info: ValidationInfo) -> int:
        budget = info.data.get("budget")
        if budget is not None and initial_design > budget:
            raise ValueError(
                f"initial_design ({initial_design}) exceeds budget ({budget}); "
                "lower initial_design or raise budget"
            )
        return initial_design
