"""Money conventions against hand-computed examples (docs/money.md)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
import yaml

from roi_ledger.catalogue import definition_of, load_catalogue
from roi_ledger.effects.panel import build_panel
from roi_ledger.money.benefit import attribute_shared_claims, money_rule, unit_period_benefits
from roi_ledger.money.costs import daily_costs
from roi_ledger.money.roi import initiative_roi
from roi_ledger.register import parse_register

CATALOGUE = {m.name: m for m in load_catalogue()}
GO_LIVE = date(2025, 3, 3)  # a Monday


def make_register(initiatives: list[dict], discount_rate: float = 0.0):
    document = {
        "business": {
            "name": "T",
            "currency": "EUR",
            "timezone": "UTC",
            "loaded_hourly_cost": 20.0,
            "discount_rate": discount_rate,
            "values": {"cost_per_order_error": 12.0, "gross_margin": 0.5},
        },
        "initiatives": initiatives,
    }
    return parse_register(yaml.safe_dump(document), "test.yml")


def initiative(**changes) -> dict:
    base = {
        "id": "a",
        "name": "A",
        "status": "live",
        "go_live": GO_LIVE.isoformat(),
        "treated_units": ["u1"],
        "metrics": ["order_error_rate"],
    }
    return {**base, **changes}


def test_monthly_costs_accrue_by_day_and_one_offs_on_their_date():
    reg = make_register(
        [
            initiative(
                costs=[
                    {"kind": "one_off", "amount": 1000, "date": "2025-01-20"},
                    {"kind": "monthly", "amount": 310, "start": "2025-01-15", "end": "2025-02-10"},
                ]
            )
        ]
    )
    costs = daily_costs(reg.initiatives[0], until=date(2025, 12, 31))
    # January: 17 days x 310/31 = 170; February: 10 days x 310/28 = 110.714...; plus 1000
    assert costs["cost"].sum() == pytest.approx(1000 + 170 + 10 * 310 / 28)
    # cut at the run date: nothing after it
    assert daily_costs(reg.initiatives[0], until=date(2025, 1, 31))["cost"].sum() == pytest.approx(1000 + 170)


def weekly_series(
    values: list[float], volume: float, metric: str = "order_error_rate", start: date = GO_LIVE - timedelta(weeks=10)
):
    rows = [
        ("u1", metric, "week", start + timedelta(weeks=i), start + timedelta(weeks=i + 1), v, volume)
        for i, v in enumerate(values)
    ]
    return pl.DataFrame(
        rows, schema=["unit_id", "metric", "period", "period_start", "period_end", "value", "volume"], orient="row"
    )


def test_per_volume_benefit_is_effect_times_volume_times_value():
    reg = make_register([initiative()])
    panel = build_panel(
        reg, reg.initiatives[0], "order_error_rate", weekly_series([0.06] * 10 + [0.04] * 5, volume=500)
    )
    rule, _ = money_rule(CATALOGUE["order_error_rate"], "order_error_rate", reg.business, ["u1"], {})
    primary = {"effect_abs": -0.02, "ci_low": -0.03, "ci_high": 0.01}
    benefits = unit_period_benefits("a", panel, primary, rule)
    # 0.02 fewer errors per order x 500 orders x 12 per error = 120 a week; interval [-60, 180]
    assert benefits.height == 5
    assert benefits["benefit"].to_list() == pytest.approx([120.0] * 5)
    assert benefits["benefit_low"][0] == pytest.approx(-0.01 * 500 * 12)
    assert benefits["benefit_high"][0] == pytest.approx(0.03 * 500 * 12)


def test_per_period_hours_benefit_uses_the_units_own_hourly_cost():
    reg = make_register([initiative(metrics=["hours_invoicing"])])
    definition = definition_of(load_catalogue(), "hours_invoicing")
    series = weekly_series([10.0] * 10 + [5.0] * 3, volume=4, metric="hours_invoicing")
    panel = build_panel(reg, reg.initiatives[0], "hours_invoicing", series)
    rule, _ = money_rule(definition, "hours_invoicing", reg.business, ["u1"], {"u1": 18.5})
    benefits = unit_period_benefits("a", panel, {"effect_abs": -5.0, "ci_low": -6.0, "ci_high": -4.0}, rule)
    assert benefits["benefit"].to_list() == pytest.approx([5 * 18.5] * 3)  # 5 hours a week saved at 18.50
    # without hours data for the unit the business's loaded hourly cost applies
    fallback, _ = money_rule(definition, "hours_invoicing", reg.business, ["u1"], {})
    assert fallback.value("u1") == 20.0


def test_a_named_metric_is_not_mistaken_for_a_template():
    # hours_per_order is its own entry (per order), not hours_{activity} with activity "per_order"
    definition = definition_of(load_catalogue(), "hours_per_order")
    assert definition.name == "hours_per_order" and definition.money.basis == "per_volume"
    assert definition_of(load_catalogue(), "hours_baking").name == "hours_{activity}"


def test_strategic_metrics_have_no_money():
    reg = make_register([initiative()])
    rule, reason = money_rule(CATALOGUE["order_fulfilment_hours"], "order_fulfilment_hours", reg.business, ["u1"], {})
    assert rule is None and "strategic" in reason


def test_shared_claims_split_by_the_business_cases_or_equally():
    reg = make_register(
        [
            initiative(id="a", expected={"changes": {"order_error_rate": -30}}),
            initiative(id="b", expected={"changes": {"order_error_rate": -10}}),
            initiative(id="c", treated_units=["u2"]),
        ]
    )
    week = (date(2025, 4, 7), date(2025, 4, 14))
    benefits = pl.DataFrame(
        [
            ("a", "order_error_rate", "order_errors", "u1", *week, 100.0, 50.0, 150.0),
            ("b", "order_error_rate", "order_errors", "u1", *week, 100.0, 50.0, 150.0),
            ("c", "order_error_rate", "order_errors", "u2", *week, 80.0, 40.0, 120.0),
        ],
        schema=[
            "initiative_id",
            "metric",
            "pool",
            "unit_id",
            "period_start",
            "period_end",
            "benefit",
            "benefit_low",
            "benefit_high",
        ],
        orient="row",
    )
    shared = attribute_shared_claims(benefits, reg).sort("initiative_id")
    assert shared["benefit"].to_list() == pytest.approx([75.0, 25.0, 80.0])  # 30:10 split; c alone
    assert shared["shared_with"].to_list() == ["b", "a", None]
    # together they are counted once
    assert shared.filter(pl.col("unit_id") == "u1")["benefit"].sum() == pytest.approx(100.0)


def test_roi_payback_and_npv_by_hand():
    # 1,000 one-off on go-live day; 100 benefit a week from go-live; run date after 15 weeks.
    reg = make_register(
        [
            initiative(
                costs=[{"kind": "one_off", "amount": 1000, "date": GO_LIVE.isoformat()}],
                expected={"annual_benefit": 10000},
            )
        ]
    )
    weeks = [GO_LIVE + timedelta(weeks=i) for i in range(15)]
    benefits = pl.DataFrame(
        {
            "period_start": weeks,
            "metric": ["order_error_rate"] * 15,
            "benefit": [100.0] * 15,
            "benefit_low": [50.0] * 15,
            "benefit_high": [150.0] * 15,
        }
    )
    as_of = GO_LIVE + timedelta(weeks=15, days=-1)  # the Sunday ending week 15
    row, curve = initiative_roi(reg, reg.initiatives[0], benefits, as_of, "reliable")
    assert row["cost_to_date"] == 1000 and row["benefit_to_date"] == pytest.approx(1500)
    assert row["roi"] == pytest.approx(0.5)  # (1500 - 1000) / 1000
    assert row["benefit_ci_low"] == pytest.approx(750) and row["benefit_ci_high"] == pytest.approx(2250)
    assert (row["roi_ci_low"], row["roi_ci_high"]) == pytest.approx((-0.25, 1.25))
    assert row["payback_date"] == GO_LIVE + timedelta(weeks=9)  # the 10th week brings the total to 1,000
    assert row["annual_run_rate"] == pytest.approx(100 * 365.25 / 7)
    assert row["realisation_rate"] == pytest.approx(100 * 365.25 / 7 / 10000)
    # NPV at 0%: 1,500 realised - 1,000 + the run rate for the rest of 3 years
    remaining_days = (date(2028, 3, 3) - as_of).days
    assert row["npv"] == pytest.approx(1500 - 1000 + 100 / 7 * remaining_days, rel=1e-9)
    assert curve["cumulative_net"].to_list()[-1] == pytest.approx(500)


def test_npv_discounts_by_month_with_month_zero_undiscounted():
    reg = make_register(
        [
            initiative(
                status="retired",
                retired_on="2025-03-30",
                go_live="2025-03-03",
                costs=[{"kind": "one_off", "amount": 1000, "date": "2025-03-03"}],
            )
        ],
        discount_rate=0.12,
    )
    # a single benefit of 1,000 in a week starting in April (month 1), nothing after retirement
    benefits = pl.DataFrame(
        {
            "period_start": [date(2025, 4, 7)],
            "metric": ["order_error_rate"],
            "benefit": [1000.0],
            "benefit_low": [1000.0],
            "benefit_high": [1000.0],
        }
    )
    row, _ = initiative_roi(reg, reg.initiatives[0], benefits, date(2025, 6, 30), None)
    monthly = 1.12 ** (1 / 12) - 1
    assert row["npv"] == pytest.approx(-1000 + 1000 / (1 + monthly))


def test_benefits_of_different_metrics_combine_in_quadrature():
    # Two money pools in one week: 100 [70, 130] and 50 [10, 90]. Together 150, with
    # half-widths sqrt(30^2 + 40^2) = 50 below and sqrt(30^2 + 40^2) = 50 above.
    reg = make_register([initiative(metrics=["order_error_rate", "revenue_per_week"])])
    benefits = pl.DataFrame(
        {
            "period_start": [GO_LIVE, GO_LIVE],
            "metric": ["order_error_rate", "revenue_per_week"],
            "benefit": [100.0, 50.0],
            "benefit_low": [70.0, 10.0],
            "benefit_high": [130.0, 90.0],
        }
    )
    row, _ = initiative_roi(reg, reg.initiatives[0], benefits, GO_LIVE + timedelta(days=6), None)
    assert row["benefit_to_date"] == pytest.approx(150)
    assert (row["benefit_ci_low"], row["benefit_ci_high"]) == pytest.approx((100, 200))
