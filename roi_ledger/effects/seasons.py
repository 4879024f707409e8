"""The calendar of a series: which part of the year each period is, how many periods apart
two periods are, and whether there is enough history before go-live to learn the pattern.

A seasonal pattern can only be adjusted for when the before window covers at least one full
year: every season must have been seen before the initiative changed anything.
"""

from __future__ import annotations

import numpy as np
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


# Yearly Fourier pairs a weekly or monthly pattern may be described with, chosen by BIC.
HARMONICS = {"week": (1, 2, 3, 4, 6, 8, 12), "month": (1, 2, 3, 4, 5)}


def fourier_columns(season: np.ndarray, period: str, harmonics: int) -> dict[str, np.ndarray]:
    """``harmonics`` yearly sine/cosine pairs of the season index (week of year, month): a
    smooth yearly pattern in a few terms, instead of a dummy per season that is learnt from one
    or two periods of the before window."""
    angle = 2 * np.pi * (np.asarray(season, dtype=float) - 1) / PERIODS_PER_YEAR[period]
    columns = {}
    for k in range(1, harmonics + 1):
        columns[f"sin_{k}"], columns[f"cos_{k}"] = np.sin(k * angle), np.cos(k * angle)
    return columns


def bic_harmonics(y: np.ndarray, base: np.ndarray, season: np.ndarray, period: str, allow_none: bool) -> int | None:
    """The number of yearly Fourier pairs that describes ``y`` best by BIC beside the ``base``
    columns (a constant, a trend), 0 when none does better and ``allow_none``; None where the
    grain keeps dummies (quarters) or nothing fits."""
    if period not in HARMONICS:
        return None
    candidates = ((0,) if allow_none else ()) + HARMONICS[period]
    best, best_bic = None, np.inf
    for k in candidates:
        X = np.column_stack([base, *fourier_columns(season, period, k).values()]) if k else base
        if X.shape[0] <= X.shape[1] + 2:
            break
        residuals = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        bic = len(y) * np.log(max(float(residuals @ residuals), 1e-300) / len(y)) + X.shape[1] * np.log(len(y))
        if bic < best_bic:
            best, best_bic = k, bic
    return best
