"""Interrupted time series: the treated units' own history as the counterfactual.

For initiatives without usable control units. A segmented regression on the treated units'
mean per period:

    value_t = a + b*t + level*after_t + slope*after_t*(t - t0) + seasonality_t + e_t

with seasonality as season-of-year dummies (week of year, month or quarter), used only when
the before window covers at least a full year plus a few periods for the other terms. The effect is the
average over the after window of ``level + slope*(t - t0)`` — observed minus the extrapolated
pre-trend — and its interval allows for autocorrelated noise: OLS with AR(1)-noise errors
(``roi_ledger.effects.ar1_errors``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
from scipy import stats

from roi_ledger.effects.ar1_errors import DESCRIPTION as AR1_DESCRIPTION
from roi_ledger.effects.ar1_errors import fit_ar1_arrays
from roi_ledger.effects.panel import POST, PRE, TREATED, Panel
from roi_ledger.effects.registry import estimator
from roi_ledger.effects.result import EffectEstimate, t_quantile
from roi_ledger.effects.seasons import can_adjust, period_number, season_of
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "its"
MIN_PRE_PERIODS = 3
# Periods beyond a full year needed before seasons are estimated beside level and trend.
SPARE_PERIODS = 4


def its_design(series: pl.DataFrame, period: str, seasonal: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Design matrix (columns named) and the index of the first after period."""
    t = series["t"].to_numpy().astype(float)
    after = (series["window"] == POST).to_numpy().astype(float)
    t0 = t[after == 1].min()
    columns = {"const": np.ones_like(t), "trend": t, "level": after, "slope": after * (t - t0)}
    if seasonal:
        position = series["season"].to_numpy()
        for value in sorted(set(position))[1:]:
            columns[f"season_{value}"] = (position == value).astype(float)
    names = list(columns)
    return np.column_stack([columns[n] for n in names]), names, t - t0


def treated_series(panel: Panel) -> pl.DataFrame:
    """The treated units' mean per period, with ``t``: periods since the first one (the
    ramp-up and any missing period stay gaps)."""
    rows = (
        panel.treated.filter(pl.col("window").is_in([PRE, POST]))
        .drop_nulls("value")
        .group_by("period_start", "window")
        .agg(pl.col("value").mean())
        .sort("period_start")
    )
    return rows.with_columns(
        (period_number(panel.period) - period_number(panel.period).min()).alias("t"),
        season_of(panel.period).alias("season"),
    )


@estimator(METHOD, preference=30, uses_comparison_units=False)
def estimate_interrupted_time_series(panel: Panel, confidence: float = DEFAULT_CONFIDENCE_LEVEL) -> EffectEstimate | None:
    """The segmented regression on the treated units' mean; for a phased rollout, one per
    go-live cohort (units going live together), combined (``combine_cohorts``)."""
    if not panel.is_staggered:
        fitted = cohort_its(panel, confidence)
        return fitted[0] if fitted else None
    cohorts = panel.treated.group_by("go_live").agg(pl.col("unit_id").unique()).sort("go_live")
    fits = []
    for units in cohorts["unit_id"].to_list():
        cohort = replace(panel, frame=panel.frame.filter((pl.col("role") != TREATED) | pl.col("unit_id").is_in(units)))
        fitted = cohort_its(cohort, confidence)
        if fitted is not None:
            fits.append(fitted)
    return combine_cohorts(fits, confidence) if fits else None


def combine_cohorts(fits: list[tuple[EffectEstimate, int]], confidence: float) -> EffectEstimate:
    """Cohort effects averaged with weights proportional to their treated unit-periods after
    go-live. Without comparison units nothing removes the business-wide shocks the cohorts
    share, so their errors are not independent: the standard error is the weighted sum of the
    cohorts' (as if perfectly correlated, the conservative bound), with the fewest degrees of
    freedom among them."""
    estimates = [estimate for estimate, _ in fits]
    size = np.array([e.n_treated_units * e.post_periods for e in estimates], dtype=float)
    weight = size / size.sum()
    se = float(sum(w * (e.ci_high - e.ci_low) / (2 * t_quantile(confidence, df)) for w, (e, df) in zip(weight, fits)))
    df = min(df for _, df in fits)
    effect = float(sum(w * e.effect_abs for w, e in zip(weight, estimates)))
    observed = float(sum(w * e.observed_value for w, e in zip(weight, estimates)))
    quantile = t_quantile(confidence, df)
    first = estimates[0]
    return replace(
        first,
        pre_periods=max(e.pre_periods for e in estimates),
        post_periods=max(e.post_periods for e in estimates),
        baseline_value=float(sum(w * e.baseline_value for w, e in zip(weight, estimates))),
        observed_value=observed,
        counterfactual_value=observed - effect,
        effect_abs=effect,
        ci_low=effect - quantile * se,
        ci_high=effect + quantile * se,
        p_value=float(2 * stats.t.sf(abs(effect / se), df)) if se > 0 else None,
        n_treated_units=int(sum(e.n_treated_units for e in estimates)),
        inference=(
            f"segmented regression per go-live cohort ({len(estimates)} cohorts), averaged by treated "
            f"unit-periods; SE the weighted sum of the cohorts' (shocks shared), t with {df} df"
        ),
        note="; ".join(sorted({e.note for e in estimates if e.note})),
    )


def cohort_its(panel: Panel, confidence: float) -> tuple[EffectEstimate, int] | None:
    """The segmented regression on the treated units' mean per period (one go-live date), and
    its residual degrees of freedom."""
    series = treated_series(panel)
    pre = series.filter(pl.col("window") == PRE)
    post = series.filter(pl.col("window") == POST)
    if pre.height < MIN_PRE_PERIODS or post.height < 1:
        return None
    seasonal = can_adjust(panel.period, pre.height, spare=SPARE_PERIODS)
    X, names, since_go_live = its_design(series, panel.period, seasonal)
    y = series["value"].to_numpy()
    if X.shape[0] <= X.shape[1]:
        return None
    model = fit_ar1_arrays(y, X, periods=series["t"].to_numpy())

    # The effect averaged over the after window is a linear combination of level and slope.
    after = series["window"].to_numpy() == POST
    weights = np.zeros(len(names))
    weights[names.index("level")] = 1.0
    weights[names.index("slope")] = float(np.mean(since_go_live[after]))
    test = model.t_test(weights)
    effect = float(np.squeeze(test.effect))
    low, high = (float(v) for v in np.squeeze(test.conf_int(alpha=1 - confidence)))
    observed = float(post["value"].mean())
    note = "" if seasonal else "no seasonal adjustment: the before window is shorter than a year"
    estimate = EffectEstimate(
        initiative_id=panel.initiative.id,
        metric=panel.metric,
        method=METHOD,
        period=panel.period,
        pre_periods=pre.height,
        post_periods=post.height,
        baseline_value=float(pre["value"].mean()),
        observed_value=observed,
        counterfactual_value=observed - effect,
        effect_abs=effect,
        ci_low=low,
        ci_high=high,
        p_value=float(np.squeeze(test.pvalue)),
        n_treated_units=len(panel.units("treated")),
        n_control_units=0,
        inference=(
            f"segmented regression (level and slope change{', season-of-year dummies' if seasonal else ''}), "
            f"{AR1_DESCRIPTION} (rho {model.rho:.2f} on {model.share:.0%} of the noise, t with {model.df_resid:.0f} df)"
        ),
        note=note,
    )
    return estimate, int(model.df_resid)
