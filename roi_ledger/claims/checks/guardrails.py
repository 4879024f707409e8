"""Did a guardrail get worse? A guardrail is a metric the initiative must not harm (revenue beside
fulfilment time; docs/claims.md, "Goal metrics and guardrails"). It is measured like a goal, but
the initiative is supported when its goals are and its guardrails show no harm beyond their margin:
a guardrail that did not move, or whose interval is still wide, leaves the verdict as the goals
make it. As experimentation tools do ("do no harm"), harm counts only once the data show it: the
whole always-valid interval lies beyond the margin on the harmful side."""

from __future__ import annotations

from roi_ledger.claims.base import CheckClass, CheckResult, MetricClaim, claim_check
from roi_ledger.claims.checks.statistics import primary_always_valid
from roi_ledger.claims.labels import CheckStatus


@claim_check("guardrail_harm", check_class=CheckClass.GUARDRAIL)
def guardrail_harm(claim: MetricClaim) -> CheckResult:
    """fail: the guardrail is worse by more than its margin as far as the data can tell, allowing
    for the nightly looks (the always-valid interval's best end is past it); warn: this night's
    ordinary interval is past it, the always-valid one not yet (reported, no grade change); pass
    otherwise."""
    guardrail = claim.initiative.guardrail(claim.metric)
    if guardrail is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "A goal metric, not a guardrail.")
    # not_applicable marks a goal metric (grading counts a guardrail by this check alone): a
    # guardrail that cannot be judged yet passes, as no harm is shown
    row = claim.primary
    if row is None or row["effect_abs"] is None or row["ci_low"] is None or not row["baseline_value"]:
        return CheckResult(CheckStatus.PASS, "No estimate with an interval yet: no harm shown.")
    if claim.definition is None:
        return CheckResult(CheckStatus.PASS, "Not in the catalogue, so which way is worse is not known: not judged.")
    bounds = primary_always_valid(claim)
    low, high = (bounds.low, bounds.high) if bounds is not None else (row["ci_low"], row["ci_high"])
    worse = -1.0 if claim.definition.good_direction == "up" else 1.0  # the sign of harm
    baseline = abs(row["baseline_value"])

    def best_case(*ends: float) -> float:  # how much worse at least, in % of the level before go-live
        return min(100 * worse * end / baseline for end in ends)

    estimate = 100 * worse * row["effect_abs"] / baseline
    least, tonight = best_case(low, high), best_case(row["ci_low"], row["ci_high"])
    margin = guardrail.margin_pct
    said = f"{abs(estimate):.1f}% {'worse' if estimate > 0 else 'better'}"
    allowed = f"the {margin:g}% it may worsen by" if margin else "no harm at all"
    if least > margin:
        return CheckResult(
            CheckStatus.FAIL,
            f"A guardrail got worse: {claim.metric_words} is {said}, and at least {least:.1f}% worse as far as "
            f"the data can tell — more than {allowed}.",
            least,
            margin,
        )
    if tonight > margin:
        return CheckResult(
            CheckStatus.WARN,
            f"A guardrail may have got worse: {claim.metric_words} is {said}, more than {allowed}; allowing "
            "for the estimate being redone every night, the data cannot yet tell it from chance.",
            tonight,
            margin,
            counts_toward_grade=False,
        )
    return CheckResult(
        CheckStatus.PASS, f"The guardrail holds: {claim.metric_words} is {said}, within {allowed}.", estimate, margin
    )
