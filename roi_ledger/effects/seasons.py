"""The calendar of a series: which part of the year each period is, how many periods apart
two periods are, and whether there is enough history before go-live to learn the pattern.

A seasonal pattern can only be adjusted for when the before window covers at least one full
year: every season must have been seen before the initiative changed anything.
"""

from __future__ import annotations

import polars as pl

PERIODS_PER_YEAR = {"week": 52, "month": 12, "quarter": 4, "year": 1}
PERIOD_DAYS = {"week": 7, "month": 30.44, "quarter": 91.31, "year": 365.25}  # average length


def season_of(period: str) -> pl.Expr:
    """The season index of ``period_start``: week of year (53 folded into 52), month, quarter."""
    start = pl.col("period_start")
    if period == "week":
        return pl.min_horizontal(start.dt.week(), pl.lit(52)).cast(pl.Int64)
    if period == "month":
        return start.dt.month().cast(pl.Int64)
    if period == "quarter":
        return start.dt.quarter().cast(pl.Int64)
    return pl.lit(1, dtype=pl.Int64)


def period_number(period: str) -> pl.Expr:
    """``period_start`` counted in periods (weeks, calendar months, quarters or years since
    1970), so two periods' numbers differ by how many periods apart they are. Trends and
    autocorrelated noise are modelled on this count, not on row positions: a gap in the data (a
    week without entries, the ramp-up left out of the estimate) stays a gap."""
    start = pl.col("period_start").cast(pl.Date)
    if period == "week":
        return (start.cast(pl.Int64) // 7).cast(pl.Float64)
    if period == "month":
        return ((start.dt.year() - 1970) * 12 + start.dt.month() - 1).cast(pl.Float64)
    if period == "quarter":
        return ((start.dt.year() - 1970) * 4 + start.dt.quarter() - 1).cast(pl.Float64)
    return (start.dt.year() - 1970).cast(pl.Float64)


def can_adjust(period: str, pre_periods: int, spare: int = 0) -> bool:
    """True when the before window holds a full year (plus ``spare`` periods for other terms)."""
    return period != "year" and pre_periods >= PERIODS_PER_YEAR[period] + spare
