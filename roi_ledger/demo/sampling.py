"""Drawing the demo's records (orders, tickets, time-sheet entries, defects, KPI readings)
from the expected values of its world, one numpy stream per dataset."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from roi_ledger.demo.world import (
    ABSENCE_RATE,
    ACTIVITIES,
    CATERING,
    CSAT_MISSING,
    CUSTOMER_LOYALTY_SKEW,
    ENTRY_HOURS_SIGMA,
    KINDS,
    MISSING_HOURLY_COST,
    REFUND_BASE,
    REFUND_IF_ERROR,
    REOPEN_RATE,
    SHOP,
    UNIT_IDS,
    UNITS,
    WEBSHOP,
    YEARLY_PAY_RISE,
    _Calendar,
    _Expected,
    _World,
)

# --- Sampling records from the expected values ------------------------------------------


def _timestamps(cal: _Calendar, day: np.ndarray, clock_hours: np.ndarray) -> np.ndarray:
    seconds = np.floor(clock_hours * 3600).astype(np.int64)
    return _skip_dst_gap(cal.days[day].astype("datetime64[s]") + seconds.astype("timedelta64[s]"))


def _skip_dst_gap(ts: np.ndarray) -> np.ndarray:
    """Move naive times in the spring-forward hour (01:00-02:00 on the last Sunday of March,
    which never happens on a London clock) one hour later, as a clock would show them."""
    years = np.unique(ts[~np.isnat(ts)].astype("datetime64[Y]").astype(np.int64) + 1970)
    gaps = []
    for year in years:
        march_31 = date(int(year), 3, 31)
        last_sunday = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
        gaps.append(np.datetime64(last_sunday, "h") + 1)
    in_gap = np.isin(ts.astype("datetime64[h]"), np.array(gaps, dtype="datetime64[h]"))
    return np.where(in_gap, ts + np.timedelta64(3600, "s"), ts)


def _after(start: np.ndarray, duration_hours: np.ndarray) -> np.ndarray:
    seconds = np.round(duration_hours * 3600).astype(np.int64)
    return _skip_dst_gap(start + seconds.astype("timedelta64[s]"))


def _lognormal(
    rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray | float
) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(np.shape(median)))


def _draw_records(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts per (unit, period) cell, expanded to one (unit, period) pair per record."""
    counts = rng.poisson(expected)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    return np.divmod(flat, expected.shape[1])


def _ids(prefix: str, n: int, width: int) -> pl.Expr:
    return pl.lit(prefix) + pl.int_range(1, n + 1).cast(pl.String).str.zfill(width)


def _extract_cutoff(cal: _Calendar) -> np.datetime64:
    """The data were extracted at midnight after the last day: later events are not known yet."""
    return np.datetime64(cal.end + timedelta(days=1), "s")


def _order_clock(rng: np.random.Generator, u: np.ndarray) -> np.ndarray:
    """Local clock hour of each order: shops peak at breakfast and lunch, the webshop in the
    evening. Draws outside a unit's order hours are redrawn evenly inside them, so no orders
    pile up at opening or closing time."""
    n = u.size
    kind = np.array([un.kind for un in UNITS])[u]
    pick = rng.random(n)
    shop = np.where(pick < 0.55, rng.normal(8.75, 1.0, n), rng.normal(12.75, 1.5, n))
    catering = rng.uniform(8.0, 17.0, n)
    web = np.where(pick < 0.6, rng.normal(12.5, 2.5, n), rng.normal(20.5, 1.3, n))
    clock = np.select([kind == SHOP, kind == CATERING], [shop, catering], web)
    opens, closes = (np.array([KINDS[un.kind].order_hours[i] for un in UNITS])[u] for i in (0, 1))
    inside = (clock >= opens) & (clock < closes)
    return np.where(inside, clock, opens + (closes - opens) * rng.random(n))


