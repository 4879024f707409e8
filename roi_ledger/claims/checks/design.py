"""Does the comparison hold: parallel before, no phantom effects, no trend or season at work?"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import numpy as np
import polars as pl
import statsmodels.formula.api as smf
from scipy import stats

from roi_ledger.claims.base import (
    CheckClass,
    CheckResult,
    MetricClaim,
    claim_check,
)
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.effects.ar1_errors import fit_ar1
from roi_ledger.effects.did import Specification, did_frame, pooled_noise
from roi_ledger.effects.panel import POST, PRE
from roi_ledger.effects.registry import comparison_methods, parallel_trend_methods
from roi_ledger.effects.seasons import (
    PERIOD_DAYS,
    PERIODS_PER_YEAR,
    can_adjust,
    period_number,
    season_of,
)

# Not a threshold: how many fake go-lives ``placebo_in_time`` estimates (each one re-estimates the
# claim); the business sets what share of them may match the real effect (``max_placebo_share``).
_MAX_PLACEBO_DATES = 6


def treated_means(claim: MetricClaim, window: str, column: str = "value") -> pl.DataFrame:
    """The treated units' mean per period in one window, with ``t``: the period's number
    (``period_number``, so before and after windows share one time axis and gaps stay gaps)."""
    rows = claim.panel.treated.filter(pl.col("window") == window).drop_nulls(column)
    return (
        rows.group_by("period_start")
        .agg(pl.col(column).mean().alias("y"))
        .sort("period_start")
        .with_columns(period_number(claim.panel.period).alias("t"), season_of(claim.panel.period).alias("season"))
    )


@claim_check("pre_trend", check_class=CheckClass.VALIDITY)
def pre_trend(claim: MetricClaim) -> CheckResult:
    """Treated and control units already drifting apart before go-live (a test of the slope
    of the treated-minus-control series in the before window)."""
    if claim.panel is None or claim.method not in parallel_trend_methods() or claim.panel.control.is_empty():
        # A synthetic twin is chosen to follow the site, not the average: synthetic_fit judges it.
        return CheckResult(
            CheckStatus.NOT_APPLICABLE, "The estimate does not rest on parallel trends with control units."
        )
    series = _pre_window_series(claim, "value").rename({"y": "difference"})
    if series.is_empty():
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No before window with both treated and control data.")
    if series.height < 6:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "Too few periods before go-live to test for a trend.")
    seasonal = can_adjust(claim.panel.period, series.height, spare=3)
    # How slowly the noise wobbles, judged from every unit's before-window series, not only
    # from the one difference series (as the DiD interval does).
    before = did_frame(claim.panel).filter(pl.col("after") == 0)
    noise = pooled_noise(before, Specification(seasonal=seasonal), extra_terms=" + treated:t") or (None, 1.0)
    model = fit_ar1("difference ~ t" + " + C(season)" * seasonal, series.to_pandas(), *noise, period="t")
    p_value, alpha = float(model.pvalues["t"]), claim.thresholds.pre_trend_alpha
    # How far the drift would carry on from the middle of the before window to the middle of
    # the after one, compared with the effect (on the estimation scale).
    post = claim.panel.treated.filter(pl.col("window") == POST)["period_start"].unique().sort()
    pre_starts = series["period_start"]
    periods_apart = (
        (post[len(post) // 2] - pre_starts[len(pre_starts) // 2]).days / PERIOD_DAYS[claim.panel.period]
        if len(post)
        else 0
    )
    drift = abs(float(model.params["t"]) * periods_apart)
    effect = abs(estimation_scale_effect(claim))
    material = effect == 0 or drift >= claim.thresholds.pre_trend_material_share * effect
    if p_value < alpha and material:
        return CheckResult(
            CheckStatus.FAIL,
            "Before go-live the treated and comparison units were already drifting apart, enough to "
            "account for much of the measured effect: the comparison may credit the initiative with a trend.",
            p_value,
            alpha,
            p_value=p_value,
            level=alpha,
        )
    if p_value < alpha:
        return CheckResult(
            CheckStatus.PASS,
            "A slight drift before go-live is detectable but small next to the effect.",
            p_value,
            alpha,
            p_value=p_value,
            level=alpha,
        )
    return CheckResult(
        CheckStatus.PASS,
        "Treated and comparison units moved in parallel before go-live.",
        p_value,
        alpha,
        p_value=p_value,
        level=alpha,
    )


def estimation_scale_effect(claim: MetricClaim) -> float:
    """The primary effect on the scale the panel's values are on (log ratio for log panels)."""
    row = claim.primary
    if row is None or row["effect_abs"] is None:
        return 0.0
    if claim.panel.scale == "log" and row["counterfactual_value"]:
        return float(np.log(row["observed_value"] / row["counterfactual_value"]))
    return float(row["effect_abs"])


