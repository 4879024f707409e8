"""ROI, payback and NPV per initiative, and the cumulative curve a dashboard draws.

Conventions (docs/money.md):

- ROI = (benefit to date - cost to date) / cost to date, both from the first cost or go-live
  to the run date (``as_of``); null when there are no costs.
- Benefit accrues from the end of the ramp-up; the ramp-up is left out of both the estimate
  and the benefit.
- ``payback_date``: the start of the first week in which cumulative benefit >= cumulative cost.
- ``annual_run_rate``: mean weekly benefit over the last (up to) 52 weeks of the after window,
  x 365.25 / 7.
- ``projected_payback_date``: if not yet paid back, the day the deficit is covered at the
  current run rate net of ongoing monthly costs; null if the run rate does not cover them.
- NPV: monthly cash flows from the month of the first cost (or go-live) to
  ``NPV_HORIZON_YEARS`` after go-live — realised to date, then the run rate and the running
  monthly costs — discounted at the business's yearly rate; month 0 is not discounted.
- Several metrics in one initiative: benefits in different money pools add; their intervals
  combine as independent (half-widths in quadrature). Within a pool one metric counts: the one
  with the best grade, then the narrowest interval.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl

from roi_ledger.claims.labels import GRADES, Grade
from roi_ledger.money.costs import daily_costs
from roi_ledger.register import Initiative, Register, Status

NPV_HORIZON_YEARS = 3
RUN_RATE_WEEKS = 52
DAYS_PER_YEAR = 365.25


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def choose_counted_metrics(summary: pl.DataFrame, grades: dict[tuple[str, str], str]) -> pl.DataFrame:
    """Add ``counted``: per initiative and money pool, one metric counts (best grade, then the
    narrowest interval relative to its benefit)."""
    if summary.is_empty():
        return summary.with_columns(pl.lit(False).alias("counted"))
    ranked = summary.with_columns(
        pl.struct("initiative_id", "metric")
        .map_elements(
            lambda r: GRADES.index(grades.get((r["initiative_id"], r["metric"]), Grade.RELIABLE)), return_dtype=pl.Int64
        )
        .alias("_grade_rank"),
        ((pl.col("benefit_high") - pl.col("benefit_low")) / pl.col("benefit").abs().clip(lower_bound=1e-9)).alias(
            "_width"
        ),
    ).sort("initiative_id", "pool", "_grade_rank", "_width")
    return ranked.with_columns((pl.int_range(pl.len()).over("initiative_id", "pool") == 0).alias("counted")).drop(
        "_grade_rank", "_width"
    )


def weekly_curve(initiative: Initiative, benefits: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per week from the first cost or go-live to ``as_of``: cost, benefit and cumulative sums."""
    costs = daily_costs(initiative, as_of)
    starts = [initiative.first_go_live] + ([costs["day"].min()] if costs.height else [])
    first = monday(min(starts))
    last = monday(as_of)
    if last < first:
        return pl.DataFrame()
    weeks = pl.date_range(first, last, "1w", eager=True).alias("period_start").to_frame()
    weeks = weeks.with_columns((pl.col("period_start") + timedelta(days=7)).alias("period_end"))
    # per metric first (the interval of one metric is exact), then combined across metrics
    by_metric = benefits.group_by("period_start", "metric").agg(pl.col("benefit", "benefit_low", "benefit_high").sum())
    curve = _weekly_sums(weeks, costs, by_metric)
    cumulative = _cumulative_intervals(weeks, by_metric)
    return (
        curve.join(cumulative, on="period_start", how="left")
        .fill_null(0.0)
        .with_columns(
            (pl.col("cumulative_benefit") - pl.col("cum_below")).alias("cumulative_benefit_low"),
            (pl.col("cumulative_benefit") + pl.col("cum_above")).alias("cumulative_benefit_high"),
        )
        .select(
            "period_start",
            "period_end",
            "cost",
            "benefit",
            "benefit_low",
            "benefit_high",
            "cumulative_cost",
            "cumulative_benefit",
            "cumulative_benefit_low",
            "cumulative_benefit_high",
            "cumulative_net",
        )
        .sort("period_start")
    )


