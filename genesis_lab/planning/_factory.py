"""The planner a campaign asks for (``planner: {kind: ...}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genesis_lab.planning._bayesian import BayesianPlanner
from genesis_lab.planning._random import RandomPlanner

if TYPE_CHECKING:
    from genesis_lab.spec import CampaignSpec

__all__ = ["planner_from_spec"]


def planner_from_spec(spec: CampaignSpec) -> BayesianPlanner | RandomPlanner:
    """The planner the campaign asks for (``planner: {kind: ...}``), fresh."""
    if spec.planner.kind == "random":
        return RandomPlanner.from_spec(spec)
    return BayesianPlanner.from_spec(spec)