def _sample_orders(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    cal = world.cal
    u, d = _draw_records(rng, x.orders)
    n = u.size
    ordered_at = _timestamps(cal, d, _order_clock(rng, u))

    has_error = rng.random(n) < x.error_p[u, d]
    cancelled = rng.random(n) < world.per_unit("cancel_rate")[u]
    refunded = ~cancelled & (rng.random(n) < REFUND_BASE + REFUND_IF_ERROR * has_error)
    status = np.where(cancelled, "cancelled", np.where(refunded, "refunded", "completed"))
    amount = np.maximum(
        np.round(_lognormal(rng, x.amount_median[u, d], world.per_unit("amount_sigma")[u]), 2), 0.5
    )

    fulfil_hours = _lognormal(rng, x.fulfil_median[u, d], world.per_unit("fulfil_sigma")[u])
    fulfilled_at = _after(ordered_at, fulfil_hours)
    unrecorded = (np.array([un.kind for un in UNITS])[u] == WEBSHOP) & (rng.random(n) < 0.01)
    fulfilled_at[cancelled | unrecorded | (fulfilled_at > _extract_cutoff(cal))] = np.datetime64(
        "NaT"
    )

    customer, known = _customers(world, rng, u)
    order = np.lexsort((u, ordered_at))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[u],
            "ordered_at": ordered_at.astype("datetime64[us]"),
            "fulfilled_at": fulfilled_at.astype("datetime64[us]"),
            "amount": amount,
            "status": status,
            "has_error": has_error,
            "_customer": np.where(known, customer, -1),
        }
    )[order]
    number = pl.col("_customer").cast(pl.String)
    return frame.select(
        _ids("O", n, 7).alias("order_id"),
        "unit_id",
        "ordered_at",
        "fulfilled_at",
        "amount",
        "status",
        "has_error",
        pl.when(pl.col("_customer") > 0)
        .then(pl.lit("C") + number.str.zfill(6))
        .alias("customer_id"),
        # An extra column, as real exports have: ROI Ledger never reads it.
        pl.when(pl.col("_customer") > 0).then(pl.lit("Customer ") + number).alias("customer_name"),
    )


