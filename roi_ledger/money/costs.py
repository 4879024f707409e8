"""Costs from the register, by day.

One-off items fall on their date. Monthly items accrue daily from ``start`` to ``end``
(inclusive) or to the run date: each day carries ``amount / days in that month``, so a full
calendar month costs exactly ``amount`` and a part month its share of days.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from roi_ledger.register import Initiative, MonthlyCost, OneOffCost


def daily_costs(initiative: Initiative, until: date) -> pl.DataFrame:
    """``day``, ``cost`` for every day with a cost up to ``until`` (inclusive)."""
    parts = []
    for item in initiative.costs or []:
        if isinstance(item, OneOffCost):
            if item.date <= until:
                parts.append(pl.DataFrame({"day": [item.date], "cost": [float(item.amount)]}))
        elif isinstance(item, MonthlyCost):
            last = min(item.end or until, until)
            if last < item.start:
                continue
            days = pl.date_range(item.start, last, "1d", eager=True).alias("day").to_frame()
            parts.append(
                days.with_columns(
                    (pl.lit(float(item.amount)) / pl.col("day").dt.days_in_month().cast(pl.Float64)).alias("cost")
                )
            )
    if not parts:
        return pl.DataFrame(schema={"day": pl.Date, "cost": pl.Float64})
    return pl.concat(parts).group_by("day").agg(pl.col("cost").sum()).sort("day")
