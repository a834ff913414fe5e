"""The planner contract: what a proposal is and what every planner answers to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias, runtime_checkable

__all__ = ["Explanation", "ParameterValue", "Planner", "Proposal"]

ParameterValue: TypeAlias = float | int | str
"""A parameter's value in its own units: a float (continuous), an int (integer), a float on
a grid (discrete), a string (categorical), or a fixed parameter's number or string."""


@dataclass(frozen=True)
class Explanation:
    """Why the model chose a point: what the fitted GP said about it when it was proposed.

    Every value is in the units an operator knows, never the model's internal scaling: the
    objective's units and sign (a minimised objective shows its predicted value, not the
    negated one the planner maximises), and each parameter's units.

    ``predicted_mean`` and ``predicted_std`` are the GP's posterior mean and standard
    deviation of the objective at the point, without observation noise (the latent
    function). ``acquisition_value`` is the log expected improvement (qLogNEI; for a Pareto
    search the log expected hypervolume improvement, qLogNEHVI) of the whole batch the point
    was proposed in, jointly, given the trials then in flight; for an ``ask(1)`` it is the
    point's own value, and every point of one batch shares it.
    ``length_scales`` maps each searched parameter's name to its fitted ARD length scale in
    that parameter's units (larger: the objective changes more slowly along it); on a log
    scale the units are natural-log units of the value (e-folds); for a categorical
    parameter it is the shortest length scale of its one-hot columns (dimensionless:
    well below 1, the choice matters). Fixed parameters have none. ``noise_std``
    is the fitted observation-noise standard deviation in objective units.
    ``n_observations`` is how many results the model was fitted on. ``predictions`` maps
    every modelled outcome (each objective, each outcome constraint, and ``feasibility``
    when failures are modelled: about 1 where experiments succeed, 0 where they fail) to
    ``{"mean": ..., "std": ...}`` in its own units; ``predicted_mean`` and
    ``predicted_std`` repeat the first objective's. A model value is None when it could not
    be computed as a finite number.
    """

    predicted_mean: float | None
    predicted_std: float | None
    acquisition_value: float | None
    length_scales: dict[str, float]
    noise_std: float | None
    n_observations: int
    predictions: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The explanation as plain JSON types (``json.dumps`` accepts it with
        ``allow_nan=False``); keys are the field names."""
        return {
            "predicted_mean": self.predicted_mean,
            "predicted_std": self.predicted_std,
            "acquisition_value": self.acquisition_value,
            "length_scales": dict(self.length_scales),
            "noise_std": self.noise_std,
            "n_observations": self.n_observations,
            "predictions": {name: dict(value) for name, value in self.predictions.items()},
        }


@dataclass(frozen=True)
class Proposal:
    """One experiment the planner wants run.

    ``trial_id`` is ``"t0001"``, ``"t0002"``, ... in the order the planner proposed them;
    ``parameters`` maps each parameter name, in campaign order, to its value in that
    parameter's units: a float (continuous, discrete), an int (integer), a choice's string
    (categorical), the declared value (fixed);
    ``origin`` says why the point was chosen: ``"sobol"`` (space-filling design),
    ``"model"`` (maximiser of the acquisition function), ``"random"`` (uniform draw), or
    whatever the caller of ``suggest`` passed (``"manual"`` by default, ``"retry"``);
    ``explanation`` is what the model said about a ``"model"`` point when it chose it, and
    None for every other origin (no model was consulted).
    """

    trial_id: str
    parameters: dict[str, ParameterValue]
    origin: str
    explanation: Explanation | None = None


@runtime_checkable
class Planner(Protocol):
    """Ask/tell contract between the orchestrator and a planner.

    Every proposal is *pending* until it is told (a result came back) or forgotten (the
    trial failed or was abandoned). A planner never re-proposes a pending point and never
    accepts a result twice.
    """

    def ask(self, n: int = 1) -> list[Proposal]:
        """Propose ``n`` new experiments; they become pending."""
        ...

    def tell(self, trial_id: str, outcomes: Mapping[str, float]) -> None:
        """Record the result of a pending trial; ``outcomes`` is keyed by objective (and
        outcome-constraint) name."""
        ...

    def forget(self, trial_id: str, *, failed: bool = False) -> None:
        """Drop a pending trial that will never report: ``failed`` when the experiment could
        not give a result at its point (a fault, a refusal), not when it was abandoned."""
        ...

    def suggest(
        self, parameters: Mapping[str, ParameterValue], *, origin: str = "manual"
    ) -> Proposal:
        """Take an experiment chosen elsewhere (an operator, a retry): validated against the
        search space, given the next trial id, pending like an asked proposal."""
        ...

    def observe(
        self,
        parameters: Mapping[str, ParameterValue],
        outcomes: Mapping[str, float],
        *,
        origin: str = "prior",
    ) -> str:
        """Record a result obtained elsewhere (prior data): validated, given the next trial
        id, and used by the model at once. Returns the trial id."""
        ...

    def restore(
        self, trial_id: str, parameters: Mapping[str, ParameterValue], *, origin: str
    ) -> Proposal:
        """Take back, in numbering order, a trial an earlier planner of the campaign proposed
        (resuming from the record); it becomes pending. ``trial_id`` must be the next id."""
        ...

    @property
    def best(self) -> tuple[str, dict[str, ParameterValue], float] | None:
        """``(trial_id, parameters, objective value)`` of the best result so far, or None."""
        ...
