"""The plain result types of a validation: one per expectation, one per suite.

No Great Expectations objects leak out of the runner: callers (the Dagster checks, tests, the
docs' examples) only see these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    # GX could not evaluate the expectation (a missing column, an unsupported type...).
    ERROR = "error"
    # The table is empty because the dataset was not delivered: nothing to judge.
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class ExpectationResult:
    suite: str
    table: str
    expectation: str
    columns: tuple[str, ...]
    critical: bool
    status: Status
    observed_value: Any = None
    unexpected_count: int | None = None
    # One line naming the table and column(s), e.g.
    # "staging.stg_tickets.csat: 1 value outside 1 to 5 (e.g. 7 at ticket_id=T3)".
    message: str = ""

    @property
    def success(self) -> bool | None:
        """True when met, False when failed or not evaluable, None when not applicable."""
        if self.status is Status.NOT_APPLICABLE:
            return None
        return self.status is Status.PASSED

    @property
    def blocks(self) -> bool:
        """A critical expectation that failed, or could not be evaluated, blocks the marts."""
        return self.critical and self.success is False


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    table: str
    rows: int
    results: tuple[ExpectationResult, ...]

    @property
    def not_applicable(self) -> bool:
        return all(r.status is Status.NOT_APPLICABLE for r in self.results)

    def of(self, *, critical: bool) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if r.critical is critical)

    def failed(self, *, critical: bool) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.of(critical=critical) if r.success is False)

    @property
    def blocks(self) -> bool:
        return any(r.blocks for r in self.results)