def _weekly_sums(weeks: pl.DataFrame, costs: pl.DataFrame, by_metric: pl.DataFrame) -> pl.DataFrame:
    """Per week: cost, benefit with its interval (metrics combined as independent) and the
    cumulative cost, benefit and net."""
    weekly_cost = (
        costs.with_columns(pl.col("day").dt.truncate("1w").alias("period_start"))
        .group_by("period_start")
        .agg(pl.col("cost").sum())
    )
    combined = by_metric.group_by("period_start").agg(
        pl.col("benefit").sum(),
        ((pl.col("benefit") - pl.col("benefit_low")) ** 2).sum().sqrt().alias("below"),
        ((pl.col("benefit_high") - pl.col("benefit")) ** 2).sum().sqrt().alias("above"),
    )
    return (
        weeks.join(weekly_cost, on="period_start", how="left")
        .join(combined, on="period_start", how="left")
        .fill_null(0.0)
        .sort("period_start")
        .with_columns(
            (pl.col("benefit") - pl.col("below")).alias("benefit_low"),
            (pl.col("benefit") + pl.col("above")).alias("benefit_high"),
        )
        .with_columns(
            pl.col("cost").cum_sum().alias("cumulative_cost"),
            pl.col("benefit").cum_sum().alias("cumulative_benefit"),
        )
        .with_columns((pl.col("cumulative_benefit") - pl.col("cumulative_cost")).alias("cumulative_net"))
    )


def _cumulative_intervals(weeks: pl.DataFrame, by_metric: pl.DataFrame) -> pl.DataFrame:
    """Per week: the cumulative benefit's centre and its distances to the interval's ends.
    Within one metric the weekly intervals move together (one effect), so they add; across
    metrics they combine as independent."""
    cumulative = by_metric.sort("period_start").with_columns(
        pl.col("benefit").cum_sum().over("metric").alias("cb"),
        pl.col("benefit_low").cum_sum().over("metric").alias("cl"),
        pl.col("benefit_high").cum_sum().over("metric").alias("ch"),
    )
    spine = weeks.select("period_start").join(cumulative.select("metric").unique(), how="cross")
    return (
        spine.join(
            cumulative.select("period_start", "metric", "cb", "cl", "ch"), on=["period_start", "metric"], how="left"
        )
        .sort("metric", "period_start")
        .with_columns(pl.col("cb", "cl", "ch").forward_fill().over("metric").fill_null(0.0))
        .group_by("period_start")
        .agg(
            pl.col("cb").sum().alias("cum_center"),
            ((pl.col("cb") - pl.col("cl")) ** 2).sum().sqrt().alias("cum_below"),
            ((pl.col("ch") - pl.col("cb")) ** 2).sum().sqrt().alias("cum_above"),
        )
    )


def annual_run_rate(curve: pl.DataFrame, initiative: Initiative, as_of: date) -> float | None:
    """Mean weekly benefit over the last (up to) 52 weeks of the after window, per year."""
    live_weeks = curve.filter(
        pl.col("period_start") >= monday(initiative.first_go_live + timedelta(days=initiative.ramp_up_days))
    )
    if initiative.retired_on is not None:
        live_weeks = live_weeks.filter(pl.col("period_start") <= initiative.retired_on)
    live_weeks = live_weeks.tail(RUN_RATE_WEEKS)
    if live_weeks.is_empty():
        return None
    return float(live_weeks["benefit"].mean()) * DAYS_PER_YEAR / 7


def ongoing_daily_cost(initiative: Initiative, as_of: date) -> float:
    """Monthly costs still running on ``as_of``, per day."""
    total = 0.0
    for item in initiative.costs or []:
        if item.kind == "monthly" and item.start <= as_of and (item.end is None or item.end >= as_of):
            total += item.amount * 12 / DAYS_PER_YEAR
    return total


