"""Drive a planner against a plain function: for benchmarks and tests without instruments."""

from __future__ import annotations

from collections.abc import Callable

from genesis_lab.planning._types import ParameterValue, Planner, Proposal

__all__ = ["run_offline"]


def run_offline(
    planner: Planner,
    evaluate: Callable[[dict[str, ParameterValue]], float],
    *,
    budget: int,
    objective: str,
) -> list[tuple[Proposal, float]]:
    """Ask, evaluate and tell ``budget`` times, one experiment at a time.

    ``evaluate`` maps a proposal's parameters to the objective's value. Returns every
    proposal with the value it was told, in order.
    """
    trace: list[tuple[Proposal, float]] = []
    for _ in range(budget):
        [proposal] = planner.ask(1)
        value = evaluate(proposal.parameters)
        planner.tell(proposal.trial_id, {objective: value})
        trace.append((proposal, value))
    return trace