def _shift_rollout(claim: MetricClaim, days: int) -> dict:
    """Initiative changes that move every go-live ``days`` earlier and drop retirement."""
    initiative = claim.initiative
    if initiative.phases is not None:
        phases = [
            phase.model_copy(update={"go_live": phase.go_live - timedelta(days=days)}) for phase in initiative.phases
        ]
        return {"phases": phases, "retired_on": None}
    return {"go_live": initiative.go_live - timedelta(days=days), "retired_on": None}


@claim_check("placebo_in_time", check_class=CheckClass.VALIDITY)
def placebo_in_time(claim: MetricClaim) -> CheckResult:
    """Fake go-live dates inside the before window: do they find 'effects' as large as the real one?"""
    row = claim.primary
    if claim.panel is None or row is None or row["effect_abs"] is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No estimate to compare with.")
    period = claim.panel.period
    first_go_live = claim.initiative.first_go_live
    before = claim.series.filter(pl.col("period_end") <= pl.lit(first_go_live))
    starts = sorted(before["period_start"].unique().to_list())
    need_pre, need_post = claim.thresholds.min_pre(period), claim.thresholds.min_post(period)
    ramp = int(np.ceil(claim.initiative.ramp_up_days / PERIOD_DAYS[period]))
    candidates = starts[need_pre : len(starts) - need_post - ramp]
    if len(candidates) < 2:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The before window is too short for fake go-live dates.")
    picks = [candidates[int(i)] for i in np.linspace(0, len(candidates) - 1, min(_MAX_PLACEBO_DATES, len(candidates)))]
    placebos = []
    for fake in dict.fromkeys(picks):
        estimate = claim.reestimate(series=before, **_shift_rollout(claim, (first_go_live - fake).days))
        if estimate is not None and estimate.effect_abs is not None:
            placebos.append(estimate)
    if len(placebos) < 2:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The fake go-live dates could not be estimated.")
    share = placebo_share(
        (row["effect_abs"], row["ci_low"], row["ci_high"]),
        [(p.effect_abs, p.ci_low, p.ci_high) for p in placebos],
    )
    limit = claim.thresholds.max_placebo_share
    if share >= limit:
        message = (
            f"Pretending the initiative went live at {len(placebos)} earlier dates finds 'effects' as large as "
            f"the real one {share:.0%} of the time: the measured change is within the metric's usual ups and downs."
        )
        # An effect whose own interval covers zero is already not told from those ups and
        # downs (ci_covers_zero). It is doubted only if fake go-lives find effects as large
        # that look clear (their intervals exclude zero: phantom findings of the method);
        # fakes that are merely as large and as unclear say "wait for more data", not "doubt".
        real = (row["effect_abs"], row["ci_low"], row["ci_high"])
        phantom = phantom_share(real, [(p.effect_abs, p.ci_low, p.ci_high) for p in placebos])
        doubted = phantom is None or phantom >= limit
        if not doubted:
            message += (
                " Few of them are clear findings (as large with an interval excluding zero: "
                f"{phantom:.0%}) and the real one's interval covers zero as well: the claim waits for more data "
                "rather than being doubted."
            )
        return CheckResult(CheckStatus.FAIL, message, share, limit, counts_toward_grade=doubted)
    return CheckResult(
        CheckStatus.PASS,
        f"None of {len(placebos)} fake earlier go-lives finds an effect this large."
        if share == 0
        else f"Only {share:.0%} of {len(placebos)} fake earlier go-lives find an effect this large.",
        share,
        limit,
    )


Estimate = tuple[float, float | None, float | None]  # effect, 95% interval low and high


