"""The objectives scorecard: is each objective's metric moving to its target, in time, and which
initiatives moved it?

Measured on the business as a whole: per period, a rate, mean or ratio metric is
sum(value x volume) / sum(volume) over units — the same as computing it from all the records
at once — a sum or count metric is the sum over units, and a KPI (no records) the mean over
units. (A median metric is approximated by the volume-weighted mean of the units' medians.)

- **baseline**: the mean of the ``WINDOW`` periods (13 weeks, 3 months, 2 quarters, 1 year)
  that ended by the earliest go-live of the objective's live initiatives — or, with none, the
  window ending a year before the run date;
- **current**: the mean of the last ``WINDOW`` periods up to the run date;
- **target**: baseline x (1 + target_change_pct / 100);
- **status**: ``achieved`` when the change reached the target; ``missed`` when the deadline
  passed without it; else ``on_track`` when the share of the target achieved is at least the
  share of the time from the baseline to the deadline that has passed (ahead of the straight
  line to the target), or when the business-wide trend over the last ``TREND_WINDOW`` periods,
  projected to the deadline, reaches the target; ``at_risk`` otherwise (without a deadline:
  on_track while the trend points to the target).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from roi_ledger.catalogue import MetricDefinition, definition_of
from roi_ledger.register import Register
from roi_ledger.tables import schema

WINDOW = {"week": 13, "month": 3, "quarter": 2, "year": 1}
TREND_WINDOW = {"week": 26, "month": 6, "quarter": 4, "year": 3}
SUMMED = ("sum", "count")


def business_series(series: pl.DataFrame, definition: MetricDefinition | None) -> pl.DataFrame:
    """One metric for the business as a whole: ``period_start``, ``period_end``, ``value``, ``volume``."""
    rows = series.drop_nulls("value")
    if definition is None:
        value = pl.col("value").mean()
    elif definition.aggregation in SUMMED:
        value = pl.col("value").sum()
    else:
        value = (pl.col("value") * pl.col("volume")).sum() / pl.col("volume").sum()
    return (
        rows.group_by("period_start", "period_end")
        .agg(value.alias("value"), pl.col("volume").sum())
        .drop_nulls("value")
        .sort("period_start")
    )


def _contribution(
    effect: float, definition: MetricDefinition | None, series: pl.DataFrame, units: list[str], window_start: date
) -> float:
    """An initiative's effect (per treated unit-period) expressed in business-wide units."""
    recent = series.filter(pl.col("period_start") >= window_start)
    if definition is not None and definition.aggregation in SUMMED:
        return effect * len(units)  # each treated unit's sum moves by the effect
    if definition is None:
        return effect * len(units) / max(recent["unit_id"].n_unique(), 1)
    total = recent["volume"].sum()
    treated = recent.filter(pl.col("unit_id").is_in(units))["volume"].sum()
    return effect * treated / total if total else 0.0


