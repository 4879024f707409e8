"""The demo's answer key (``truth.csv``): the planted effects and their money, computed from
the expected values of the world (not from the drawn records), in each metric's own units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from roi_ledger.demo.sampling import (
    _hourly_rates,
)
from roi_ledger.demo.world import (
    _TRUTH,
    ACTIVITIES,
    BUSINESS_VALUES,
    LOADED_HOURLY_COST,
    UNIT_IDS,
    UNITS,
    _completed_p,
    _Expected,
    _expected,
    _TruthSpec,
    _World,
)

# --- Truth -----------------------------------------------------------------------------


def _metric_series(world: _World, x: _Expected, metric: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Expected metric per unit and period: (values (U, P), period starts, period length in days).

    Weekly medians are taken as the volume-weighted mean of the daily medians: exact in the
    after windows, where the daily medians of a week are equal.
    """
    cal = world.cal
    weeks = (cal.week_starts, 7)
    not_cancelled = x.orders * (1 - world.per_unit("cancel_rate")[:, None])
    completed = x.orders * _completed_p(world, x.error_p)
    if metric == "order_error_rate":
        return cal.weekly_mean(x.error_p, not_cancelled), *weeks
    if metric == "order_fulfilment_hours":
        return cal.weekly_mean(x.fulfil_median, not_cancelled), *weeks
    if metric == "revenue_per_week":
        mean_amount = x.amount_median * np.exp(world.per_unit("amount_sigma")[:, None] ** 2 / 2)
        return cal.weekly_sum(completed * mean_amount), *weeks
    if metric == "hours_per_order":
        hours, orders = (
            cal.weekly_sum(world.unit_hours(x.hours.sum(axis=2))),
            cal.weekly_sum(completed),
        )
        return np.divide(hours, orders, out=np.full(hours.shape, np.nan), where=orders > 0), *weeks
    if metric.startswith("hours_") and metric.removeprefix("hours_") in ACTIVITIES:
        a = ACTIVITIES.index(metric.removeprefix("hours_"))
        return cal.weekly_sum(world.unit_hours(x.hours[:, :, a])), *weeks
    if metric == "ticket_resolution_hours":
        return cal.weekly_mean(x.resolution_median, x.tickets), *weeks
    if metric == "ticket_first_response_minutes":
        return cal.weekly_mean(x.first_response_median, x.tickets), *weeks
    if metric == "staff_satisfaction":
        return x.satisfaction, cal.month_starts, 31
    raise ValueError(f"no truth for metric {metric!r}")


def _metric_volume(world: _World, x: _Expected, metric: str) -> np.ndarray:
    """(U, W) expected weekly volume of a per_volume metric: what the catalogue's ``volume``
    counts (non-cancelled orders for the error rate, completed orders for hours per order)."""
    cal = world.cal
    if metric == "order_error_rate":
        return cal.weekly_sum(x.orders * (1 - world.per_unit("cancel_rate")[:, None]))
    if metric == "hours_per_order":
        return cal.weekly_sum(x.orders * _completed_p(world, x.error_p))
    raise ValueError(f"no volume for metric {metric!r}")


@dataclass(frozen=True)
class _MoneyRule:
    """How the money step values a change in one metric (catalogue/metrics.yml's ``money``)."""

    basis: str  # per_volume: effect x volume / scale x value; per_period: effect x value
    sign: float  # +1 if the metric's good direction is up, -1 if down
    value: str  # a key of BUSINESS_VALUES, or "hourly_cost" (the unit's from the time sheets)
    scale: float = 1.0  # ratio metrics only


def _money_rule(metric: str) -> _MoneyRule | None:
    """The catalogue's money rule for the metrics truth.csv covers; None: no money value
    (fulfilment and ticket times, KPIs). Kept here rather than read from the catalogue so that
    truth.csv stays an answer key independent of ROI Ledger's code; a test checks they agree."""
    if metric == "order_error_rate":
        return _MoneyRule("per_volume", -1.0, "cost_per_order_error")
    if metric == "revenue_per_week":
        return _MoneyRule("per_period", 1.0, "gross_margin")
    if metric == "hours_per_order":
        return _MoneyRule("per_volume", -1.0, "hourly_cost")
    if metric.startswith("hours_") and metric.removeprefix("hours_") in ACTIVITIES:
        return _MoneyRule("per_period", -1.0, "hourly_cost")
    return None


