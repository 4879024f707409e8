"""Phased rollouts: which units are live, which are still to come, and what the later phases
should bring, projected from the effect measured on the earlier ones.

For each phase and each monetary metric of the initiative, the projected annual benefit is the
primary measured effect (per treated unit and week) applied to the phase's units:
per_volume metrics at each unit's mean weekly volume over the last ``VOLUME_WEEKS`` weeks,
per_period metrics once per unit and week, times 365.25 / 7, valued as in the money step
(docs/money.md). Its interval comes from the effect's interval. Units of planned phases are
left out of the estimate (neither treated nor comparison) until they go live.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from roi_ledger.catalogue import MetricDefinition, definition_of
from roi_ledger.money.benefit import money_rule
from roi_ledger.register import Register
from roi_ledger.tables import schema

VOLUME_WEEKS = 13
WEEKS_PER_YEAR = 365.25 / 7


def rollout_phases(
    register: Register,
    series: pl.DataFrame,
    estimates: pl.DataFrame,
    catalogue: list[MetricDefinition],
    as_of: date,
    hourly_cost_by_unit: dict[str, float],
) -> pl.DataFrame:
    """One row per phase of each phased initiative and valued metric (one row without a metric
    when none can be valued): its units, state and projected annual benefit."""
    rows = []
    recent = series.filter(pl.col("period_start") >= as_of - timedelta(weeks=VOLUME_WEEKS))
    for initiative in register.initiatives:
        if initiative.phases is None:
            continue
        live_phases = [p for p in initiative.rollout if p.go_live <= as_of]
        for number, phase in enumerate(initiative.rollout, start=1):
            base = {
                "initiative_id": initiative.id,
                "phase": number,
                "units": ", ".join(phase.units),
                "go_live": phase.go_live,
                "state": "live" if phase.go_live <= as_of else "planned",
                "effect_measured_on": ", ".join(u for p in live_phases for u in p.units) or None,
            }
            valued = False
            for metric in initiative.metrics:
                projection = _projection(
                    register, initiative.id, metric, phase.units, estimates, catalogue, recent, hourly_cost_by_unit
                )
                if projection is not None:
                    rows.append(base | projection)
                    valued = True
            if not valued:
                rows.append(
                    base
                    | {
                        "metric": None,
                        "effect_abs": None,
                        "projected_annual_benefit": None,
                        "projected_annual_benefit_low": None,
                        "projected_annual_benefit_high": None,
                    }
                )
    return pl.DataFrame(rows, schema=PHASE_SCHEMA)


def _projection(
    register: Register,
    initiative_id: str,
    metric: str,
    units: list[str],
    estimates: pl.DataFrame,
    catalogue: list[MetricDefinition],
    recent: pl.DataFrame,
    hourly_cost_by_unit: dict[str, float],
) -> dict | None:
    """The annual benefit the primary effect on ``metric`` projects for ``units``, with its
    interval; None when the metric has no money value or no primary effect."""
    rule, _ = money_rule(definition_of(catalogue, metric), metric, register.business, units, hourly_cost_by_unit)
    primary = estimates.filter(
        (pl.col("initiative_id") == initiative_id) & (pl.col("metric") == metric) & pl.col("is_primary")
    )
    if rule is None or primary.is_empty() or primary["effect_abs"][0] is None:
        return None
    row = primary.row(0, named=True)
    per_year = 0.0
    for unit in units:
        if rule.value(unit) is None:
            continue
        volume = recent.filter((pl.col("metric") == metric) & (pl.col("unit_id") == unit))["volume"].mean() or 0.0
        quantity = volume / rule.scale if rule.basis == "per_volume" else 1.0
        per_year += quantity * rule.value(unit) * WEEKS_PER_YEAR
    ends = sorted(
        rule.sign * (row[c] if row[c] is not None else row["effect_abs"]) * per_year for c in ("ci_low", "ci_high")
    )
    return {
        "metric": metric,
        "effect_abs": row["effect_abs"],
        "projected_annual_benefit": rule.sign * row["effect_abs"] * per_year,
        "projected_annual_benefit_low": ends[0],
        "projected_annual_benefit_high": ends[1],
    }


PHASE_SCHEMA = schema("rollout_phases")  # the published columns and types (its mart yml)
