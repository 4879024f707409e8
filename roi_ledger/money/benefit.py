"""Benefit: the primary effect times the treated units' volume (or unit-periods) times what a
unit of the metric is worth.

For each treated unit-period in the after window (ramp-up left out, as in the estimate):

- ``per_volume`` metrics: benefit = sign x effect x volume / scale x value
  (an error-rate drop of 0.02 on 500 orders at 12 per error = 120);
- ``per_period`` metrics: benefit = sign x effect x value
  (5 fewer invoicing hours in a week at 18.50 an hour = 92.50).

``sign`` is +1 when the metric's good direction is up and -1 when it is down, so a benefit is
positive when the metric moved the good way. The interval is the effect's interval pushed
through the same linear formula (volumes are observed, not estimated), so an effect whose
interval crosses zero gives a benefit interval that crosses zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from roi_ledger.catalogue import MetricDefinition
from roi_ledger.effects.panel import POST, Panel
from roi_ledger.register import Business, Register

BENEFIT_SCHEMA = {
    "initiative_id": pl.String,
    "metric": pl.String,
    "pool": pl.String,
    "unit_id": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "benefit": pl.Float64,
    "benefit_low": pl.Float64,
    "benefit_high": pl.Float64,
}


@dataclass(frozen=True)
class MoneyRule:
    """How a change in one metric becomes money, for one initiative's treated units."""

    metric: str
    pool: str
    basis: str  # per_volume | per_period
    sign: float
    scale: float
    value_by_unit: dict[str, float]  # currency per unit of the metric, by treated unit
    value_source: str  # how the value was set, for the reader

    def value(self, unit: str) -> float | None:
        return self.value_by_unit.get(unit)


def money_rule(
    definition: MetricDefinition | None,
    metric: str,
    business: Business,
    units: list[str],
    hourly_cost_by_unit: dict[str, float],
) -> tuple[MoneyRule | None, str]:
    """The rule for ``metric``, or None with the reason it has no money value."""
    if definition is None or definition.money.kind == "none":
        return None, "strategic metric: no money value (reported, not summed)"
    money = definition.money
    values = business.values
    if money.kind == "hours":
        fallback = business.loaded_hourly_cost
        by_unit = {u: hourly_cost_by_unit.get(u, fallback) for u in units}
        by_unit = {u: v for u, v in by_unit.items() if v is not None}
        source = "hourly cost from the hours data, else business.loaded_hourly_cost"
    else:
        value, source = {
            "order_errors": (values.cost_per_order_error, "business.values.cost_per_order_error"),
            "defect_units": (values.cost_per_defect_unit, "business.values.cost_per_defect_unit"),
            "revenue": (values.gross_margin, "business.values.gross_margin"),
            "fixed": (money.value_per_unit, "the catalogue's value_per_unit"),
        }[money.kind]
        by_unit = {} if value is None else {u: float(value) for u in units}
    if not by_unit:
        return None, f"no money value: set {source}"
    return (
        MoneyRule(
            metric=metric,
            pool=money.pool or metric,
            basis=money.basis or "per_period",
            sign=1.0 if definition.good_direction == "up" else -1.0,
            scale=definition.scale if definition.aggregation == "ratio" else 1.0,
            value_by_unit=by_unit,
            value_source=source,
        ),
        source,
    )


def unit_period_benefits(initiative_id: str, panel: Panel, primary: dict, rule: MoneyRule) -> pl.DataFrame:
    """Benefit with its interval for every treated unit-period of the after window."""
    post = panel.treated.filter(pl.col("window") == POST)
    if post.is_empty() or primary.get("effect_abs") is None:
        return pl.DataFrame(schema=BENEFIT_SCHEMA)
    values = pl.DataFrame(
        {"unit_id": list(rule.value_by_unit), "unit_value": list(rule.value_by_unit.values())},
        schema={"unit_id": pl.String, "unit_value": pl.Float64},
    )
    quantity = pl.col("volume") / rule.scale if rule.basis == "per_volume" else pl.lit(1.0)
    low = primary["ci_low"] if primary.get("ci_low") is not None else primary["effect_abs"]
    high = primary["ci_high"] if primary.get("ci_high") is not None else primary["effect_abs"]
    ends = [rule.sign * primary["effect_abs"], rule.sign * low, rule.sign * high]
    per_unit = quantity * pl.col("unit_value")
    return (
        post.join(values, on="unit_id", how="inner")
        .select(
            pl.lit(initiative_id).alias("initiative_id"),
            pl.lit(rule.metric).alias("metric"),
            pl.lit(rule.pool).alias("pool"),
            "unit_id",
            "period_start",
            "period_end",
            (per_unit * ends[0]).alias("benefit"),
            (per_unit * min(ends[1:])).alias("benefit_low"),
            (per_unit * max(ends[1:])).alias("benefit_high"),
        )
        .fill_null(0.0)
    )


def attribute_shared_claims(benefits: pl.DataFrame, register: Register) -> pl.DataFrame:
    """No double counting: where several initiatives claim the same metric on the same unit
    and period, they share that benefit.

    Their estimates on such unit-periods measure the joint effect, so counting each in full
    would count it twice. Shares follow the business cases' expected changes for that metric
    when every claimant has one, else they are equal. Adds ``share`` and ``shared_with``.
    """
    if benefits.is_empty():
        return benefits.with_columns(pl.lit(1.0).alias("share"), pl.lit(None, dtype=pl.String).alias("shared_with"))
    expected = pl.DataFrame(
        [
            {
                "initiative_id": i.id,
                "metric": m,
                "expected": abs((i.expected.changes if i.expected else {}).get(m, 0.0)) or None,
            }
            for i in register.initiatives
            for m in i.metrics
        ],
        schema={"initiative_id": pl.String, "metric": pl.String, "expected": pl.Float64},
    )
    keys = ["metric", "unit_id", "period_start"]
    claims = benefits.join(expected, on=["initiative_id", "metric"], how="left").with_columns(
        pl.len().over(keys).alias("claimants"),
        pl.col("expected").is_null().any().over(keys).alias("some_without_case"),
        pl.col("expected").sum().over(keys).alias("expected_total"),
        pl.col("initiative_id").implode().over(keys).alias("claimant_ids"),
    )
    share = (
        pl.when(pl.col("claimants") == 1)
        .then(1.0)
        .when(pl.col("some_without_case") | (pl.col("expected_total") == 0))
        .then(1.0 / pl.col("claimants"))
        .otherwise(pl.col("expected") / pl.col("expected_total"))
    )
    return (
        claims.with_columns(share.alias("share"))
        .with_columns((pl.col(c) * pl.col("share")).alias(c) for c in ("benefit", "benefit_low", "benefit_high"))
        .with_columns(
            pl.when(pl.col("claimants") > 1)
            .then(
                pl.col("claimant_ids")
                .list.set_difference(pl.concat_list(pl.col("initiative_id")))
                .list.sort()
                .list.join(", ")
            )
            .alias("shared_with")
        )
        .drop("expected", "claimants", "some_without_case", "expected_total", "claimant_ids")
    )
