"""The money step end to end: effects and grades in, benefit, ROI and curves out."""

from __future__ import annotations

from datetime import date

import polars as pl

from roi_ledger.catalogue import MetricDefinition, MetricTraits, definition_of
from roi_ledger.effects.panel import build_panel
from roi_ledger.money.benefit import (
    BENEFIT_SCHEMA,
    attribute_shared_claims,
    money_rule,
    unit_period_benefits,
)
from roi_ledger.money.roi import choose_counted_metrics, initiative_roi
from roi_ledger.register import Register
from roi_ledger.tables import schema

METRIC_MONEY_SCHEMA = schema("initiative_metric_money")  # the published columns and types (its mart yml)


def compute_money(
    register: Register,
    series: pl.DataFrame,
    estimates: pl.DataFrame,
    grades: pl.DataFrame,
    *,
    catalogue: list[MetricDefinition],
    traits: dict[str, MetricTraits],
    as_of: date,
    hourly_cost_by_unit: dict[str, float],
) -> dict[str, pl.DataFrame]:
    """``initiative_roi`` (one row per live or retired initiative), ``initiative_roi_periods``
    (its weekly curve) and ``initiative_metric_money`` (what each metric contributed, and
    why a metric was not counted)."""
    by_metric = {key[0]: frame for key, frame in series.partition_by("metric", as_dict=True).items()}
    grade_of = {(r["initiative_id"], r["metric"]): r["grade"] for r in grades.iter_rows(named=True)}
    benefits, unvalued = _valued_benefits(
        register, by_metric, estimates, catalogue=catalogue, traits=traits, hourly_cost_by_unit=hourly_cost_by_unit
    )
    summary = _metric_summary(benefits, grade_of)
    counted = summary.filter(pl.col("counted")).select("initiative_id", "metric")
    metric_money = pl.concat(
        [
            summary.select(list(METRIC_MONEY_SCHEMA)).cast(METRIC_MONEY_SCHEMA),
            pl.DataFrame(
                unvalued,
                schema={
                    k: METRIC_MONEY_SCHEMA[k] for k in ("initiative_id", "metric", "pool", "valued", "value_source")
                },
            )
            .with_columns(
                pl.lit(False).alias("counted"),
                pl.lit(None, dtype=pl.String).alias("shared_with"),
                *[pl.lit(None, dtype=pl.Float64).alias(c) for c in ("share", "benefit", "benefit_low", "benefit_high")],
            )
            .select(list(METRIC_MONEY_SCHEMA)),
        ]
    ).sort("initiative_id", "metric")

    counted_benefits = benefits.join(counted, on=["initiative_id", "metric"], how="semi")
    rows, curves = _initiative_rois(register, counted_benefits, as_of, grade_of)
    return {
        "initiative_roi": pl.DataFrame(rows, schema=ROI_SCHEMA),
        "initiative_roi_periods": pl.concat(curves).select(list(CURVE_SCHEMA)).cast(CURVE_SCHEMA)
        if curves
        else pl.DataFrame(schema=CURVE_SCHEMA),
        "initiative_metric_money": metric_money,
    }


def _valued_benefits(
    register: Register,
    by_metric: dict[str, pl.DataFrame],
    estimates: pl.DataFrame,
    *,
    catalogue: list[MetricDefinition],
    traits: dict[str, MetricTraits],
    hourly_cost_by_unit: dict[str, float],
) -> tuple[pl.DataFrame, list[dict]]:
    """(the benefit of each initiative, metric, unit and period, shared claims attributed; the
    metrics that cannot be valued, each with its reason)."""
    benefit_parts, unvalued = [], []
    for initiative in register.measured_initiatives:
        for metric in initiative.metrics:
            definition = definition_of(catalogue, metric)
            rule, source = money_rule(
                definition, metric, register.business, initiative.all_treated_units, hourly_cost_by_unit
            )
            primary = estimates.filter(
                (pl.col("initiative_id") == initiative.id) & (pl.col("metric") == metric) & pl.col("is_primary")
            )
            panel = (
                build_panel(register, initiative, metric, by_metric[metric], traits) if metric in by_metric else None
            )
            if rule is None or primary.is_empty() or panel is None:
                reason = source if rule is None else "no primary estimate"
                unvalued.append(
                    {
                        "initiative_id": initiative.id,
                        "metric": metric,
                        "pool": None,
                        "valued": False,
                        "value_source": reason,
                    }
                )
                continue
            part = unit_period_benefits(initiative.id, panel, primary.row(0, named=True), rule)
            benefit_parts.append(part.with_columns(pl.lit(source).alias("value_source")))
    benefits = (
        pl.concat(benefit_parts)
        if benefit_parts
        else pl.DataFrame(schema={**BENEFIT_SCHEMA, "value_source": pl.String})
    )
    return attribute_shared_claims(benefits, register), unvalued


def _metric_summary(benefits: pl.DataFrame, grade_of: dict) -> pl.DataFrame:
    """The benefit of each initiative and valued metric over the whole period, and whether it is
    counted in the initiative's ROI."""
    summary = benefits.group_by("initiative_id", "metric", "pool", "value_source").agg(
        pl.col("benefit", "benefit_low", "benefit_high").sum(),
        pl.col("share").min(),
        pl.col("shared_with").drop_nulls().first(),
    )
    return choose_counted_metrics(summary, grade_of).with_columns(pl.lit(True).alias("valued"))


def _initiative_rois(
    register: Register, counted_benefits: pl.DataFrame, as_of: date, grade_of: dict
) -> tuple[list[dict], list[pl.DataFrame]]:
    """(each measured initiative's ROI row; the weekly curves of those that have one)."""
    rows, curves = [], []
    for initiative in register.measured_initiatives:
        row, curve = initiative_roi(
            register,
            initiative,
            counted_benefits.filter(pl.col("initiative_id") == initiative.id),
            as_of,
            grade_of.get((initiative.id, None)),
        )
        rows.append(row)
        if curve.height:
            curves.append(curve)
    return rows, curves


ROI_SCHEMA = schema("initiative_roi")  # the published columns and types (its mart yml)
CURVE_SCHEMA = schema("initiative_roi_periods")  # the published columns and types (its mart yml)
