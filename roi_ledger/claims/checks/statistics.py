"""Is the effect distinguishable from zero, worth having, and plausible in size?"""

from __future__ import annotations

from roi_ledger.claims.base import (
    CheckClass,
    CheckResult,
    MetricClaim,
    claim_check,
)
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.claims.sequential import always_valid


@claim_check("ci_covers_zero", check_class=CheckClass.DATA)
def ci_covers_zero(claim: MetricClaim) -> CheckResult:
    """The effect's interval (at the business's confidence level) includes zero: the data
    cannot tell it from no effect."""
    row = claim.primary
    if row is None or row["effect_abs"] is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No estimate to judge.")
    if row["ci_low"] is None or row["ci_high"] is None:
        return CheckResult(CheckStatus.FAIL, "The estimate has no interval, so how sure we can be is unknown.")
    covers = row["ci_low"] <= 0 <= row["ci_high"]
    interval = claim.range_words(row["ci_low"], row["ci_high"])
    level = f"{claim.confidence:.0%}"
    if covers:
        return CheckResult(
            CheckStatus.WARN,
            f"The {level} range of the effect, {interval}, includes zero: "
            "the data cannot yet tell it apart from no change.",
            row["p_value"],
            claim.significance,
        )
    return CheckResult(
        CheckStatus.PASS,
        f"The {level} range of the effect, {interval}, excludes zero.",
        row["p_value"],
        claim.significance,
    )


def primary_always_valid(claim: MetricClaim):
    """The primary estimate's always-valid interval (``roi_ledger.claims.sequential``), None when it
    has no width to judge; the estimate has its interval."""
    row = claim.primary
    return always_valid(
        effect=row["effect_abs"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        confidence=claim.confidence,
        pre=row["pre_periods"] or 0,
        post=row["post_periods"] or 0,
        min_post=claim.thresholds.min_post(row["period"]),
        horizon=claim.thresholds.horizon_periods(row["period"]),
    )


@claim_check("nightly_interval_covers_zero", check_class=CheckClass.DATA)
def nightly_interval_covers_zero(claim: MetricClaim) -> CheckResult:
    """The effect's always-valid interval includes zero: the estimate is redone every week, and an
    ordinary interval that excludes zero on one week can be that week's luck (alpha spending over
    the weekly looks, most of it by the verdict horizon: ``roi_ledger.claims.sequential``)."""
    row = claim.primary
    if row is None or row["effect_abs"] is None or row["ci_low"] is None or row["ci_high"] is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No estimate with an interval to judge.")
    bounds = primary_always_valid(claim)
    if bounds is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The interval has no width to judge.")
    interval = claim.range_words(bounds.low, bounds.high)
    level = f"{claim.confidence:.0%}"
    if not bounds.excludes_zero():
        return CheckResult(
            CheckStatus.WARN,
            f"Allowing for the estimate being redone every night, its {level} range, {interval}, includes "
            "zero: one good night is not yet enough to count on it.",
            abs(row["effect_abs"]),
            bounds.half_width,
        )
    return CheckResult(
        CheckStatus.PASS,
        f"Even allowing for nightly re-estimation, the {level} range, {interval}, excludes zero.",
        abs(row["effect_abs"]),
        bounds.half_width,
    )


@claim_check("practically_zero", check_class=CheckClass.INFO)
def practically_zero(claim: MetricClaim) -> CheckResult:
    """The effect is smaller than the smallest change worth having."""
    row = claim.primary
    if row is None or row["effect_pct"] is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No estimate relative to a counterfactual.")
    size, minimum = abs(row["effect_pct"]), claim.thresholds.min_meaningful_change_pct
    if size < minimum:
        return CheckResult(
            CheckStatus.WARN,
            f"The change is {size:.1f}% — below the {minimum:g}% that would make a practical difference.",
            size,
            minimum,
        )
    return CheckResult(
        CheckStatus.PASS, f"The change is {size:.1f}%, above the {minimum:g}% worth having.", size, minimum
    )


@claim_check("suspicious_size", check_class=CheckClass.SUSPICION)
def suspicious_size(claim: MetricClaim) -> CheckResult:
    """|effect| of half the baseline or more (Twyman's law: surprising numbers are usually wrong)."""
    row = claim.primary
    if row is None or row["effect_abs"] is None or not row["baseline_value"]:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No estimate or baseline to compare with.")
    share, limit = abs(row["effect_abs"]) / abs(row["baseline_value"]), claim.thresholds.max_plausible_change
    if share >= limit:
        return CheckResult(
            CheckStatus.WARN,
            f"The effect is {share:.0%} of the baseline; changes this large are more often "
            "a data or definition change than a real improvement.",
            share,
            limit,
        )
    return CheckResult(CheckStatus.PASS, f"The effect is {share:.0%} of the baseline: a plausible size.", share, limit)
