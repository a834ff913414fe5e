"""Score a campaign's experiments on a domain model's noise-free truth.

For the tests and the benchmark that compare planners on the simulated laboratories: a
campaign's model (as its station would build it), the noise-free outcomes at the points it
tried, and one number for the whole run: the best signed objective among the results that
satisfy the outcome constraints (larger is better), or, with several objectives, the
hypervolume of those results above the objectives' references.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

from genesis_lab.spec import CampaignSpec
from genesis_lab.station import load_station_plugin
from genesis_lab_simulators._domain._devices import DomainPlugin
from genesis_lab_simulators._domain._model import DomainModel, ExperimentFailed

__all__ = ["campaign_model", "campaign_score", "noise_free_outcomes"]


def campaign_model(spec: CampaignSpec) -> DomainModel:
    """The domain model behind ``spec``'s station, built with the campaign's model options."""
    plugin = load_station_plugin(spec.station.plugin)
    if not isinstance(plugin, DomainPlugin):
        raise TypeError(f"station plugin {spec.station.plugin!r} is not a domain simulator")
    return plugin.model_factory(**spec.station.options.get("model", {}))


def noise_free_outcomes(
    model: DomainModel, spec: CampaignSpec, parameters: Mapping[str, object]
) -> dict[str, float] | None:
    """The campaign's outcomes, by campaign name, at ``parameters`` without noise; None where
    the experiment fails."""
    values = model.defaults()
    actuator_of = {p.name: p.actuator for p in spec.parameters}
    values.update({actuator_of[n]: v for n, v in parameters.items()})  # type: ignore[misc]
    try:
        readings = model.evaluate(values)
    except ExperimentFailed:
        return None
    prefix = f"{model.name}_"
    return {name: readings[key.removeprefix(prefix)] for name, key in spec.readings.items()}


def campaign_score(spec: CampaignSpec, truths: Sequence[Mapping[str, float] | None]) -> float:
    """The best signed objective (one objective), or the hypervolume (several), of the
    feasible noise-free results; -inf or 0.0 when none is feasible."""
    feasible = [
        t
        for t in truths
        if t is not None and all(c.holds(t[c.name]) for c in spec.outcome_constraints)
    ]
    objectives = spec.all_objectives
    if len(objectives) == 1:
        [o] = objectives
        return max((o.sign * t[o.name] for t in feasible), default=float("-inf"))
    missing = [o.name for o in objectives if o.reference is None]
    if missing:
        raise ValueError(f"hypervolume needs a reference for every objective: give {missing}")
    import torch  # the planner's stack: loaded only when there are several objectives

    with warnings.catch_warnings():  # gpytorch decorates with torch.jit.script at import
        warnings.filterwarnings("ignore", r"`torch\.jit\.script` is deprecated", DeprecationWarning)
        from botorch.utils.multi_objective.hypervolume import Hypervolume

    references = [o.sign * float(o.reference or 0.0) for o in objectives]  # all given: checked
    ref = torch.tensor(references, dtype=torch.double)
    if not feasible:
        return 0.0
    Y = torch.tensor([[o.sign * t[o.name] for o in objectives] for t in feasible])
    better = Y[(ref < Y).all(dim=-1)]
    return float(Hypervolume(ref).compute(better.double())) if len(better) else 0.0
