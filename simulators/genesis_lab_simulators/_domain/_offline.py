"""Run a campaign's planner against a domain model directly, without devices or a broker.

For the tests that compare planners (Bayesian against random search over several seeds)
and for quick looks: the same spec, parameters mapped onto settings as the station would,
noisy measurements told to the planner, failures forgotten as failed; each trial keeps the
noise-free readings so regret is measured against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genesis_lab.planning import Planner, Proposal
from genesis_lab.spec import CampaignSpec
from genesis_lab_simulators._domain._model import DomainModel, ExperimentFailed, SettingValue

__all__ = ["OfflineTrial", "run_offline_campaign"]


@dataclass(frozen=True)
class OfflineTrial:
    """One experiment: the proposal, the noise-free outcomes by campaign name (None if the
    experiment failed) and the failure mode."""

    proposal: Proposal
    truth: dict[str, float] | None
    failure: str = ""


def run_offline_campaign(
    model: DomainModel, spec: CampaignSpec, planner: Planner, seed: int
) -> list[OfflineTrial]:
    """``spec.budget`` experiments one at a time on ``model`` (noise seeded with ``seed``)."""
    rng = np.random.default_rng(seed)
    prefix = f"{model.name}_"
    keys = {name: key.removeprefix(prefix) for name, key in spec.readings.items()}
    actuator_of = {p.name: p.actuator for p in spec.parameters}
    trials: list[OfflineTrial] = []
    for _ in range(spec.budget):
        [proposal] = planner.ask(1)
        values: dict[str, SettingValue] = model.defaults()
        values.update({actuator_of[n]: v for n, v in proposal.parameters.items()})
        try:
            measured = model.measure(values, rng)
            truth = model.evaluate(values)
        except ExperimentFailed as exc:
            planner.forget(proposal.trial_id, failed=True)
            trials.append(OfflineTrial(proposal, None, exc.mode))
            continue
        planner.tell(proposal.trial_id, {name: measured[key] for name, key in keys.items()})
        trials.append(OfflineTrial(proposal, {name: truth[key] for name, key in keys.items()}))
    return trials
