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

The linear trend is one shape of departure. Rambachan & Roth's relative magnitudes (Delta^RM)
bound any shape by what the before window shows: after go-live, the gap's bias may move from one
period to the next by at most M-bar times the largest move of the gap before go-live. The
breakdown value is the largest M-bar under which the robust interval for the average effect after
go-live still excludes zero. It is computed by diff-diff's ``HonestDiD`` (its ``breakdown_value``
search, to 0.01) on an event study that diff-diff's two-way fixed-effects event-study mode fits to
the claim's panel in bins of periods (``binned_panel``: why bins, and how many). Every claim on
comparison units with one go-live date has it; a phased rollout does not yet (the bins are calendar
bins around one go-live). The smoothness bound (Delta^SD) is not published: its optimal interval
took about 0.7 s per value of M on the demo's claims, some 10 s per claim for a breakdown search,
and its M = 0 case is the linear trend above.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from roi_ledger.effects.ar1_errors import fit_ar1
from roi_ledger.effects.did import MIN_CLUSTERS_PER_ARM
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


# Relative magnitudes (Rambachan & Roth 2023, Delta^RM) on an event study of the claim's panel.
# The event study is fitted on bins of ``bin_periods`` periods, at most ``_MAX_POST_BINS`` after
# go-live and the ``_MAX_PRE_BINS`` complete ones just before it: the restriction compares the
# gap's moves between consecutive bins after go-live with the largest before it, and on weekly
# data week-to-week moves are mostly noise (the largest of 100 noisy weekly moves would bound
# everything) while 100 coefficients make the fit slow. Binning keeps both in check.
_MAX_POST_BINS = 4
_MAX_PRE_BINS = 8
_MIN_PRE_BINS = 2  # the reference bin and one more: the first move before go-live
# The library's breakdown search stops at 10 (M-bar = 10: the claim holds even then).
BREAKDOWN_SEARCH_TOP = 10.0


@dataclass(frozen=True)
class Breakdown:
    relative_magnitude: float  # M-bar: the largest post/pre ratio of moves under which the claim holds
    bin_periods: int
    pre_bins: int
    post_bins: int
    covariance: str  # how the event study's standard errors were obtained


def binned_panel(panel: Panel) -> tuple[pl.DataFrame, int] | None:
    """Unit x bin means of the before and after windows (``bin``: -1, -2, ... counted back from
    go-live, 0, 1, ... forward from the after window's start) and the bin width in periods; None
    for a phased rollout (the bins are calendar bins around one go-live) or too short a window."""
    if panel.is_staggered:
        return None
    frame = (
        panel.frame.filter(pl.col("window").is_in([PRE, POST]))
        .drop_nulls("value")
        .with_columns(period_number(panel.period).alias("t"))
    )
    pre_t, post_t = (frame.filter(pl.col("window") == w)["t"] for w in (PRE, POST))
    if pre_t.is_empty() or post_t.is_empty():
        return None
    width = math.ceil((post_t.max() - post_t.min() + 1) / _MAX_POST_BINS)
    bins = (
        pl.when(pl.col("window") == PRE)
        .then(-((pre_t.max() - pl.col("t")) // width) - 1)
        .otherwise((pl.col("t") - post_t.min()) // width)
        .cast(pl.Int64)
    )
    frame = frame.with_columns(bins.alias("bin"))
    # A pre bin reaching past the start of the data is partial: left out with the older ones.
    lengths = frame.filter(pl.col("window") == PRE).group_by("bin").agg(pl.col("t").n_unique().alias("n"))
    complete = set(lengths.filter(pl.col("n") == width)["bin"])
    pre_bins = list(itertools.takewhile(complete.__contains__, range(-1, -_MAX_PRE_BINS - 1, -1)))
    if len(pre_bins) < _MIN_PRE_BINS:
        return None
    frame = frame.filter((pl.col("bin") >= 0) | pl.col("bin").is_in(pre_bins))
    treated = (pl.col("role").first() == TREATED).cast(pl.Int64).alias("treated")
    return frame.group_by("unit_id", "bin").agg(pl.col("value").mean(), treated).sort("unit_id", "bin"), width


def event_study(panel: Panel, confidence: float):
    """The claim's event study on bins (``binned_panel``), fitted by diff-diff's two-way fixed
    effects event-study mode, and its bin width; None when there is nothing to fit."""
    binned = binned_panel(panel)
    if binned is None:
        return None
    frame, width = binned
    arms = frame.group_by("treated").agg(pl.col("unit_id").n_unique())
    if arms.height < 2:
        return None
    from diff_diff import TwoWayFixedEffects

    # Clustered by unit only with enough units in each arm (as did.py's wild bootstrap asks): with
    # one treated unit its per-bin coefficients fit its bins exactly, leaving no residual to cluster.
    clustered = arms["unit_id"].min() >= MIN_CLUSTERS_PER_ARM
    estimator = TwoWayFixedEffects(vcov_type="hc1" if clustered else "classical", alpha=1 - confidence)
    post_bins = sorted(frame.filter(pl.col("bin") >= 0)["bin"].unique().to_list())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = estimator.fit(
            frame.to_pandas(),
            outcome="value",
            treatment="treated",
            unit="unit_id",
            time="bin",
            event_study=True,
            post_periods=post_bins,
        )
    return fit, width, "clustered by unit (CR1)" if clustered else "classical OLS"


def honest_breakdown(panel: Panel, *, ci_low: float, ci_high: float, confidence: float) -> Breakdown | None:
    """The claim's relative-magnitudes breakdown value by diff-diff's ``HonestDiD`` on the binned
    event study, for the average effect over the after bins; 0 when the claim's own interval
    (``ci_low``, ``ci_high``) includes zero — it does not hold even with parallel trends. None
    without an event study to fit (``event_study``)."""
    fitted = event_study(panel, confidence)
    if fitted is None:
        return None
    from diff_diff import HonestDiD

    fit, width, covariance = fitted
    relative = 0.0
    if ci_low > 0 or ci_high < 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = HonestDiD(method="relative_magnitude", alpha=1 - confidence).breakdown_value(fit, tol=0.01)
        relative = BREAKDOWN_SEARCH_TOP if found is None else float(found)
    return Breakdown(
        relative_magnitude=relative,
        bin_periods=width,
        pre_bins=int(sum(1 for t in fit.event_time if t < 0)),
        post_bins=len(fit.post_periods),
        covariance=covariance,
    )
