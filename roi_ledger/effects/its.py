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

from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from scipy import stats

from roi_ledger.effects.ar1_errors import DESCRIPTION as AR1_DESCRIPTION
from roi_ledger.effects.ar1_errors import fit_ar1_arrays
from roi_ledger.effects.panel import POST, PRE, TREATED, Panel
from roi_ledger.effects.registry import estimator
from roi_ledger.effects.result import EffectEstimate, t_quantile
from roi_ledger.effects.seasons import (
    PERIODS_PER_YEAR,
    bic_harmonics,
    can_adjust,
    fourier_columns,
    period_number,
    season_of,
)
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "its"
MIN_PRE_PERIODS = 3
# Periods beyond a full year needed before seasons are estimated beside level and trend.
SPARE_PERIODS = 4
# Placebo-in-time: periods of history before a backdated go-live (with the after periods, a
# level, trend, level change and slope change keep six residual degrees of freedom), periods
# after it (at most the real after window's length), and the fewest backdated go-lives whose
# errors are taken as the method's standard error: three, so that a year of months (go-lives
# 6 to 8) is checked too, at t with 2 degrees of freedom — as wide as three errors warrant.
MIN_PLACEBO_HISTORY = 6
MIN_PLACEBO_AFTER = 4
MIN_PLACEBOS = 3
MAX_PLACEBOS = 20
# The chance a right-shaped regression's backdated errors look like misfit, and are widened for.
MISFIT_ALPHA = 0.01


def its_design(series: pl.DataFrame, period: str, seasonal: bool, harmonics: int | None = None):
    """Design matrix (columns named) and each period's distance from go-live. Seasons: yearly
    Fourier terms (``harmonics`` pairs) for weekly series, season-of-year dummies otherwise."""
    t = series["t"].to_numpy().astype(float)
    after = (series["window"] == POST).to_numpy().astype(float)
    t0 = t[after == 1].min()
    columns = {"const": np.ones_like(t), "trend": t, "level": after, "slope": after * (t - t0)}
    if seasonal:
        columns.update(season_columns(series["season"].to_numpy(), period, harmonics))
    names = list(columns)
    return np.column_stack([columns[n] for n in names]), names, t - t0


def season_columns(season: np.ndarray, period: str, harmonics: int | None) -> dict[str, np.ndarray]:
    """A year's pattern: yearly Fourier pairs (``seasons.fourier_columns``) where ``harmonics``
    is given, season-of-year dummies otherwise (quarters)."""
    if harmonics:
        return fourier_columns(season, period, harmonics)
    return {f"season_{value}": (season == value).astype(float) for value in sorted(set(season))[1:]}


def season_harmonics(series: pl.DataFrame, period: str) -> int | None:
    """The yearly Fourier pairs for the series' seasons, chosen by BIC on the before window
    beside a level and a trend (the after window cannot tell the choice anything about the
    effect); None for quarters, which keep dummies."""
    pre = series.filter(pl.col("window") == PRE)
    t = pre["t"].to_numpy().astype(float)
    return bic_harmonics(
        pre["value"].to_numpy(), np.column_stack([np.ones_like(t), t]), pre["season"].to_numpy(), period, False
    )


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


def point_estimate(panel: Panel) -> float | None:
    """The ITS estimate alone, for one go-live (the primary-method rule's backdated fits)."""
    fitted = None if panel.is_staggered else cohort_its(panel, DEFAULT_CONFIDENCE_LEVEL)
    return None if fitted is None else fitted[0].effect_abs


@estimator(METHOD, preference=30, uses_comparison_units=False, point=point_estimate)
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


@dataclass(frozen=True)
class Backdated:
    """The regression's estimates at backdated go-lives, with each fit's own standard error, and
    how many of them are about independent (their after windows do not overlap)."""

    errors: np.ndarray
    standard_errors: np.ndarray
    independent: int

    def misfit_ratio(self) -> float:
        """Root mean square of the errors in units of their own standard errors: about 1 where
        the regression is the right shape for the series."""
        return float(np.sqrt(np.mean((self.errors / self.standard_errors) ** 2)))

    def misfit_limit(self) -> float:
        """The ratio a right-shaped regression exceeds 5% of the time (chi-square with as many
        degrees of freedom as independent backdated windows)."""
        return float(np.sqrt(stats.chi2.ppf(1 - MISFIT_ALPHA, self.independent) / self.independent))


