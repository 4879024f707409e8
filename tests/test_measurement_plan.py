"""Measurement plans for proposals, from the business's own series, checked by hand."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from roi_ledger.claims.power import detectable as mde
from roi_ledger.register import parse_register
from roi_ledger.strategy.measurement_plan import detrended_sd, measurement_plans

REGISTER = """
business: {name: Shop, currency: EUR, timezone: Europe/Berlin}
initiatives:
  - id: live_one
    name: Already live on d
    status: live
    go_live: 2025-01-06
    treated_units: [d]
    metrics: [hours_admin]
  - id: proposal
    name: Proposed on a
    status: proposed
    go_live: 2026-03-02
    treated_units: [a]
    metrics: [hours_admin]
    expected: {changes: {hours_admin: -20}}
"""
WEEKS = 60
START = date(2024, 11, 4)


def weekly_series() -> pl.DataFrame:
    t = np.arange(WEEKS)
    season = 2 * np.sin(2 * np.pi * t / 52)
    wobble = np.where(t % 2 == 0, 1.0, -1.0)  # a's own noise: +1, -1, +1, ...
    units = {
        "a": 10 + season + wobble,
        "b": 5 + season,  # moves with a
        "c": 8 - season,  # moves against a
        "d": 9 + season,  # treated by a live initiative on the metric: not a comparison
    }
    return pl.DataFrame(
        [
            {
                "unit_id": u,
                "metric": "hours_admin",
                "period": "week",
                "period_start": START + timedelta(weeks=int(i)),
                "value": float(v),
            }
            for u, values in units.items()
            for i, v in enumerate(values)
        ]
    )


def test_the_plan_holds_back_the_units_that_moved_with_the_treated_ones_and_says_how_long():
    register = parse_register(REGISTER, "initiatives.yml")
    [plan] = measurement_plans(register, weekly_series(), START + timedelta(weeks=WEEKS)).to_dicts()
    assert (
        plan["holdback_units"] == "b" and plan["planned_method"] == "did"
    )  # c moved against a; d is treated elsewhere
    gap = np.where(np.arange(WEEKS) % 2 == 0, 1.0, -1.0)  # a - b - 5
    fit = stats.linregress(np.arange(WEEKS), gap)
    residuals = gap - (fit.intercept + fit.slope * np.arange(WEEKS))
    sd = np.sqrt((residuals**2).sum() / (WEEKS - 2))
    assert plan["noise_sd"] == pytest.approx(sd) and detrended_sd(gap) == pytest.approx(sd)
    level = np.mean((10 + 2 * np.sin(2 * np.pi * np.arange(WEEKS) / 52) + gap)[-13:])
    assert plan["recent_level"] == pytest.approx(level)
    expected = -0.2 * level
    assert plan["expected_effect_abs"] == pytest.approx(expected)
    # the always-valid rule (tests/test_claims.py checks mde by hand): the fewest weeks enough
    needed = next(after for after in range(4, 521) if mde(sd, WEEKS, after, 0.95) <= abs(expected))
    assert plan["periods_needed"] == needed and plan["reachable"]
    # the first gradeable look (4 weeks) is the earliest a plan can say, whatever the MDE before it
    assert mde(sd, WEEKS, needed, 0.95) <= abs(expected) and (
        needed == 4 or abs(expected) < mde(sd, WEEKS, needed - 1, 0.95)
    )


def test_a_proposal_with_nothing_to_compare_with_is_planned_as_a_time_series():
    register = parse_register(REGISTER.replace("treated_units: [d]", "treated_units: [b, c, d]"), "initiatives.yml")
    [plan] = measurement_plans(register, weekly_series(), START + timedelta(weeks=WEEKS)).to_dicts()
    assert plan["n_holdback_units"] == 0 and plan["planned_method"] == "its"
    # a's own series swings with the seasons: its noise is far larger, so the wait is longer or unreachable
    assert plan["noise_sd"] > 1.2
