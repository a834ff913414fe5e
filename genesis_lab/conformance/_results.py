"""What a conformance check says: passed, failed or not applicable, and why."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["CheckResult", "ConformanceReport", "Outcome"]


class Outcome(enum.StrEnum):
    """The verdict of one check."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class CheckResult:
    """One check of one driver: its name, the verdict, and the reason in words.

    A failure's ``reason`` says what the device did and what the contract expects; a
    not-applicable result says why the check could not be made (no simulated fault, no
    limits declared, a real instrument that the kit will not unplug).
    """

    check: str
    outcome: Outcome
    reason: str

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAIL


@dataclass(frozen=True)
class ConformanceReport:
    """Every check run against one driver, in the kit's order."""

    driver: str
    simulated: bool
    results: Sequence[CheckResult]

    @property
    def passed(self) -> bool:
        """True when no check failed (not-applicable checks do not count against it)."""
        return not any(result.failed for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if result.failed]

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.results)