def placebo_share(real: Estimate, placebos: list[Estimate]) -> float:
    """Share of placebo estimates as large as the real one.

    Raw size alone misleads when the real effect is clear (its interval excludes zero): a fake
    go-live has shorter windows, so its estimate is noisier, and noise alone would often match
    a real effect in size. A placebo then counts only if it is as large *and* as clear: as many
    half-widths of its own 95% interval from zero (a t-like ratio; synthetic-control placebo
    tests scale by fit for the same reason). An effect that cannot be told from zero is
    compared by size alone: are changes this large the metric's usual swings?
    """
    as_large = [abs(p[0]) >= abs(real[0]) for p in placebos]
    clarity = _clarity(*real)
    if clarity is None or clarity < 1:
        return float(np.mean(as_large))
    as_clear = [(c := _clarity(*p)) is None or c >= clarity for p in placebos]
    return float(np.mean([large and clear for large, clear in zip(as_large, as_clear)]))


def phantom_share(real: Estimate, placebos: list[Estimate]) -> float | None:
    """For a real effect that cannot be told from zero (its interval covers it): the share of
    placebo estimates as large *and* clear findings themselves (their interval excludes zero) —
    the method finding phantom effects. None when the real effect is clear, or has no interval."""
    clarity = _clarity(*real)
    if clarity is None or clarity >= 1:
        return None
    return float(np.mean([abs(p[0]) >= abs(real[0]) and (_clarity(*p) or 0) >= 1 for p in placebos]))


def _clarity(effect: float, low: float | None, high: float | None) -> float | None:
    """|effect| over the half-width of its 95% interval (1 = just significant); None without one."""
    if low is None or high is None or not high > low:
        return None
    return abs(effect) / ((high - low) / 2)


@claim_check("trend_continuation", check_class=CheckClass.SUSPICION)
def trend_continuation(claim: MetricClaim) -> CheckResult:
    """The before-window trend alone explains most of the naive before/after change."""
    naive = claim.estimate("before_after")
    if claim.panel is None or naive is None or not naive["effect_abs"]:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No naive before/after change to explain.")
    pre, post = treated_means(claim, PRE, "level"), treated_means(claim, POST, "level")
    if pre.height < 4 or post.is_empty():
        return CheckResult(CheckStatus.NOT_APPLICABLE, "Too few periods to fit a trend.")
    slope, intercept = np.polyfit(pre["t"].to_numpy(), pre["y"].to_numpy(), 1)
    predicted_change = float(np.mean(intercept + slope * post["t"].to_numpy()) - pre["y"].mean())
    share = predicted_change / naive["effect_abs"]
    limit = claim.thresholds.max_trend_share
    if share >= limit:
        naive_is_primary = claim.method == "before_after"
        accounted = "" if naive_is_primary else " The primary estimate accounts for trends; the naive number does not."
        return CheckResult(
            CheckStatus.WARN,
            f"The trend before go-live alone would explain {share:.0%} of the naive before/after change.{accounted}",
            share,
            limit,
            counts_toward_grade=naive_is_primary,
        )
    return CheckResult(
        CheckStatus.PASS, f"The earlier trend explains {max(share, 0):.0%} of the naive change.", share, limit
    )


def _season_mix_difference(claim: MetricClaim) -> float:
    """Total-variation distance between the month (or quarter) mix of the two windows."""
    grain = "quarter" if claim.panel.period == "quarter" else "month"
    shares = []
    for window in (PRE, POST):
        rows = claim.panel.treated.filter(pl.col("window") == window)
        months = rows.select(
            (pl.col("period_start").dt.quarter() if grain == "quarter" else pl.col("period_start").dt.month()).alias(
                "s"
            )
        )["s"]
        counts = months.value_counts(normalize=True)
        shares.append(dict(zip(counts["s"].to_list(), counts["proportion"].to_list())))
    keys = set(shares[0]) | set(shares[1])
    return 0.5 * sum(abs(shares[0].get(k, 0) - shares[1].get(k, 0)) for k in keys)


