"""How large a departure from parallel trends would overturn a DiD claim (docs/claims.md, "Sensitivity to trends").

A difference-in-differences estimate is only as good as its assumption that, without the
initiative, treated and comparison units would have kept moving in parallel. ``pre_trend``
tests the before window; passing it does not prove parallel trends — a trend too small to be
detected before go-live can still carry much of the effect (Roth 2022, *AER: Insights* 4(3)).
In the manner of Rambachan & Roth (2023, *Review of Economic Studies* 90(5)), the question is
turned around: how large a violation would it take to overturn the claim?

The violation considered is a linear differential trend: the treated-minus-comparison gap drifting
by ``delta`` per period. In a before/after comparison of means it adds ``delta x D`` to the
estimate, ``D`` being the periods between the middle of the before and of the after window. The
claim is overturned when its interval, shifted by that bias towards zero, reaches zero:

    breakdown delta = max(0, |effect| - q se) / D

(the linear-trend case of Rambachan & Roth's smoothness bound, with the bias treated as known).
It is set against what the before window says about such trends: the slope of the gap there and
its standard error (AR(1)-noise errors, as for ``pre_trend``). ``breakdown_in_pre_se`` is the
breakdown slope in those standard errors: below about 2, a trend the before window could not
have detected would overturn the claim, so the claim rests on parallel trends more than on the
data. All figures are on the scale the estimate is made on: the metric's own units per period, or
for a metric estimated on the log scale, log-ratio per period (0.01 is about 1% per period).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from roi_ledger.effects.ar1_errors import fit_ar1
from roi_ledger.effects.panel import CONTROL, POST, PRE, TREATED, Panel
from roi_ledger.effects.result import t_quantile
from roi_ledger.effects.seasons import period_number

# Not a threshold: the fewest before-window periods a slope and its error are fitted on; no check
# or grade reads the sensitivity (the business's minimum before a grade is ``min_pre_*``).
_MIN_PRE_PERIODS = 6


@dataclass(frozen=True)
class TrendSensitivity:
    scale: str  # "linear" | "log": the scale of every slope below
    periods_apart: float  # D: periods between the middles of the before and after windows
    pre_trend_slope: float  # of the treated-minus-comparison gap before go-live, per period
    pre_trend_se: float
    breakdown_slope: float  # the differential trend per period that overturns the claim
    breakdown_in_pre_se: float | None


def to_estimation_scale(value: float, observed: float, scale: str) -> float:
    """An effect in the metric's units back on the estimation scale (the inverse of
    ``roi_ledger.effects.to_metric_units``: ``level = observed (1 - exp(-tau))``)."""
    if scale != "log":
        return value
    return -math.log(1 - value / observed)


def gap_series(panel: Panel) -> pl.DataFrame:
    """Per period: the treated units' mean minus the comparison units', with its window and ``t``."""
    frame = panel.frame.filter(pl.col("window").is_in([PRE, POST])).drop_nulls("value")
    means = frame.group_by("period_start", "role").agg(pl.col("value").mean(), pl.col("window").first())
    wide = means.pivot(on="role", index="period_start", values=["value", "window"]).drop_nulls()
    if f"value_{TREATED}" not in wide.columns or f"value_{CONTROL}" not in wide.columns:
        return pl.DataFrame()
    return (
        wide.sort("period_start")
        .select(
            "period_start",
            (pl.col(f"value_{TREATED}") - pl.col(f"value_{CONTROL}")).alias("gap"),
            pl.col(f"window_{TREATED}").alias("window"),
        )
        .with_columns(period_number(panel.period).alias("t"))
    )


def trend_sensitivity(
    panel: Panel, *, effect: float, ci_low: float, ci_high: float, observed: float, confidence: float
) -> TrendSensitivity | None:
    """The breakdown differential trend of one DiD claim (see the module); None without a before
    window of ``_MIN_PRE_PERIODS`` periods with both groups, or an after window."""
    gaps = gap_series(panel)
    if gaps.is_empty():
        return None
    pre, post = gaps.filter(pl.col("window") == PRE), gaps.filter(pl.col("window") == POST)
    if pre.height < _MIN_PRE_PERIODS or post.is_empty():
        return None
    try:
        beta, low, high = (to_estimation_scale(v, observed, panel.scale) for v in (effect, ci_low, ci_high))
    except ValueError:  # an interval end beyond what the log scale allows
        return None
    quantile = t_quantile(confidence, 10**6)
    se = (high - low) / (2 * quantile)
    model = fit_ar1("gap ~ t", pre.to_pandas(), period="t")
    slope, slope_se = float(model.params["t"]), float(model.bse["t"])
    apart = float(np.mean(post["t"].to_numpy()) - np.mean(pre["t"].to_numpy()))
    if not apart > 0:
        return None
    breakdown = max(0.0, abs(beta) - quantile * se) / apart
    return TrendSensitivity(
        scale=panel.scale,
        periods_apart=apart,
        pre_trend_slope=slope,
        pre_trend_se=slope_se,
        breakdown_slope=breakdown,
        breakdown_in_pre_se=breakdown / slope_se if slope_se > 0 else None,
    )
