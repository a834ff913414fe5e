"""Stopping rules: decide, after each finished trial, whether to dispatch any more."""

from __future__ import annotations

import time

from genesis_lab.spec import CampaignSpec

__all__ = ["StopWatch"]


class StopWatch:
    """Follows a campaign's results and says which stopping rule, if any, has fired.

    The budget is the loop's own business (it counts dispatched trials); this covers the
    optional rules of ``spec.stopping``: target value, no improvement, wall-clock limit.
    """

    def __init__(self, spec: CampaignSpec, *, started: float | None = None) -> None:
        self._rules = spec.stopping
        self._objective = spec.objective.name
        self._sign = 1.0 if spec.objective.direction == "maximize" else -1.0
        self._started = time.monotonic() if started is None else started
        self._best: float | None = None
        self._since_improvement = 0

    def restart(self) -> None:
        """Start the wall clock now."""
        self._started = time.monotonic()

    def observe(self, outcome: float) -> None:
        """Account for a completed experiment's objective value."""
        if self._best is None or self._sign * outcome > self._sign * self._best:
            self._best = outcome
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