@claim_check("seasonality", check_class=CheckClass.SUSPICION)
def seasonality(claim: MetricClaim) -> CheckResult:
    """The before and after windows cover different seasons of a seasonal metric."""
    if claim.panel is None or claim.panel.period == "year" or claim.primary is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "Yearly data, or no estimate: seasons do not apply.")
    difference, limit = _season_mix_difference(claim), claim.thresholds.max_season_mix_difference
    if difference < limit:
        return CheckResult(CheckStatus.PASS, "The before and after windows cover the seasons alike.", difference, limit)
    alpha = claim.thresholds.seasonality_alpha
    p_value = _season_p_value(treated_means(claim, PRE), claim.panel.period)
    seasonal = None if p_value is None else p_value < alpha
    if seasonal is False:
        return CheckResult(
            CheckStatus.PASS,
            "The windows cover different seasons, but the metric shows no seasonal pattern.",
            difference,
            limit,
            p_value=p_value,
            level=alpha,
        )
    compared = claim.method in comparison_methods() and not claim.panel.control.is_empty()
    shared = None
    if compared:
        # The comparison units take the season out exactly when they share it: then the
        # treated-minus-comparison series of the before window has no seasonal pattern of its own.
        shared = _season_p_value(_pre_window_series(claim, "value"), claim.panel.period)
        if shared is not None and shared >= alpha:
            return CheckResult(
                CheckStatus.PASS,
                "The windows cover different seasons of a seasonal metric, and the comparison units share "
                "its seasons: the treated-minus-comparison difference before go-live shows no seasonal pattern.",
                difference,
                limit,
                p_value=shared,
                level=alpha,
            )
    # The F-test is a test of "no seasonal pattern" (of the metric, or of the treated-minus-
    # comparison difference): it joins the claim's family (``family.py``).
    tested = p_value if shared is None else shared
    test = {} if tested is None else {"p_value": tested, "level": alpha}
    return _seasons_not_shared(
        claim, difference, limit, metric_tested=seasonal is not None, compared=compared, shared=shared, test=test
    )


def _seasons_not_shared(
    claim: MetricClaim,
    difference: float,
    limit: float,
    *,
    metric_tested: bool,
    compared: bool,
    shared: float | None,
    test: dict,
) -> CheckResult:
    """``seasonality`` for windows in different seasons of a metric that may be seasonal, with no
    comparison units shown to share its seasons: judged by what in the estimate adjusts for them."""
    found = partial(CheckResult, observed=difference, threshold=limit)
    adjusted = compared or "season" in (claim.primary["inference"] or "")
    if not metric_tested and not adjusted:
        return found(
            CheckStatus.WARN,
            "The before and after windows cover different seasons and there is too little history to tell "
            "whether that matters.",
            **test,
        )
    if not adjusted:
        return found(
            CheckStatus.FAIL,
            "The after window falls in a different season from the before window, and nothing in this "
            "estimate adjusts for it.",
            **test,
        )
    if claim.primary["post_periods"] >= PERIODS_PER_YEAR[claim.panel.period]:
        return found(
            CheckStatus.PASS,
            "The after window spans a full year and the estimate adjusts for seasons.",
            **test,
        )
    if compared and shared is None:
        # Nothing found, nothing testable: the comparison units take out every season they share,
        # and whether they share this one needs a year of before window to test. Reported, and the
        # claim is not doubted for it; no p-value, since the metric's own seasonality is no test of
        # whether the comparison takes it out.
        return found(
            CheckStatus.WARN,
            "The after window falls in a different season from the before window; the comparison units take out "
            "the seasons they share with the treated units, and the before window is too short to test whether they "
            "share these (that needs a year of it) — check it again after a full year.",
            counts_toward_grade=False,
        )
    if shared is not None:  # below the level: the comparison units' seasons are not the treated units'
        return found(
            CheckStatus.WARN,
            "The after window falls in a different season from the before window, and the treated units' seasons "
            "differ from the comparison units' (the difference between them before go-live is seasonal): the "
            "comparison does not take the season out — check it again after a full year.",
            **test,
        )
    return found(  # no comparison units: the seasonal model alone takes the season out
        CheckStatus.WARN,
        "The after window falls in a different season from the before window; the estimate rests on "
        "its seasonal model to take that out — check it again after a full year.",
        **test,
    )