def _unit_hourly_cost(world: _World, x: _Expected) -> np.ndarray:
    """(U,) each unit's hours-weighted hourly cost over the whole period, from the expected
    hours and the rates the time sheets are drawn with: what the money step takes from the
    hours data (sum(hours x hourly_cost) / sum(hours))."""
    hours = x.hours.sum(axis=2)  # (S, D)
    paid = world.unit_hours(hours * _hourly_rates(world)).sum(axis=1)
    worked = world.unit_hours(hours).sum(axis=1)
    return np.divide(
        paid, worked, out=np.full(worked.shape, LOADED_HOURLY_COST), where=worked > 0
    )


def _true_benefit(
    world: _World,
    with_all: _Expected,
    effect: np.ndarray,
    metric: str,
    mask: np.ndarray,
) -> float | None:
    """Money value of ``effect`` ((U, P) with-minus-without metric values) over the unit-periods
    in ``mask``, by the money step's convention; None for a metric without money."""
    rule = _money_rule(metric)
    if rule is None:
        return None
    if rule.value == "hourly_cost":
        value = _unit_hourly_cost(world, with_all)
    else:
        value = np.full(len(UNITS), BUSINESS_VALUES[rule.value])
    if rule.basis == "per_volume":
        volume = _metric_volume(world, with_all, metric)
        quantity = np.where(volume > 0, volume / rule.scale, 0.0)
        effect = np.where(volume > 0, effect, 0.0)  # no volume: no ratio, no money
    else:
        quantity = np.ones(effect.shape)
    weekly = rule.sign * effect * quantity * value[:, None]
    return round(float(weekly[mask].sum()), 2) + 0.0  # + 0.0: no "-0.0" for a zero effect


def _after_window(
    world: _World, spec: _TruthSpec, starts: np.ndarray, length_days: int
) -> tuple[np.ndarray, list[str]]:
    """(U, P) bool: treated unit-periods that start on or after go-live + ramp-up (the later
    one of the initiatives) and, for a retired initiative, end by the retirement day."""
    rollouts = [world.rollouts[i] for i in spec.initiatives]
    units = [u for u in UNIT_IDS if all(u in r.go_live for r in rollouts)]
    mask = np.zeros((len(UNITS), starts.size), dtype=bool)
    for unit in units:
        after = np.datetime64(max(r.after_start(unit) for r in rollouts))
        inside = starts >= after
        for r in rollouts:
            if r.retired_on is not None:
                inside &= starts + np.timedelta64(length_days, "D") <= np.datetime64(r.retired_on)
        mask[UNIT_IDS.index(unit)] = inside
    return mask, units


def _truth(world: _World) -> pl.DataFrame:
    """truth.csv: for each planted row, the mean over the treated unit-periods of the after
    window of (expected metric with every initiative - expected metric without the row's
    initiatives), and the mean of the latter (the baseline). Expected values, not draws;
    a ratio metric is the ratio of expected sums. ``true_benefit`` is that difference in money,
    summed over the same unit-periods (see the module docstring and ``_true_benefit``)."""
    everything = frozenset(world.rollouts)
    with_all = _expected(world, everything)
    rows = []
    for spec in _TRUTH:
        without = _expected(world, everything - set(spec.initiatives))
        observed, starts, length = _metric_series(world, with_all, spec.metric)
        counterfactual, _, _ = _metric_series(world, without, spec.metric)
        mask, units = _after_window(world, spec, starts, length)
        effect = observed - counterfactual
        rows.append(
            {
                "initiative_id": spec.row_id,
                "metric": spec.metric,
                "true_effect_abs": round(float(np.mean(effect[mask])), 6),
                "baseline": round(float(np.mean(counterfactual[mask])), 6),
                "true_benefit": _true_benefit(world, with_all, effect, spec.metric, mask),
                "units": ";".join(units),
                "note": spec.note,
            }
        )
    return pl.DataFrame(rows, schema_overrides={"true_benefit": pl.Float64})


