"""Confounders: what else was going on at go-live: other initiatives, changed volumes, contaminated
comparisons."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from roi_ledger.claims.base import (
    CheckClass,
    CheckResult,
    MetricClaim,
    claim_check,
)
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.effects.ar1_errors import fit_ar1
from roi_ledger.effects.panel import CONTROL, POST, PRE, TREATED
from roi_ledger.effects.registry import comparison_methods
from roi_ledger.effects.seasons import can_adjust, period_number, season_of


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
            f"{', '.join(others)} also changed {claim.metric} in the same units during these windows: "
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
    """Comparison units treated by another initiative, or moving with the initiative's go-live."""
    if claim.panel is None or claim.method not in comparison_methods():
        return CheckResult(CheckStatus.NOT_APPLICABLE, "The estimate does not rest on comparison units.")
    controls = set(claim.panel.units(CONTROL))
    touched = _others_touching(claim, controls, same_metric=True)
    if touched:
        return CheckResult(
            CheckStatus.WARN,
            f"Comparison units were changed on {claim.metric} by {', '.join(touched)} during these windows, "
            "which bends the comparison.",
            float(len(touched)),
            0.0,
        )
    # Spillover: do the comparison units themselves shift at go-live, in the effect's direction?
    rows = claim.panel.control.filter(pl.col("window").is_in([PRE, POST])).drop_nulls("value")
    series = (
        rows.group_by("period_start")
        .agg(pl.col("value").mean().alias("y"), (pl.col("window").first() == POST).cast(pl.Int8).alias("after"))
        .sort("period_start")
        .with_columns(period_number(claim.panel.period).alias("t"), season_of(claim.panel.period).alias("season"))
    )
    effect = claim.primary["effect_abs"] if claim.primary else None
    if series.height < 8 or series["after"].sum() < 2 or not effect:
        return CheckResult(CheckStatus.PASS, "No other initiative touched the comparison units.", 0.0, 0.0)
    seasonal = can_adjust(claim.panel.period, int((series["after"] == 0).sum()), spare=3)
    model = fit_ar1("y ~ after + t" + " + C(season)" * seasonal, series.to_pandas(), period="t")
    shift, p_value = float(model.params["after"]), float(model.pvalues["after"])
    # A test of "no spillover" in the effect's direction (``family.py``).
    test = {"p_value": p_value if np.sign(shift) == np.sign(effect) else 1.0, "level": claim.significance}
    if p_value < claim.significance and np.sign(shift) == np.sign(effect):
        return CheckResult(
            CheckStatus.WARN,
            "The comparison units themselves changed at go-live in the same direction: the initiative may "
            "have spilled over to them, and the effect may be understated or mismeasured.",
            p_value,
            claim.significance,
            **test,
        )
    return CheckResult(
        CheckStatus.PASS,
        "The comparison units were untouched and did not shift at go-live.",
        p_value,
        claim.significance,
        **test,
    )
