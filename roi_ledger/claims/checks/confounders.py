"""Confounders: what else was going on at go-live: other initiatives, changed volumes, contaminated
comparisons."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

from roi_ledger.claims.base import (
    CheckClass,
    CheckResult,
    MetricClaim,
    claim_check,
)
from roi_ledger.claims.checks.design import estimation_scale_effect
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.effects.ar1_errors import fit_ar1
from roi_ledger.effects.panel import CONTROL, POST, PRE, TREATED
from roi_ledger.effects.registry import comparison_methods
from roi_ledger.effects.seasons import PERIODS_PER_YEAR, can_adjust, period_number, season_of

# Not a threshold: at most how many backdated go-lives the spillover test compares the real one
# with (each one is a regression).
_MAX_SPILLOVER_PLACEBOS = 30


def _window_span(claim: MetricClaim):
    windows = claim.panel.frame.filter(pl.col("window").is_in([PRE, POST]))
    return windows["period_start"].min(), windows["period_end"].max()


def _others_touching(claim: MetricClaim, units: set[str], same_metric: bool) -> list[str]:
    """Other live/retired initiatives going live on ``units`` inside this claim's windows."""
    start, end = _window_span(claim)
    found = []
    for other in claim.register.measured_initiatives:
        if other.id == claim.initiative.id or (same_metric and claim.metric not in other.metrics):
            continue
        if any(set(phase.units) & units and start <= phase.go_live < end for phase in other.rollout):
            found.append(other.id)
    return found


@claim_check("concurrent_initiatives", check_class=CheckClass.SUSPICION)
def concurrent_initiatives(claim: MetricClaim) -> CheckResult:
    """Another initiative changes the same metric on the same units inside the windows."""
    if claim.panel is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No data.")
    others = _others_touching(claim, set(claim.initiative.all_treated_units), same_metric=True)
    if others:
        return CheckResult(
            CheckStatus.WARN,
            f"{', '.join(map(claim.initiative_words, others))} also changed {claim.metric_words} in the same "
            "units during these windows: "
            "the measured effect is theirs together, not this initiative's alone.",
            float(len(others)),
            0.0,
        )
    return CheckResult(CheckStatus.PASS, "No other initiative changed this metric in these units meanwhile.", 0.0, 0.0)


@claim_check("volume_shift", check_class=CheckClass.SUSPICION)
def volume_shift(claim: MetricClaim) -> CheckResult:
    """The metric's volume (orders, tickets) jumped or fell at go-live: a composition or
    definition change rather than an improvement."""
    if claim.panel is None or claim.definition is None or claim.definition.aggregation in ("count", "sum"):
        return CheckResult(
            CheckStatus.NOT_APPLICABLE, "The metric's volume is the metric itself (or a KPI without volume)."
        )

    def log_change(role: str) -> float | None:
        rows = claim.panel.frame.filter(pl.col("role") == role)
        before = rows.filter(pl.col("window") == PRE)["volume"].mean()
        after = rows.filter(pl.col("window") == POST)["volume"].mean()
        return math.log(after / before) if before and after else None

    treated, control = log_change(TREATED), log_change(CONTROL)
    if treated is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No volume before or after go-live.")
    shift = math.exp(treated - (control or 0.0)) - 1
    limit = claim.thresholds.max_volume_shift
    against = " more than in the comparison units" if control is not None else ""
    if abs(shift) >= limit:
        return CheckResult(
            CheckStatus.WARN,
            f"The number of {claim.definition.volume or 'records'} behind this metric "
            f"changed by {shift:+.0%} at go-live{against}: "
            "a different mix of cases, not only a better process, may explain the change.",
            shift,
            limit,
        )
    return CheckResult(
        CheckStatus.PASS, f"The volume behind the metric changed by {shift:+.0%}{against}.", shift, limit
    )


@claim_check("control_contamination", check_class=CheckClass.SUSPICION)
def control_contamination(claim: MetricClaim) -> CheckResult:
    """Comparison units treated by another initiative while they compare, or shifting at go-live
    in the effect's direction by a material share of it, more than they shift at earlier dates
    (spillover, judged against backdated go-lives)."""
    if claim.panel is None or claim.method not in comparison_methods():
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The estimate does not rest on comparison units.")
    touched = _touched_while_comparing(claim)
    if touched:
        return CheckResult(
            CheckStatus.WARN,
            f"Comparison units were changed on {claim.metric_words} by "
            f"{', '.join(map(claim.initiative_words, touched))} while they served as "
            "this claim's comparison, which bends the comparison.",
            float(len(touched)),
            0.0,
        )
    return _spillover(claim)


def _touched_while_comparing(claim: MetricClaim) -> list[str]:
    """Other initiatives going live on the same metric on a comparison unit that has periods in the
    comparison from that day on: a later wave registered as its own initiative is a fair
    comparison before its go-live, not after it (a go-live after the windows is not counted)."""
    controls = claim.panel.control
    found = []
    for other in claim.register.measured_initiatives:
        if other.id == claim.initiative.id or claim.metric not in other.metrics:
            continue
        for phase in other.rollout:
            after = controls.filter(pl.col("unit_id").is_in(phase.units) & (pl.col("period_end") > phase.go_live))
            if not after.is_empty() and other.id not in found:
                found.append(other.id)
    return found


