"""A business with one unit and no comparison: the smallest business ROI Ledger serves. Its own
history is the counterfactual (interrupted time series), through ``roi run``'s own path."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from tests.conftest import query, run_pipeline

pytestmark = pytest.mark.e2e

EFFECT = -4.0  # points on the monthly KPI from go-live (month 30 of 48)


@pytest.fixture(scope="module")
def one_shop(tmp_path_factory):
    # A monthly on-time rate that rises 0.3 points a month, with a yearly season (±1.5) and
    # survey noise (SD 0.8); the route planner takes 4 points off from July 2024.
    rng = np.random.default_rng(1)
    months = [date(2022 + m // 12, m % 12 + 1, 1) for m in range(48)]
    t = np.arange(48)
    value = 60 + 0.3 * t + 1.5 * np.sin(2 * np.pi * t / 12) + EFFECT * (t >= 30) + rng.normal(0, 0.8, 48)
    kpis = pl.DataFrame(
        {"unit_id": "bakery", "period_start": [m.isoformat() for m in months], "metric": "on_time_rate", "value": value}
    )
    register = {
        "business": {"name": "One shop", "currency": "EUR", "timezone": "UTC"},
        "initiatives": [
            {
                "id": "route_planner",
                "name": "Route planner",
                "status": "live",
                "go_live": "2024-07-01",
                "treated_units": ["bakery"],
                "metrics": ["on_time_rate"],
            }
        ],
    }
    return run_pipeline(
        tmp_path_factory.mktemp("one_shop"), register=register, datasets={"kpis": kpis}, as_of=date(2025, 12, 31)
    )


def test_its_is_primary_and_its_interval_covers_the_planted_effect(one_shop):
    effects = query(one_shop, "select * from marts.initiative_effects")
    [its] = effects.filter(pl.col("method") == "its").to_dicts()
    assert its["is_primary"] and its["n_control_units"] == 0
    assert (its["pre_periods"], its["post_periods"]) == (30, 18)
    assert its["ci_low"] <= EFFECT <= its["ci_high"] < 0
    # The naive before/after sees the trend's 0.3 x 24 months of rise, not the drop.
    [naive] = effects.filter(pl.col("method") == "before_after").to_dicts()
    assert naive["effect_abs"] > 0


def test_a_clear_effect_on_a_trending_seasonal_metric_grades_reliable(one_shop):
    grades = query(one_shop, "select grade, reasons from marts.claim_reliability where metric = 'on_time_rate'")
    assert grades["grade"].to_list() == ["reliable"], grades.to_dicts()