def npv(
    initiative: Initiative, curve: pl.DataFrame, run_rate: float | None, as_of: date, discount_rate: float
) -> tuple[float, date]:
    """Net present value at the month of the first cash flow, and the horizon's end."""
    horizon_end = initiative.first_go_live.replace(year=initiative.first_go_live.year + NPV_HORIZON_YEARS)
    first = curve["period_start"].min()
    realised = (
        curve.with_columns(pl.col("period_start").dt.truncate("1mo").alias("month"))
        .group_by("month")
        .agg((pl.col("benefit") - pl.col("cost")).sum().alias("net"))
    )
    flows: dict[date, float] = dict(zip(realised["month"].to_list(), realised["net"].to_list()))
    if as_of < horizon_end:
        future_costs = daily_costs(initiative, horizon_end).filter(pl.col("day") > as_of)
        for row in (
            future_costs.with_columns(pl.col("day").dt.truncate("1mo").alias("month"))
            .group_by("month")
            .agg(pl.col("cost").sum())
            .iter_rows(named=True)
        ):
            flows[row["month"]] = flows.get(row["month"], 0.0) - row["cost"]
        still_running = initiative.status == Status.LIVE and run_rate is not None
        if still_running:
            days = (
                pl.date_range(as_of + timedelta(days=1), horizon_end, "1d", eager=True)
                .dt.truncate("1mo")
                .value_counts()
            )
            for row in days.iter_rows(named=True):
                month = row[days.columns[0]]
                flows[month] = flows.get(month, 0.0) + run_rate / DAYS_PER_YEAR * row["count"]
    start_month = date(first.year, first.month, 1)
    monthly_rate = (1 + discount_rate) ** (1 / 12) - 1
    value = 0.0
    for month, flow in flows.items():
        index = (month.year - start_month.year) * 12 + month.month - start_month.month
        value += flow / (1 + monthly_rate) ** index
    return value, horizon_end


def initiative_roi(
    register: Register,
    initiative: Initiative,
    benefits: pl.DataFrame,
    as_of: date,
    grade: str | None,
) -> tuple[dict, pl.DataFrame]:
    """The ROI row and the weekly curve for one initiative (``benefits``: counted rows only)."""
    curve = weekly_curve(initiative, benefits, as_of)
    cost = float(curve["cumulative_cost"].tail(1)[0]) if curve.height else 0.0
    if curve.height:
        last = curve.row(curve.height - 1, named=True)
        benefit, low, high = last["cumulative_benefit"], last["cumulative_benefit_low"], last["cumulative_benefit_high"]
    else:
        benefit = low = high = 0.0
    net = benefit - cost
    paid_back = (
        curve.filter((pl.col("cumulative_net") >= 0) & (pl.col("cumulative_cost") > 0)) if curve.height else curve
    )
    payback = paid_back["period_start"][0] if cost > 0 and paid_back.height else None
    rate = annual_run_rate(curve, initiative, as_of) if curve.height else None
    projected = payback
    if payback is None and cost > 0 and rate is not None and initiative.status == Status.LIVE:
        daily_net = rate / DAYS_PER_YEAR - ongoing_daily_cost(initiative, as_of)
        if daily_net > 0:
            projected = as_of + timedelta(days=math.ceil(-net / daily_net))
    value, horizon_end = (
        npv(initiative, curve, rate, as_of, register.business.discount_rate) if curve.height else (None, None)
    )
    expected = initiative.expected.annual_benefit if initiative.expected else None
    row = {
        "initiative_id": initiative.id,
        "name": initiative.name,
        "status": initiative.status.value,
        "as_of": as_of,
        "first_go_live": initiative.first_go_live,
        "currency": register.business.currency,
        "cost_to_date": cost,
        "benefit_to_date": benefit,
        "benefit_ci_low": low,
        "benefit_ci_high": high,
        "net_benefit": net,
        "roi": net / cost if cost > 0 else None,
        "roi_ci_low": (low - cost) / cost if cost > 0 else None,
        "roi_ci_high": (high - cost) / cost if cost > 0 else None,
        "payback_date": payback,
        "projected_payback_date": projected,
        "npv": value,
        "npv_horizon_end": horizon_end,
        "annual_run_rate": rate,
        "expected_annual_benefit": expected,
        "realisation_rate": rate / expected if rate is not None and expected else None,
        "grade": grade,
    }
    return row, curve.with_columns(pl.lit(initiative.id).alias("initiative_id"), pl.lit("week").alias("period"))