def _comparison_series(claim: MetricClaim) -> pl.DataFrame:
    """The comparison units' mean per period before and after go-live, each unit taken from its
    own before-window mean (so a unit whose periods end early does not move the mean by its
    level), with ``after``, ``t`` (period number) and ``season``."""
    rows = claim.panel.control.filter(pl.col("window").is_in([PRE, POST])).drop_nulls("value")
    own_level = rows.filter(pl.col("window") == PRE).group_by("unit_id").agg(pl.col("value").mean().alias("own_mean"))
    return (
        rows.join(own_level, on="unit_id")
        .group_by("period_start")
        .agg(
            (pl.col("value") - pl.col("own_mean")).mean().alias("y"),
            (pl.col("window").first() == POST).cast(pl.Int8).alias("after"),
        )
        .sort("period_start")
        .with_columns(period_number(claim.panel.period).alias("t"), season_of(claim.panel.period).alias("season"))
    )


def _shift(series: pl.DataFrame, period: str) -> tuple[float, float]:
    """The step at ``after`` in ``series`` (trend, and seasons where a year came before, with
    AR(1) noise): its size and t-statistic."""
    seasonal = can_adjust(period, int((series["after"] == 0).sum()), spare=3)
    model = fit_ar1("y ~ after + t" + " + C(season)" * seasonal, series.to_pandas(), period="t")
    return float(model.params["after"]), float(model.tvalues["after"])


def _backdated_shifts(before: pl.DataFrame, claim: MetricClaim) -> list[float]:
    """The step's t-statistic at fake go-lives inside the before window (the data cut at the real
    go-live), each with a year and the fewest periods after it that the checks accept."""
    period = claim.panel.period
    # Each fake go-live has a year (and a few periods) before it, as the real one has: its fit
    # takes out the season as the real one's does.
    lo = max(claim.thresholds.min_pre(period), PERIODS_PER_YEAR[period] + 3)
    hi = before.height - claim.thresholds.min_post(period)
    dates = range(max(lo, 1), hi + 1)
    if len(dates) > _MAX_SPILLOVER_PLACEBOS:  # evenly spread over the before window
        dates = sorted({dates[round(i)] for i in np.linspace(0, len(dates) - 1, _MAX_SPILLOVER_PLACEBOS)})
    shifted = []
    for fake in dates:
        placebo = before.with_columns((pl.int_range(pl.len()) >= fake).cast(pl.Int8).alias("after"))
        shifted.append(_shift(placebo, period)[1])
    return shifted


def _spillover(claim: MetricClaim) -> CheckResult:
    """Do the comparison units themselves shift at go-live, in the effect's direction, by a material
    share of the effect and more than they shift at backdated go-lives?

    Every unit shares a business's own shocks (a busy season, a price rise), and the comparison
    removes them; so a shift of the comparison units is judged against their shifts at earlier
    dates (the t-statistic of its step against theirs), not against the AR(1) model's error alone, which
    business-wide movements the model does not describe would make far too small."""
    series = _comparison_series(claim)
    effect = estimation_scale_effect(claim)
    if series.height < 8 or series["after"].sum() < 2 or not effect:
        return CheckResult(CheckStatus.PASS, "No other initiative touched the comparison units.", 0.0, 0.0)
    if not can_adjust(claim.panel.period, int((series["after"] == 0).sum()), spare=3):
        # The business's season moves every unit at go-live as a spillover would: not testable yet.
        return CheckResult(
            CheckStatus.PASS,
            "The comparison units were untouched. With under a year (and a few periods) before go-live, "
            "a shift of theirs at go-live cannot be told from the business's season: spillover not tested.",
            None,
            claim.thresholds.spillover_material_share,
        )
    shift, t_real = _shift(series, claim.panel.period)
    direction = np.sign(effect)
    placebos = _backdated_shifts(series.filter(pl.col("after") == 0), claim)
    if len(placebos) < 3:
        return CheckResult(CheckStatus.PASS, "Too few backdated go-lives to judge a spillover by.", None, None)
    # The real step against the backdated ones: a prediction of one more draw from their spread
    # (Student's t, k - 1 df), one-sided in the effect's direction. Not a rank: with a few dozen
    # backdated dates a rank p-value cannot go below 1/(k + 1), which the claim's Holm correction
    # would never let through.
    spread = float(np.std(placebos, ddof=1)) * math.sqrt(1 + 1 / len(placebos)) or 1e-12
    p_value = float(stats.t.sf(direction * (t_real - float(np.mean(placebos))) / spread, len(placebos) - 1))
    share, material = direction * shift / abs(effect), claim.thresholds.spillover_material_share
    test = {"p_value": p_value if share >= material else 1.0, "level": claim.significance}
    said = (
        f"At go-live the comparison units shifted by {share:.0%} of the effect in its direction; "
        f"judged against its {len(placebos)} backdated go-lives, p = {p_value:.2g}."
    )
    if p_value < claim.significance and share >= material:
        return CheckResult(
            CheckStatus.WARN,
            f"{said} The initiative may have spilled over to them: the effect may be understated or mismeasured.",
            share,
            material,
            **test,
        )
    return CheckResult(CheckStatus.PASS, f"The comparison units were untouched. {said}", share, material, **test)
