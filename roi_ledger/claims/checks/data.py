"""Is there enough data, recent enough, without holes?"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from roi_ledger.claims.base import (
    CheckClass,
    CheckResult,
    MetricClaim,
    claim_check,
)
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.effects.panel import POST, PRE
from roi_ledger.effects.seasons import PERIOD_DAYS


@claim_check("not_enough_data", check_class=CheckClass.DATA)
def not_enough_data(claim: MetricClaim) -> CheckResult:
    """Fewer full periods before or after go-live than needed, or too little volume."""
    if claim.panel is None or claim.primary is None:
        return CheckResult(
            CheckStatus.FAIL, f"There are no data on {claim.metric_words} to measure this initiative with.", 0, None
        )
    period = claim.panel.period
    need_pre, need_post = claim.thresholds.min_pre(period), claim.thresholds.min_post(period)
    pre, post = claim.primary["pre_periods"], claim.primary["post_periods"]
    if pre < need_pre or post < need_post:
        return CheckResult(
            CheckStatus.FAIL,
            f"Only {pre} {period}s before and {post} after go-live; at least {need_pre} before and "
            f"{need_post} after are needed to judge the change.",
            min(pre / need_pre, post / need_post),
            1.0,
        )
    volume = claim.panel.treated.filter(pl.col("window").is_in([PRE, POST]))["volume"].mean()
    minimum = claim.thresholds.min_volume_per_period
    counts_records = claim.definition is not None and claim.definition.aggregation in (
        "rate",
        "mean",
        "median",
        "ratio",
    )
    if counts_records and volume is not None and volume < minimum:
        return CheckResult(
            CheckStatus.WARN,
            f"Each {period} rests on only {volume:.0f} records per unit on average (fewer than "
            f"{minimum:.0f}), so the numbers are noisy.",
            float(volume),
            minimum,
        )
    return CheckResult(
        CheckStatus.PASS,
        f"{pre} {period}s before and {post} after go-live.",
        float(min(pre / need_pre, post / need_post)),
        1.0,
    )


@claim_check("data_gaps", check_class=CheckClass.DATA)
def data_gaps(claim: MetricClaim) -> CheckResult:
    """Share of periods with data in each window, for the treated units."""
    if claim.panel is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No data to look for gaps in.")
    treated = claim.panel.treated.drop_nulls("value")
    period_days = PERIOD_DAYS[claim.panel.period]
    shares = []
    for window in (PRE, POST):
        rows = treated.filter(pl.col("window") == window)
        for _, unit_rows in rows.group_by("unit_id"):
            span = (unit_rows["period_end"].max() - unit_rows["period_start"].min()).days
            expected = max(1, round(span / period_days))
            shares.append(min(1.0, unit_rows["period_start"].n_unique() / expected))
    if not shares:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No periods in the before or after window.")
    worst, minimum = min(shares), claim.thresholds.min_data_share
    if worst < minimum:
        return CheckResult(
            CheckStatus.WARN,
            f"Data are missing for {1 - worst:.0%} of the periods in one window; gaps can hide or fake a change.",
            worst,
            minimum,
        )
    return CheckResult(CheckStatus.PASS, f"At least {worst:.0%} of periods have data in each window.", worst, minimum)


@claim_check("stale_data", check_class=CheckClass.DATA, reads=("as_of",))
def stale_data(claim: MetricClaim) -> CheckResult:
    """The last period with data ends far before the run date."""
    if claim.panel is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No data.")
    last_end = claim.panel.treated.drop_nulls("value")["period_end"].max()
    if last_end is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No data.")
    # A retired initiative's after window closed on retirement: data up to then are enough.
    until = min(claim.as_of, claim.initiative.retired_on or claim.as_of)
    behind = (until + timedelta(days=1) - last_end).days
    limit = claim.thresholds.stale_after_days(claim.panel.period)
    if behind > limit:
        return CheckResult(
            CheckStatus.WARN,
            f"The latest data on {claim.metric_words} end {behind} days before the run date: the result may be "
            "out of date.",
            float(behind),
            float(limit),
        )
    return CheckResult(
        CheckStatus.PASS,
        f"Data are current to within {max(behind, 0)} days of the run date.",
        float(max(behind, 0)),
        float(limit),
    )
