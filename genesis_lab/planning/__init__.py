"""Planning: choose the next experiments from the results so far (pure computation).

Ask/tell planners over typed parameters (continuous on a linear or log scale, integer,
discrete, categorical, fixed). ``BayesianPlanner`` starts with a scrambled Sobol design
and continues with a BoTorch GP and qLogNoisyExpectedImprovement;
``RandomPlanner`` is the uniform baseline. Each model proposal carries an ``Explanation``
(predicted mean and spread, acquisition value, fitted length scales and noise). Both
satisfy the ``Planner`` protocol::

    planner = BayesianPlanner.from_spec(spec)
    for proposal in planner.ask(2):
        ...  # run the experiment
        planner.tell(proposal.trial_id, {spec.objective.name: value})
    planner.suggest({...}, origin="manual")  # an operator's own experiment, pending
    planner.observe({...}, {spec.objective.name: value})  # prior data, used at once

No instrument, messaging or storage code is imported here.
"""

from ._bayesian import BayesianPlanner
from ._diagnostics import (
    ModelCheck,
    ObjectiveCheck,
    check_model,
    hypervolume_reference,
    hypervolume_trace,
)
from ._factory import planner_from_spec
from ._offline import run_offline
from ._random import RandomPlanner
from ._trials import Observation, non_dominated
from ._types import Explanation, ParameterValue, Planner, Proposal

__all__ = [
    "BayesianPlanner",
    "Explanation",
    "ModelCheck",
    "ObjectiveCheck",
    "Observation",
    "ParameterValue",
    "Planner",
    "Proposal",
    "RandomPlanner",
    "check_model",
    "hypervolume_reference",
    "hypervolume_trace",
    "non_dominated",
    "planner_from_spec",
    "run_offline",
]