def placebo_errors(series: pl.DataFrame, period: str, seasonal: bool, harmonics: int | None) -> Backdated:
    """The regression at backdated go-lives inside the before window (see the module's
    docstring): the method's errors on this very series, where the true effect is zero, each
    with the standard error the same fit gives itself from its own, shorter history. The
    backdated fits are the real one's specification, so a seasonal fit is backdated only as far
    as a year and ``SPARE_PERIODS`` of history; at most ``MAX_PLACEBOS`` go-lives, evenly spread."""
    pre = series.filter(pl.col("window") == PRE)
    real_after = series.filter(pl.col("window") == POST).height
    first = max(MIN_PLACEBO_HISTORY, PERIODS_PER_YEAR[period] + SPARE_PERIODS if seasonal else 0)
    last = pre.height - min(real_after, MIN_PLACEBO_AFTER)
    go_lives = np.unique(np.linspace(first, last, MAX_PLACEBOS).astype(int)) if last >= first else []
    errors, standard_errors = [], []
    for go_live in go_lives:
        after = min(real_after, pre.height - go_live)
        fake = pre.head(go_live + after).with_columns(
            pl.when(pl.int_range(pl.len()) >= go_live).then(pl.lit(POST)).otherwise(pl.lit(PRE)).alias("window")
        )
        X, names, since_go_live = its_design(fake, period, seasonal, harmonics)
        if X.shape[0] <= X.shape[1] + 1 or np.linalg.matrix_rank(X) < X.shape[1]:
            continue
        model = fit_ar1_arrays(fake["value"].to_numpy(), X, periods=fake["t"].to_numpy())
        test = model.t_test(averaged_effect_weights(names, since_go_live, fake["window"].to_numpy() == POST))
        errors.append(float(np.squeeze(test.effect)))
        standard_errors.append(float(np.squeeze(test.sd)))
    independent = max(1, (last - first) // max(real_after, 1) + 1) if len(errors) else 0
    return Backdated(np.array(errors), np.array(standard_errors), min(independent, len(errors)))


def cohort_its(panel: Panel, confidence: float) -> tuple[EffectEstimate, int] | None:
    """The segmented regression on the treated units' mean per period (one go-live date), and
    the degrees of freedom of its interval."""
    series = treated_series(panel)
    pre = series.filter(pl.col("window") == PRE)
    post = series.filter(pl.col("window") == POST)
    if pre.height < MIN_PRE_PERIODS or post.height < 1:
        return None
    seasonal = can_adjust(panel.period, pre.height, spare=SPARE_PERIODS)
    harmonics = season_harmonics(series, panel.period) if seasonal else None
    X, names, since_go_live = its_design(series, panel.period, seasonal, harmonics)
    y = series["value"].to_numpy()
    if X.shape[0] <= X.shape[1]:
        return None
    model = fit_ar1_arrays(y, X, periods=series["t"].to_numpy())
    test = model.t_test(averaged_effect_weights(names, since_go_live, series["window"].to_numpy() == POST))
    effect = float(np.squeeze(test.effect))
    low, high = (float(v) for v in np.squeeze(test.conf_int(alpha=1 - confidence)))
    p_value, df = float(np.squeeze(test.pvalue)), int(model.df_resid)
    seasons = (
        ""
        if not seasonal
        else f", season of the year as {harmonics} yearly Fourier pairs"
        if harmonics
        else ", season-of-year dummies"
    )
    inference = (
        f"segmented regression (level and slope change{seasons}), "
        f"{AR1_DESCRIPTION} (rho {model.rho:.2f} on {model.share:.0%} of the noise, t with {df} df)"
    )
    widened, placebo_inference = _placebo_interval(series, panel.period, seasonal, harmonics, effect, test, confidence)
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
    series: pl.DataFrame, period: str, seasonal: bool, harmonics: int | None, effect: float, test, confidence: float
) -> tuple[tuple[float, float, float, int] | None, str]:
    """(the interval, p-value and degrees of freedom widened by the backdated fits' misfit ratio
    where it exceeds what a right-shaped regression would show, else None; what the
    placebo-in-time check found, for the estimate's inference). Nothing with fewer than
    ``MIN_PLACEBOS`` backdated go-lives."""
    backdated = placebo_errors(series, period, seasonal, harmonics)
    if backdated.errors.size < MIN_PLACEBOS or not np.all(backdated.standard_errors > 0):
        return None, ""
    ratio, limit = backdated.misfit_ratio(), backdated.misfit_limit()
    found = (
        f"; placebo-in-time: at {backdated.errors.size} backdated go-lives (about {backdated.independent} "
        f"independent) the same regression erred by {ratio:.2f} times its own standard errors (root mean square)"
    )
    rms = float(np.sqrt(np.mean(backdated.errors**2)))
    if not seasonal and rms > float(np.squeeze(test.sd)):
        # Less than a year of history: nothing in it can tell a season from a shift, so the
        # backdated errors are the honest width whether or not they look like misfit.
        limit = 0.0
    if ratio <= limit:
        return None, found + f", within the {limit:.2f} a right-shaped regression can show (1%): not widened"
    # Misfit: the backdated errors themselves are the method's error here, as large as their root
    # mean square (shorter histories than the real fit's make this err wide, never narrow).
    se = max(float(np.squeeze(test.sd)) * ratio, rms)
    df = backdated.errors.size - 1
    quantile = t_quantile(confidence, df)
    p_value = float(2 * stats.t.sf(abs(effect) / se, df))
    return (effect - quantile * se, effect + quantile * se, p_value, df), (
        found
        + (
            f", more than the {limit:.2f} a right-shaped regression can show (1%): the regression misfits this series"
            if limit
            else ": with less than a year of history nothing can tell a season from a shift"
        )
        + f", so the interval is the estimate +- t({df}) x {se:.3g}, the larger of its standard error "
        "widened by that ratio and the backdated errors' root mean square"
    )