def _customers(
    world: _World, rng: np.random.Generator, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A finite customer pool per unit; regulars (low numbers) order most often."""
    weekly = np.array([un.orders_per_week for un in UNITS])
    pool = np.maximum(
        20, np.round(world.per_unit("customers_per_weekly_order") * weekly * world.scale)
    ).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(pool)[:-1]])
    index = np.floor(pool[u] * rng.random(u.size) ** CUSTOMER_LOYALTY_SKEW).astype(np.int64)
    known = rng.random(u.size) < world.per_unit("known_customer_share")[u]
    return offset[u] + index + 1, known


def _sample_tickets(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    cal = world.cal
    u, d = _draw_records(rng, x.tickets)
    n = u.size
    is_web = np.array([un.kind == WEBSHOP for un in UNITS])[u]
    opened_at = _timestamps(
        cal, d, np.where(is_web, rng.uniform(7.0, 23.0, n), rng.uniform(8.0, 19.0, n))
    )

    resolution_hours = _lognormal(rng, x.resolution_median[u, d], 0.8)
    response_minutes = np.minimum(
        _lognormal(rng, x.first_response_median[u, d], 0.9), 0.9 * resolution_hours * 60
    )
    first_response_at = _after(opened_at, response_minutes / 60)
    resolved_at = _after(opened_at, resolution_hours)
    unanswered = rng.random(n) < 0.02
    unresolved = unanswered | (rng.random(n) < 0.01) | (resolved_at > _extract_cutoff(cal))
    first_response_at[unanswered | (first_response_at > _extract_cutoff(cal))] = np.datetime64(
        "NaT"
    )
    resolved_at[unresolved] = np.datetime64("NaT")
    reopened = ~unresolved & (rng.random(n) < REOPEN_RATE)

    # Satisfaction falls with slow resolution and reopened tickets; many customers never rate.
    slowness = np.log(resolution_hours / x.resolution_median[u, d]) / 0.8
    score = np.round(4.1 - 0.5 * slowness - 0.8 * reopened + rng.normal(0.0, 0.8, n)).clip(1, 5)
    csat = np.where(unresolved | (rng.random(n) < CSAT_MISSING), np.nan, score)

    order = np.lexsort((u, opened_at))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[u],
            "opened_at": opened_at.astype("datetime64[us]"),
            "first_response_at": first_response_at.astype("datetime64[us]"),
            "resolved_at": resolved_at.astype("datetime64[us]"),
            "reopened": reopened,
            "csat": pl.Series(csat, nan_to_null=True).cast(pl.Int64),
        }
    )[order]
    return frame.select(_ids("T", n, 6).alias("ticket_id"), pl.all())


def _sample_hours(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    """One entry per employee, working day and activity; absences leave the day empty."""
    staff, cal = world.staff, world.cal
    planned = x.hours / (1 - ABSENCE_RATE)
    present = rng.random(planned.shape[:2]) >= ABSENCE_RATE
    s, d, a = np.nonzero((planned > 0) & present[:, :, None])
    n = s.size
    noise = np.exp(rng.normal(-0.5 * ENTRY_HOURS_SIGMA**2, ENTRY_HOURS_SIGMA, n))  # mean 1
    exact = np.minimum(planned[s, d, a] * noise, 24.0)

    changed = d >= staff.change_day[s]
    employee = np.where(changed, staff.next_id[s], staff.first_id[s])
    rate = _hourly_rates(world)[s, d]
    hourly_cost = np.where(rng.random(n) < MISSING_HOURLY_COST, np.nan, np.round(rate, 2))

    # Time sheets record hundredths of an hour. Round up or down at random, in proportion to
    # the remainder, so each entry's expected hours stay exactly its planned hours: rounding to
    # the nearest hundredth (and flooring at 0.01) is biased for the tiny entries of small
    # scales, and truth.csv is computed from the unrounded expected hours. An entry that rounds
    # to 0 is not booked. (Drawn last, so the draws above do not depend on it.)
    cents = np.floor(exact * 100 + rng.random(n)) / 100
    booked = cents > 0
    s, d, a, employee = s[booked], d[booked], a[booked], employee[booked]
    hours, hourly_cost, n = cents[booked], hourly_cost[booked], int(booked.sum())

    order = np.lexsort((a, employee, staff.unit[s], d))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[staff.unit[s]],
            "_employee": employee,
            "work_date": cal.days[d],
            "activity": np.array(ACTIVITIES)[a],
            "hours": hours,
            "hourly_cost": pl.Series(hourly_cost, nan_to_null=True),
        }
    )[order]
    return frame.select(
        _ids("H", n, 7).alias("entry_id"),
        "unit_id",
        (pl.lit("E") + pl.col("_employee").cast(pl.String).str.zfill(3)).alias("employee_id"),
        "work_date",
        "activity",
        "hours",
        "hourly_cost",
    )


def _hourly_rates(world: _World) -> np.ndarray:
    """(S, D) hourly cost of each staff slot's holder on each day: a replacement earns 3% more,
    and everyone gets the yearly pay rise on 1 April."""
    staff, cal = world.staff, world.cal
    changed = np.arange(cal.n_days)[None, :] >= staff.change_day[:, None]
    pay_rise = YEARLY_PAY_RISE ** _pay_rises(cal)
    return staff.rate[:, None] * np.where(changed, 1.03, 1.0) * pay_rise[None, :]


def _pay_rises(cal: _Calendar) -> np.ndarray:
    """(D,) number of 1 April pay rises since the start of the period."""
    code = cal.month_day_code()
    return np.cumsum((code == 401) & (np.arange(cal.n_days) > 0))


def _sample_defects(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    """Weekly Poisson counts of defect events per unit, in proportion to the orders."""
    cal = world.cal
    not_cancelled = x.orders * (1 - world.per_unit("cancel_rate")[:, None])
    events = (
        cal.weekly_sum(not_cancelled) * world.per_unit("defects_per_1000_orders")[:, None] / 1000
    )
    u, w = _draw_records(rng, events)
    n = u.size
    workdays = np.where(np.array([KINDS[un.kind].staff_days == "rota" for un in UNITS])[u], 7, 5)
    day = w * 7 + np.floor(rng.random(n) * workdays).astype(np.int64)
    detected_at = _timestamps(cal, day, rng.uniform(6.0, 18.0, n))
    units_affected = 1 + rng.poisson(world.per_unit("defect_units")[u] - 1)
    cost = np.round(
        units_affected * world.per_unit("defect_unit_cost")[u] * np.exp(rng.normal(0.0, 0.25, n)), 2
    )
    cost = np.where(rng.random(n) < 0.1, np.nan, cost)

    order = np.lexsort((u, detected_at))
    frame = pl.DataFrame(
        {
            "unit_id": np.array(UNIT_IDS)[u],
            "detected_at": detected_at.astype("datetime64[us]"),
            "units_affected": units_affected,
            "cost": pl.Series(cost, nan_to_null=True),
        }
    )[order]
    return frame.select(_ids("D", n, 5).alias("defect_id"), pl.all())


def _sample_kpis(world: _World, x: _Expected, rng: np.random.Generator) -> pl.DataFrame:
    """Monthly staff satisfaction for every unit, quarterly scrap rate for the shops."""
    cal = world.cal
    months = cal.month_starts
    satisfaction = np.round(
        np.clip(x.satisfaction + rng.normal(0.0, 0.2, x.satisfaction.shape), 1, 10), 1
    )
    frames = [
        pl.DataFrame(
            {
                "unit_id": np.repeat(np.array(UNIT_IDS), months.size),
                "period_start": np.tile(months, len(UNITS)),
                "metric": "staff_satisfaction",
                "value": satisfaction.ravel(),
            }
        )
    ]
    shops = [un for un in UNITS if un.kind == SHOP]
    quarters = cal.quarter_starts
    fourth = (quarters.astype("datetime64[M]").astype(np.int64) % 12) == 9
    scrap = np.array([un.scrap_rate for un in shops])[:, None] + 0.008 * fourth[None, :]
    scrap = np.round(np.clip(scrap + rng.normal(0.0, 0.004, scrap.shape), 0.0, None), 4)
    frames.append(
        pl.DataFrame(
            {
                "unit_id": np.repeat(np.array([un.id for un in shops]), quarters.size),
                "period_start": np.tile(quarters, len(shops)),
                "metric": "scrap_rate",
                "value": scrap.ravel(),
            }
        )
    )
    return pl.concat(frames).sort("unit_id", "metric", "period_start")


