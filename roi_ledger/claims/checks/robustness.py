"""Does the effect survive capping extreme records, and does it last?"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
from scipy import stats

from roi_ledger.claims.base import (
    CheckClass,
    CheckResult,
    MetricClaim,
    claim_check,
)
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.effects.panel import POST


@claim_check("outliers", check_class=CheckClass.SUSPICION, reads=("capped_series",))
def outliers(claim: MetricClaim) -> CheckResult:
    """The effect changes sign or moves by more than a quarter when the top share of records
    (the initiative's ``outlier_cap_share``, 1% by default) is capped."""
    row = claim.primary
    if (
        row is None
        or not row["effect_abs"]
        or claim.definition is None
        or claim.definition.aggregation in ("rate", "count")
    ):
        return CheckResult(CheckStatus.NOT_APPLICABLE, "A count or a share of records has no extreme values to cap.")
    share = claim.thresholds.outlier_cap_share
    capped = claim.capped_series(claim.metric, share)
    if capped is None or capped.is_empty():
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The records behind this metric are not available to cap.")
    estimate = claim.reestimate(series=with_capped_values(claim.series, capped))
    if estimate is None or estimate.effect_abs is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The effect could not be re-estimated on capped records.")
    real = row["effect_abs"]
    moved = abs(estimate.effect_abs - real) / abs(real)
    limit = claim.thresholds.max_outlier_sensitivity
    if estimate.effect_abs * real < 0 or moved > limit:
        return CheckResult(
            CheckStatus.WARN,
            f"Capping the most extreme {share:.0%} of records moves the effect by {moved:.0%}"
            f"{' and flips its sign' if estimate.effect_abs * real < 0 else ''}: a few unusual records drive it.",
            moved,
            limit,
        )
    return CheckResult(
        CheckStatus.PASS,
        f"Capping the most extreme {share:.0%} of records moves the effect by only {moved:.0%}.",
        moved,
        limit,
    )


def with_capped_values(series: pl.DataFrame, capped: pl.DataFrame) -> pl.DataFrame:
    """``series`` with each unit-period's value replaced by its capped value (``capped``:
    unit_id, period_start, value), where both have one."""
    joined = series.join(capped.rename({"value": "capped"}), on=["unit_id", "period_start"], how="left")
    return joined.with_columns(
        pl.when(pl.col("capped").is_not_null() & pl.col("value").is_not_null())
        .then(pl.col("capped"))
        .otherwise(pl.col("value"))
        .alias("value")
    ).drop("capped")


@claim_check("novelty_decay", check_class=CheckClass.SUSPICION)
def novelty_decay(claim: MetricClaim) -> CheckResult:
    """The effect in the second half of the after window is less than half of the first half's,
    and significantly smaller (a one-sided test of the decline against the halves' own
    intervals; noise alone often halves a modest effect in one half)."""
    row = claim.primary
    initiative = claim.initiative
    if claim.panel is None or row is None or not row["effect_abs"] or claim.panel.is_staggered:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No single-date estimate to split.")
    post = claim.panel.treated.filter(pl.col("window") == POST)
    periods = sorted(post["period_start"].unique().to_list())
    if len(periods) < 2 * claim.thresholds.min_post(claim.panel.period):
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The after window is too short to split in halves.")
    middle = periods[len(periods) // 2]
    first = claim.reestimate(retired_on=middle - timedelta(days=1))
    second = claim.reestimate(ramp_up_days=(middle - initiative.first_go_live).days)
    if first is None or second is None or not first.effect_abs or second.effect_abs is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The halves could not be estimated.")
    retention = second.effect_abs / first.effect_abs
    limit = claim.thresholds.min_effect_retention
    test = _decline_test(first, second, np.sign(row["effect_abs"]), claim)
    if (
        first.effect_abs * row["effect_abs"] > 0
        and retention < limit
        and (test is None or test["p_value"] < test["level"])
    ):
        return CheckResult(
            CheckStatus.WARN,
            f"The effect in the second half of the after window is {retention:.0%} of the first half's: "
            "it may be a novelty that is wearing off.",
            retention,
            limit,
            **(test or {}),
        )
    if retention < limit and test is not None:
        return CheckResult(
            CheckStatus.PASS,
            f"The second half shows {retention:.0%} of the first half's effect, but the halves' intervals "
            f"cannot tell that decline from noise (p = {test['p_value']:.2g}).",
            retention,
            limit,
            **test,
        )
    return CheckResult(
        CheckStatus.PASS,
        f"The effect held up: the second half shows {retention:.0%} of the first half's.",
        retention,
        limit,
        **(test or {}),
    )


def _decline_test(first, second, direction: float, claim: MetricClaim) -> dict | None:
    """One-sided test that the second half's effect is smaller (in the effect's direction)
    than the first's: z = decline / sqrt(se1^2 + se2^2), each se from its interval. The halves
    share the before window, so their errors are positively correlated and this variance is
    an upper bound: the test errs towards not firing."""
    if None in (first.ci_low, first.ci_high, second.ci_low, second.ci_high):
        return None
    z = float(stats.norm.ppf(0.5 + claim.confidence / 2))
    se1, se2 = (first.ci_high - first.ci_low) / (2 * z), (second.ci_high - second.ci_low) / (2 * z)
    spread = math.hypot(se1, se2)
    if not spread > 0:
        return None
    decline = direction * (first.effect_abs - second.effect_abs) / spread
    return {"p_value": float(stats.norm.sf(decline)), "level": claim.significance}
