"""Interrupted time series: the treated units' own history as the counterfactual.

For initiatives without usable control units. A segmented regression on the treated units'
mean per period:

    value_t = a + b*t + level*after_t + slope*after_t*(t - t0) + seasonality_t + e_t

with seasonality as season-of-year dummies (week of year, month or quarter), used only when
the before window covers at least a full year plus a few periods for the other terms. The effect is the
average over the after window of ``level + slope*(t - t0)`` — observed minus the extrapolated
pre-trend — and its interval allows for autocorrelated noise: OLS with AR(1)-noise errors
(``roi_ledger.effects.ar1_errors``).

That interval assumes the regression is the right shape for the series. With no comparison
units nothing checks it: a seasonal wave seen once, in a before window shorter than a year,
bends the fitted trend, and the extrapolation is off by far more than the noise (in
``benchmarks/inference.py``, one unit with a year of history, the AR(1) interval covered the
truth 35% of the time). So the series' own history is asked how wrong this regression has
been: **placebo-in-time** (backdating; Abadie, Diamond & Hainmueller 2015) — the same
regression (season dummies or not, as in the real fit), refitted with go-live moved to every
earlier period of the before window that leaves enough history for it (``MIN_PLACEBO_HISTORY``
periods; a year and ``SPARE_PERIODS`` with season dummies), where nothing changed. Each
backdated estimate is an error of the method on this series; their root mean square is the
method's own standard error here. When it is larger than the AR(1) errors', the
interval is ``effect +- t(N - 1) x rms`` over the N backdated go-lives, and ``inference`` says so.
Backdated fits have shorter histories than the real one, so where the regression is right this
errs wide, never narrow.
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
from roi_ledger.effects.seasons import PERIODS_PER_YEAR, can_adjust, period_number, season_of
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "its"
MIN_PRE_PERIODS = 3
# Periods beyond a full year needed before seasons are estimated beside level and trend.
SPARE_PERIODS = 4
# Placebo-in-time: periods of history before a backdated go-live (a level and a trend with six
# residual degrees of freedom), periods after it (at most the real after window's length), and
# the fewest backdated go-lives whose errors are taken as the method's standard error.
MIN_PLACEBO_HISTORY = 8
MIN_PLACEBO_AFTER = 4
MIN_PLACEBOS = 5


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
def estimate_interrupted_time_series(
    panel: Panel, confidence: float = DEFAULT_CONFIDENCE_LEVEL
) -> EffectEstimate | None:
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


def averaged_effect_weights(names: list[str], since_go_live: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The effect averaged over the after window as a combination of the coefficients:
    ``level + slope * mean(t - t0)``."""
    weights = np.zeros(len(names))
    weights[names.index("level")] = 1.0
    weights[names.index("slope")] = float(np.mean(since_go_live[after]))
    return weights


def placebo_errors(series: pl.DataFrame, period: str, seasonal: bool) -> np.ndarray:
    """The regression's point estimate at every backdated go-live inside the before window
    (see the module's docstring): the method's errors on this very series, where the true
    effect is zero. The backdated fits are the real one's specification (``seasonal`` or not),
    so a seasonal fit is backdated only as far as a year and ``SPARE_PERIODS`` of history."""
    pre = series.filter(pl.col("window") == PRE)
    real_after = series.filter(pl.col("window") == POST).height
    first = max(MIN_PLACEBO_HISTORY, PERIODS_PER_YEAR[period] + SPARE_PERIODS if seasonal else 0)
    errors = []
    for go_live in range(first, pre.height):
        after = min(real_after, pre.height - go_live)
        if after < min(real_after, MIN_PLACEBO_AFTER):
            break
        fake = pre.head(go_live + after).with_columns(
            pl.when(pl.int_range(pl.len()) >= go_live).then(pl.lit(POST)).otherwise(pl.lit(PRE)).alias("window")
        )
        X, names, since_go_live = its_design(fake, period, seasonal)
        if X.shape[0] <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
            continue
        coefficients = np.linalg.lstsq(X, fake["value"].to_numpy(), rcond=None)[0]
        errors.append(
            float(averaged_effect_weights(names, since_go_live, fake["window"].to_numpy() == POST) @ coefficients)
        )
    return np.array(errors)


def cohort_its(panel: Panel, confidence: float) -> tuple[EffectEstimate, int] | None:
    """The segmented regression on the treated units' mean per period (one go-live date), and
    the degrees of freedom of its interval."""
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
    test = model.t_test(averaged_effect_weights(names, since_go_live, series["window"].to_numpy() == POST))
    effect = float(np.squeeze(test.effect))
    low, high = (float(v) for v in np.squeeze(test.conf_int(alpha=1 - confidence)))
    p_value, df = float(np.squeeze(test.pvalue)), int(model.df_resid)
    inference = (
        f"segmented regression (level and slope change{', season-of-year dummies' if seasonal else ''}), "
        f"{AR1_DESCRIPTION} (rho {model.rho:.2f} on {model.share:.0%} of the noise, t with {df} df)"
    )
    widened, placebo_inference = _placebo_interval(series, panel.period, seasonal, effect, test, confidence)
    inference += placebo_inference
    if widened is not None:
        low, high, p_value, df = widened
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
        p_value=p_value,
        n_treated_units=len(panel.units("treated")),
        n_control_units=0,
        inference=inference,
        note=note,
    )
    return estimate, df


def _placebo_interval(
    series: pl.DataFrame, period: str, seasonal: bool, effect: float, test, confidence: float
) -> tuple[tuple[float, float, float, int] | None, str]:
    """(the interval, p-value and degrees of freedom from the placebo errors where they exceed
    the regression's standard error, else None; what the placebo-in-time check found, for the
    estimate's inference). Nothing with fewer than ``MIN_PLACEBOS`` backdated go-lives."""
    errors = placebo_errors(series, period, seasonal)
    if errors.size < MIN_PLACEBOS:
        return None, ""
    model_se = float(np.squeeze(test.sd))
    placebo_se = float(np.sqrt(np.mean(errors**2)))
    if placebo_se > model_se:
        df = errors.size - 1
        quantile = t_quantile(confidence, df)
        p_value = float(2 * stats.t.sf(abs(effect) / placebo_se, df))
        return (effect - quantile * placebo_se, effect + quantile * placebo_se, p_value, df), (
            f"; placebo-in-time: at {errors.size} backdated go-lives in the before window the same "
            f"regression erred by {placebo_se:.3g} (root mean square), more than its AR(1) standard error "
            f"{model_se:.3g}, so the interval is the estimate +- t({df}) x {placebo_se:.3g}"
        )
    return None, (
        f"; placebo-in-time: at {errors.size} backdated go-lives it erred by {placebo_se:.3g} "
        "(rms), within its standard error"
    )
