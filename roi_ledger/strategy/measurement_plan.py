"""A measurement plan for every proposed or approved initiative, from the business's own series.

Before go-live the owner can still choose how the initiative will be judged. Per initiative and
metric (docs/strategy.md, "Measurement plans"):

- **which units to hold back** as comparison: the declared ``control_units``, else every unit the
  metric is measured in that neither this initiative nor a live or retired one on the same metric
  treats, ranked by how closely their series followed the treated units' over the history used,
  keeping those that moved with them (correlation > 0), at most ``MAX_HOLDBACK``;
- **the noise** the estimate will face: the standard deviation of the treated-minus-held-back
  series (the treated series alone when nothing can be held back: an interrupted time series)
  over the last ``HISTORY_PERIODS`` complete periods, after a straight-line trend is taken out;
- **the minimum detectable effect** at 80% power and the business's level after ``post`` periods,
  under the rule the grade will use once live (``roi_ledger.claims.power.detectable``: the
  always-valid half-width plus ``z_0.8`` standard errors, with ``se = sd * sqrt(1/pre + 1/post)``
  and ``pre`` the history available), and **how many
  periods after go-live** bring it down to the business case's expected change (``expected.changes``
  × the treated units' recent level); ``reachable`` false when no number of periods would.

The same variance rule and functions as ``roi_ledger.claims.power``, and the same assumption: noise independent
between periods (positively autocorrelated noise makes the real wait longer).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from roi_ledger.claims.power import Looks, detectable, periods_for
from roi_ledger.register import Register, Status
from roi_ledger.tables import schema

PROPOSALS = (Status.PROPOSED, Status.APPROVED)
HISTORY_PERIODS = 104
RECENT_PERIODS = 13
MAX_HOLDBACK = 5

PLAN_SCHEMA = schema("measurement_plans")  # the published columns and types (its mart yml)


def detrended_sd(values: np.ndarray) -> float:
    """Standard deviation of the residuals of a straight line fitted to ``values`` (n - 2 df)."""
    t = np.arange(len(values), dtype=float)
    slope, intercept = np.polyfit(t, values, 1)
    residuals = values - (intercept + slope * t)
    return float(np.sqrt((residuals**2).sum() / (len(values) - 2)))


def measurement_plans(register: Register, series: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """One plan per proposed or approved initiative and metric, from the history up to ``as_of``."""
    rows = [
        _metric_plan(register, initiative, metric, series, as_of)
        for initiative in register.initiatives
        if initiative.status in PROPOSALS
        for metric in initiative.metrics
    ]
    return pl.DataFrame(rows, schema=PLAN_SCHEMA)


def _metric_plan(register: Register, initiative, metric: str, series: pl.DataFrame, as_of: date) -> dict:
    """The plan of one initiative and metric, or a note on why there is none yet."""
    treated = initiative.all_treated_units
    changes = initiative.expected.changes if initiative.expected else {}
    mine = series.filter((pl.col("metric") == metric) & (pl.col("period_start") <= as_of))
    base = {
        "initiative_id": initiative.id,
        "metric": metric,
        "status": initiative.status.value,
        "planned_go_live": initiative.first_go_live,
        "treated_units": ", ".join(treated),
        "expected_change_pct": changes.get(metric),
    }
    if mine.is_empty():
        return {**base, "note": "no data for this metric yet: nothing to plan from"}
    period = mine["period"][0]
    wide = mine.pivot(on="unit_id", index="period_start", values="value").sort("period_start").tail(HISTORY_PERIODS)
    present = [u for u in treated if u in wide.columns]
    if not present:
        return {**base, "period": period, "note": "none of its units has data for this metric yet"}
    candidates = _holdback_candidates(register, initiative, metric, wide)
    frame = wide.select("period_start", *present, *candidates).drop_nulls()
    if frame.height < 8:
        return {
            **base,
            "period": period,
            "note": f"only {frame.height} complete periods of history: too few to plan from",
        }
    treated_mean = frame.select(pl.mean_horizontal(present)).to_series().to_numpy()
    holdback = _holdback(initiative, frame, treated_mean, candidates)
    gap = treated_mean - frame.select(pl.mean_horizontal(holdback)).to_series().to_numpy() if holdback else treated_mean
    sizing = _sizing(register, initiative, period, gap, treated_mean, changes.get(metric))
    return {
        **base,
        "period": period,
        "holdback_units": ", ".join(holdback) or None,
        "n_holdback_units": len(holdback),
        "planned_method": "did" if holdback else "its",
        **sizing,
    }


def _holdback_candidates(register: Register, initiative, metric: str, wide: pl.DataFrame) -> list[str]:
    """The declared control units, else every unit measured that neither this initiative nor a
    live or retired one on the same metric treats; those with data in ``wide``."""
    busy = {
        u
        for other in register.initiatives
        if other.id != initiative.id and other.status in (Status.LIVE, Status.RETIRED) and metric in other.metrics
        for u in other.all_treated_units
    }
    candidates = initiative.control_units or [
        u for u in wide.columns if u not in ("period_start", *initiative.all_treated_units) and u not in busy
    ]
    return [u for u in candidates if u in wide.columns]


def _holdback(initiative, frame: pl.DataFrame, treated_mean: np.ndarray, candidates: list[str]) -> list[str]:
    """The declared control units, else the candidates whose series moved with the treated units'
    (correlation > 0), the closest first, at most ``MAX_HOLDBACK``."""
    if initiative.control_units:
        return candidates
    ranked = sorted(
        ((float(np.corrcoef(treated_mean, frame[u].to_numpy())[0, 1]), u) for u in candidates if frame[u].std() > 0),
        reverse=True,
    )
    return [u for r, u in ranked if r > 0][:MAX_HOLDBACK]


def _sizing(
    register: Register, initiative, period: str, gap: np.ndarray, treated_mean: np.ndarray, change: float | None
) -> dict:
    """The noise of ``gap``, the effect the business case expects, the periods after go-live
    needed to detect it and the minimum detectable effects."""
    confidence = register.business.confidence_level
    sd, pre = detrended_sd(gap), len(gap)
    level = float(treated_mean[-RECENT_PERIODS:].mean())
    expected = change / 100 * level if change is not None else None
    thresholds = register.thresholds_for(initiative)
    looks = Looks(thresholds.min_post(period), thresholds.horizon_periods(period))
    needed = periods_for(sd, pre, expected, confidence, looks=looks) if expected else None
    return {
        "history_periods": pre,
        "noise_sd": sd,
        "recent_level": level,
        "expected_effect_abs": expected,
        "periods_needed": needed,
        "mde_abs_at_periods_needed": detectable(sd, pre, needed, confidence, looks=looks) if needed else None,
        "mde_abs_after_13_periods": detectable(sd, pre, 13, confidence, looks=looks),
        "reachable": (needed is not None) if expected else None,
        "note": None if expected else "the business case expects no change on this metric: only the MDE is given",
    }