def objective_progress(
    register: Register,
    series: pl.DataFrame,
    estimates: pl.DataFrame,
    catalogue: list[MetricDefinition],
    as_of: date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(progress per objective, contributions per objective x initiative)."""
    rows, contributions = [], []
    for objective in register.objectives:
        row, its_contributions = _progress(objective, register, series, estimates, catalogue, as_of)
        rows.append(row)
        contributions += its_contributions
    return pl.DataFrame(rows, schema=PROGRESS_SCHEMA), pl.DataFrame(contributions, schema=CONTRIBUTION_SCHEMA)


def _progress(
    objective, register: Register, series: pl.DataFrame, estimates: pl.DataFrame, catalogue, as_of: date
) -> tuple[dict, list[dict]]:
    """One objective's progress row and its linked initiatives' contributions."""
    linked = [i for i in register.measured_initiatives if i.objective == objective.id]
    row = {
        "objective_id": objective.id,
        "statement": objective.statement,
        "metric": objective.metric,
        "owner": objective.owner,
        "deadline": objective.deadline,
        "target_change_pct": objective.target_change_pct,
        "linked_initiatives": ", ".join(i.id for i in linked) or None,
    }
    metric_series = series.filter(pl.col("metric") == objective.metric) if objective.metric else series.clear()
    if metric_series.is_empty():
        return row | {"status": "not_measurable"}, []
    definition = definition_of(catalogue, objective.metric)
    period = metric_series["period"][0]
    whole = business_series(metric_series, definition)
    window = WINDOW[period]
    baseline_end = min((i.first_go_live for i in linked), default=as_of - timedelta(days=365))
    before = whole.filter(pl.col("period_end") <= baseline_end).tail(window)
    current = whole.filter(pl.col("period_end") <= as_of + timedelta(days=1)).tail(window)
    if before.is_empty() or current.is_empty():
        return row | {"status": "not_measurable"}, []
    baseline, now = float(before["value"].mean()), float(current["value"].mean())
    change_pct = 100 * (now - baseline) / abs(baseline) if baseline else None
    target_pct = objective.target_change_pct
    share = change_pct / target_pct if change_pct is not None and target_pct else None
    status, projected_pct = _status(
        whole, period, baseline, share, target_pct, objective.deadline, as_of, before["period_end"].max()
    )
    contributions = _contributions(
        objective, linked, estimates, definition, metric_series, current["period_start"].min(), now - baseline
    )
    row |= {
        "period": period,
        "baseline_start": before["period_start"].min(),
        "baseline_end": before["period_end"].max(),
        "baseline_value": baseline,
        "current_start": current["period_start"].min(),
        "current_value": now,
        "target_value": baseline * (1 + target_pct / 100) if target_pct is not None else None,
        "change_pct": change_pct,
        "share_of_target": share,
        "projected_change_pct_at_deadline": projected_pct,
        "status": status,
    }
    row["contributions"] = (
        "; ".join(
            f"{c['initiative_id']} {c['share_of_change']:.0%}"
            for c in contributions
            if c["share_of_change"] is not None
        )
        or None
    )
    return row, contributions


def _contributions(
    objective,
    linked: list,
    estimates: pl.DataFrame,
    definition: MetricDefinition | None,
    metric_series: pl.DataFrame,
    window_start: date,
    total_change: float,
) -> list[dict]:
    """What each linked initiative's primary estimate adds to the objective's metric, business-wide,
    and its share of the change since the baseline."""
    contributions = []
    for initiative in linked:
        primary = estimates.filter(
            (pl.col("initiative_id") == initiative.id) & (pl.col("metric") == objective.metric) & pl.col("is_primary")
        )
        if primary.is_empty() or primary["effect_abs"][0] is None:
            continue
        contribution = _contribution(
            primary["effect_abs"][0], definition, metric_series, initiative.all_treated_units, window_start
        )
        contributions.append(
            {
                "objective_id": objective.id,
                "initiative_id": initiative.id,
                "metric": objective.metric,
                "contribution": contribution,
                "share_of_change": contribution / total_change if total_change else None,
            }
        )
    return contributions


def _status(whole, period, baseline, share, target_pct, deadline, as_of, baseline_end) -> tuple[str, float | None]:
    if share is not None and share >= 1:
        return "achieved", None
    if deadline is not None and deadline < as_of:
        return "missed", None
    if deadline is not None and share is not None and deadline > baseline_end:
        elapsed = (as_of - baseline_end).days / (deadline - baseline_end).days
        if share >= elapsed:
            return "on_track", None
    recent = whole.filter(pl.col("period_end") <= as_of + timedelta(days=1)).tail(TREND_WINDOW[period])
    if recent.height < 3 or not target_pct or not baseline:
        return "at_risk", None
    days = (recent["period_start"] - recent["period_start"].min()).dt.total_days().to_numpy().astype(float)
    slope, intercept = np.polyfit(days, recent["value"].to_numpy(), 1)
    if deadline is None:
        return ("on_track" if np.sign(slope) == np.sign(target_pct) else "at_risk"), None
    horizon = float((deadline - recent["period_start"].min()).days)
    projected = intercept + slope * horizon
    projected_pct = 100 * (projected - baseline) / abs(baseline)
    return ("on_track" if projected_pct / target_pct >= 1 else "at_risk"), projected_pct


PROGRESS_SCHEMA = schema("objective_progress")  # the published columns and types (its mart yml)
CONTRIBUTION_SCHEMA = schema("objective_contributions")  # the published columns and types (its mart yml)
