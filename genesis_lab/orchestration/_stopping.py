"""Stopping rules: decide, after each finished trial, whether to dispatch any more."""

from __future__ import annotations

import time
from collections.abc import Mapping

from genesis_lab.spec import CampaignSpec

__all__ = ["StopWatch"]


class StopWatch:
    """Follows a campaign's results and says which stopping rule, if any, has fired.

    The budget is the loop's own business (it counts dispatched trials); this covers the
    optional rules of ``spec.stopping``: target value, no improvement, wall-clock limit.

    A result improves the campaign when it satisfies every outcome constraint and, with one
    objective, beats the best value so far; with several objectives, when no earlier
    result is at least as good in every objective (it extends the Pareto front); weighted
    objectives compare their weighted sum.
    """

    def __init__(self, spec: CampaignSpec, *, started: float | None = None) -> None:
        self._rules = spec.stopping
        self._spec = spec
        self._objective = spec.primary_objective.name
        self._sign = spec.primary_objective.sign
        self._started = time.monotonic() if started is None else started
        self._best: float | None = None
        self._seen: list[tuple[float, ...]] = []  # feasible results, signed objectives
        self._since_improvement = 0

    def restart(self) -> None:
        """Start the wall clock now."""
        self._started = time.monotonic()

    def observe(self, outcomes: Mapping[str, float]) -> None:
        """Account for a completed experiment's objective and outcome-constraint values."""
        spec = self._spec
        if not all(c.holds(outcomes[c.name]) for c in spec.outcome_constraints):
            self._since_improvement += 1
            return
        point = tuple(o.sign * outcomes[o.name] for o in spec.all_objectives)
        if spec.multi_objective.method == "weighted":
            weights = [o.weight for o in spec.all_objectives]
            point = (sum(w * v for w, v in zip(weights, point, strict=True)),)
        improved = not any(
            all(s >= p for s, p in zip(seen, point, strict=True)) for seen in self._seen
        )
        self._seen.append(point)
        value = outcomes[self._objective]
        if self._best is None or self._sign * value > self._sign * self._best:
            self._best = value
        if improved:
            self._since_improvement = 0
        else:
            self._since_improvement += 1

    def reason(self, now: float | None = None) -> str | None:
        """Why the campaign should stop dispatching now, or ``None`` to go on."""
        rules = self._rules
        best = self._best
        if (
            rules.target is not None
            and best is not None
            and self._sign * best >= self._sign * rules.target
        ):
            relation = ">=" if self._sign > 0 else "<="
            return (
                f"target reached: best {self._objective} {best:.6g} {relation} {rules.target:.6g}"
            )
        if rules.no_improvement is not None and self._since_improvement >= rules.no_improvement:
            return (
                f"no improvement over the last {self._since_improvement} completed "
                f"experiments (no_improvement: {rules.no_improvement})"
            )
        elapsed = (time.monotonic() if now is None else now) - self._started
        if rules.max_duration_s is not None and elapsed >= rules.max_duration_s:
            return f"wall-clock limit of {rules.max_duration_s:g} s reached"
        return None
