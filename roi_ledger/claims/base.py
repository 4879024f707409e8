"""What every claim check receives and returns, and the registry that lists them.

A check is a function ``check(context) -> CheckResult`` registered with :func:`claim_check`;
adding a check means adding a function in one of the ``roi_ledger/claims/checks/`` modules, not
editing a switch. Each check belongs to a class that says what a firing check does to the grade
(see ``grading.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import cached_property

import polars as pl

from roi_ledger.catalogue import MetricDefinition, MetricTraits
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.claims.thresholds import ClaimThresholds
from roi_ledger.effects.panel import Panel, build_panel
from roi_ledger.effects.registry import estimator_of
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.register import Initiative, Register
from roi_ledger.tables import schema


def as_number(value) -> float | None:
    """A check's observed value or threshold as a float (None when it is none or not a number)."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class CheckClass(str, Enum):
    """What a firing check (warn or fail) says about the claim."""

    DATA = "data"  # not enough evidence yet -> needs_more_data
    SUSPICION = "suspicion"  # something else may explain the number -> suspicious
    VALIDITY = "validity"  # the method's assumption fails: fail -> unreliable, warn -> suspicious
    GOVERNANCE = "governance"  # about the initiative, not the number: reported, no grade change
    # a guardrail metric got worse: fail -> the initiative is unreliable (not its own metric's grade)
    GUARDRAIL = "guardrail"
    INFO = "info"  # context for the reader: no grade change


@dataclass(frozen=True)
class CheckResult:
    status: CheckStatus
    message: str
    observed: float | None = None
    threshold: float | None = None
    # False when the check fired about a number the grade does not rest on (e.g. the naive
    # before/after, when the primary method already accounts for what the check found).
    counts_toward_grade: bool = True
    # For a check that is a hypothesis test (of "no problem"): its p-value and the level it
    # fires below. The claim's tests are then judged together (``roi_ledger.claims.family``).
    p_value: float | None = None
    level: float | None = None


# The claim's inputs that its effect estimates do not already fix: a check declares which of them
# it reads (``reads=``), and its result is kept from night to night exactly while the estimates'
# inputs and those are unchanged (``roi_ledger.incremental.check_fingerprints``).
DECLARABLE_READS = ("as_of", "capped_series")


@dataclass(frozen=True)
class RegisteredCheck:
    check_id: str
    level: str  # "metric" or "initiative"
    check_class: CheckClass
    run: Callable
    reads: tuple[str, ...] = ()  # of DECLARABLE_READS, those the check reads (a metric check)


METRIC_CHECKS: list[RegisteredCheck] = []
INITIATIVE_CHECKS: list[RegisteredCheck] = []


def claim_check(check_id: str, *, level: str = "metric", check_class: CheckClass, reads: tuple[str, ...] = ()):
    """Register a check. ``reads``: which of the claim's ``DECLARABLE_READS`` the check reads,
    itself or through a ``MetricClaim`` method it calls (``tests/test_claims.py`` runs every check
    on claims where the others cannot be read)."""
    unknown = set(reads) - set(DECLARABLE_READS)
    if unknown:
        raise ValueError(f"{check_id}: reads {sorted(unknown)}, not among {DECLARABLE_READS}")

    def register(function: Callable) -> Callable:
        entry = RegisteredCheck(check_id, level, check_class, function, tuple(sorted(reads)))
        (METRIC_CHECKS if level == "metric" else INITIATIVE_CHECKS).append(entry)
        return function

    return register


@dataclass
class MetricClaim:
    """One initiative x metric claim: its data, its estimates, and the means to re-estimate.

    A check that reads ``as_of`` or ``capped_series`` (``DECLARABLE_READS``), itself or through a
    method here, declares so on its registration (``claim_check(..., reads=...)``)."""

    register: Register
    initiative: Initiative
    metric: str
    series: pl.DataFrame  # this metric's series, every unit
    panel: Panel | None
    estimates: pl.DataFrame  # every method's row for this initiative x metric
    thresholds: ClaimThresholds
    as_of: date
    traits: dict[str, MetricTraits]
    definition: MetricDefinition | None  # None for a KPI
    # (metric, cap share) -> the series with the top share of records capped (``outliers``)
    capped_series: Callable[[str, float], pl.DataFrame | None] = lambda metric, share: None

    @cached_property
    def primary(self) -> dict | None:
        rows = self.estimates.filter(pl.col("is_primary"))
        return rows.row(0, named=True) if rows.height else None

    def estimate(self, method: str) -> dict | None:
        rows = self.estimates.filter(pl.col("method") == method)
        return rows.row(0, named=True) if rows.height else None

    @property
    def method(self) -> str | None:
        return self.primary["method"] if self.primary else None

    @property
    def metric_words(self) -> str:
        """The metric as a sentence names it: its catalogue label (a KPI's name in words)."""
        label = (self.definition.label if self.definition else None) or self.metric.replace("_", " ")
        return label[0].lower() + label[1:]

    def range_words(self, low: float, high: float) -> str:
        """An interval of the effect as the report writes numbers (``roi_ledger.words``)."""
        from roi_ledger.words import change

        unit = self.definition.unit if self.definition else "number"
        currency = self.register.business.currency
        return f"from {change(low, unit, currency)} to {change(high, unit, currency)}"

    def initiative_words(self, initiative_id: str) -> str:
        """Another initiative by its name."""
        named = next((i.name for i in self.register.initiatives if i.id == initiative_id), initiative_id)
        return f'"{named}"'

    @property
    def confidence(self) -> float:
        """The business's confidence level: of the estimates' intervals and of the checks' own."""
        return self.register.business.confidence_level

    @property
    def significance(self) -> float:
        """1 - the confidence level: the size of a test that matches the intervals (rounded, so
        that 95% gives 0.05, not 0.050000000000000044)."""
        return round(1 - self.confidence, 12)

    @property
    def good_direction(self) -> str | None:
        return self.definition.good_direction if self.definition else None

    def reestimate(
        self, *, series: pl.DataFrame | None = None, method: str | None = None, **initiative_changes
    ) -> EffectEstimate | None:
        """Run the primary (or another) method again on changed data or a changed initiative."""
        registered = estimator_of(method or self.method or "")
        if registered is None:
            return None
        initiative = self.initiative.model_copy(update=initiative_changes) if initiative_changes else self.initiative
        panel = build_panel(
            self.register, initiative, self.metric, self.series if series is None else series, self.traits
        )
        if panel is None:
            return None
        from roi_ledger.effects import run_estimator

        # A re-estimate that cannot be made is not applicable, not a crash (no problems list).
        return run_estimator(registered, panel, self.confidence)


@dataclass(frozen=True)
class InitiativeClaim:
    """One initiative as a whole: the register, and its business case as registered and edited
    (a row of ``roi_ledger.oversight.business_case.judge_cases``; None before any run recorded it)."""

    register: Register
    initiative: Initiative
    case: dict | None = None


def definitions_frame() -> pl.DataFrame:
    """Every registered check, in the order they run (published as ``marts.claim_check_definitions``)."""
    from roi_ledger.claims import checks  # noqa: F401 - importing registers the checks

    return pl.DataFrame(
        [
            {
                "check_id": c.check_id,
                "level": c.level,
                "check_class": c.check_class.value,
                "description": " ".join((c.run.__doc__ or c.check_id).split()),
            }
            for c in METRIC_CHECKS + INITIATIVE_CHECKS
        ],
        schema=schema("claim_check_definitions"),
    )