@claim_check("regression_to_mean", check_class=CheckClass.SUSPICION)
def regression_to_mean(claim: MetricClaim) -> CheckResult:
    """Go-live right after an unusually bad spell, which would have passed anyway.

    The last ``rtm_recent_periods`` before go-live are compared with what the rest of the
    before window (up to two years) predicts for them: its trend, and its months of the year
    when it covers a year. The measure is the t-statistic of the spell's mean departure from
    that prediction, with errors that allow for autocorrelated noise (``fit_ar1``), signed so
    that positive is worse: a metric that was simply rising or falling steadily, or is in its
    usual low season, or wobbles slowly, is not taken for a bad spell. For an estimate against
    comparison units the spell is judged on the treated-minus-comparison series, without
    seasons: a dip or a season the comparison units shared is already taken out of the
    estimate. (Months, not weeks, of the year: 51 week dummies on two years of weeks would
    leave the prediction too uncertain to recognise a real spell.)"""
    if claim.panel is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No data.")
    k = claim.thresholds.rtm_recent_periods
    pre = _pre_window_series(claim).tail(2 * PERIODS_PER_YEAR.get(claim.panel.period, 52) + k)
    if pre.height < 3 * k:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "Too little history before go-live to know what is unusual.")
    if pre["y"].std() < 1e-12:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The metric did not vary before go-live.")
    grain = "month" if claim.panel.period == "week" else claim.panel.period
    pre = pre.with_columns(
        (pl.int_range(pl.len()) >= pl.len() - k).cast(pl.Float64).alias("recent"),
        season_of(grain).alias("season"),
    )
    earlier = pre.filter(pl.col("recent") == 0)
    seasonal = (
        claim.method not in comparison_methods()
        and can_adjust(claim.panel.period, earlier.height, spare=3)
        and set(pre["season"]) <= set(earlier["season"])
    )
    model = fit_ar1("y ~ t + recent" + " + C(season)" * seasonal, pre.to_pandas(), period="t")
    z = float(model.tvalues["recent"])
    bad = {"down": z, "up": -z}.get(claim.good_direction or "", abs(z))  # positive = worse than usual
    limit = claim.thresholds.rtm_max_z
    # As a test (``family.py``): one-sided when the metric has a good direction, else two-sided.
    sides = 1 if claim.good_direction in ("up", "down") else 2
    test = {"p_value": sides * float(stats.norm.sf(bad)), "level": sides * float(stats.norm.sf(limit))}
    if bad >= limit:
        return CheckResult(
            CheckStatus.WARN,
            f"The last {k} periods before go-live were unusually bad ({bad:.1f} standard errors worse than the "
            "earlier trend and seasons predicted); some of the improvement may be the return to normal that "
            "would have happened anyway.",
            bad,
            limit,
            **test,
        )
    return CheckResult(
        CheckStatus.PASS,
        f"The periods just before go-live were ordinary ({z:+.1f} standard errors from the earlier course).",
        bad,
        limit,
        **test,
    )


def _season_p_value(means: pl.DataFrame, period: str) -> float | None:
    """The F-test p-value of month-of-year effects in a before-window series (``y`` and ``t``
    per ``period_start``), beside a linear trend; None when the series is too short for them."""
    if not can_adjust(period, means.height, spare=2):
        return None
    grouped = means.with_columns(pl.col("period_start").dt.month().alias("month")).to_pandas()
    model = smf.ols("y ~ t + C(month)", data=grouped).fit()
    return float(model.f_test([name for name in model.params.index if name.startswith("C(month)")]).pvalue)


def _pre_window_series(claim: MetricClaim, column: str = "level") -> pl.DataFrame:
    """Per before-window period (``period_start``, ``t``, ``season``): ``y``, the treated
    units' mean of ``column`` (metric levels by default; ``value`` is the estimation scale),
    minus the comparison units' mean when the estimate rests on them."""
    treated = treated_means(claim, PRE, column)
    if claim.method not in comparison_methods() or claim.panel.control.is_empty():
        return treated
    control = (
        claim.panel.control.filter(pl.col("window") == PRE)
        .drop_nulls(column)
        .group_by("period_start")
        .agg(pl.col(column).mean().alias("control"))
    )
    both = treated.join(control, on="period_start", how="inner").sort("period_start")
    return both.with_columns(pl.col("y") - pl.col("control")).drop("control")
