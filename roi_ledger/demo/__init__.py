"""The demo business: Crumb & Co, a bakery whose initiatives have known, planted effects.

Why this exists: ROI Ledger's estimates can only be trusted if they recover effects we know.
This module simulates three years of a small bakery's operational data (orders, support
tickets, time sheets, defects, KPIs) from *latent expected values*, lets a set of automation
initiatives change those expected values by planted amounts, and writes three things:

- ``data/``: the datasets of the data contract (``roi_ledger.contract``), as a business would
  hand them over;
- ``initiatives.yml``: the initiative register, commented so it doubles as the example of
  the format;
- ``truth.csv``: the planted effects, computed from the expected values (not from the noisy
  draws), in each metric's own units as defined in ``catalogue/metrics.yml``. Columns:
  ``initiative_id`` (a ``joint:<a>+<b>`` row is the joint effect of two initiatives on the
  same metric and units), ``metric``, ``true_effect_abs`` (mean over the treated unit-periods
  of the after window of expected metric with every initiative minus without the row's),
  ``baseline`` (mean of the latter), ``true_benefit``, ``units`` and ``note``.

  ``true_benefit`` is the money the money step (``roi_ledger.money``) should find if it
  measured the effect exactly: the planted effect valued per treated unit-week of the same
  after window (weeks starting on or after go-live + ramp-up and, for a retired initiative,
  ending by the retirement day, up to the end of the data), summed:

  - ``per_volume`` metrics: sign x (with - without) x expected volume / scale x value
    (order_error_rate: non-cancelled orders x ``cost_per_order_error``; hours_per_order:
    completed orders x the unit's hourly cost);
  - ``per_period`` metrics: sign x (with - without) x value (hours_{activity}: hours x the
    unit's hourly cost; revenue_per_week: revenue x ``gross_margin``);

  where sign is +1 when the metric's good direction is up, -1 when down, the money values
  are the register's ``business.values`` and a unit's hourly cost is its hours-weighted mean
  over the whole period, from the expected hours and the rates the time sheets carry. Empty
  for metrics without money (fulfilment and ticket times, KPIs); 0 for a no-effect trap on a
  metric with money; for a ``joint:`` row, the joint benefit (what the money step shares
  between the two in proportion to their expected changes: here 4:3, as planted).

The demo plants clean effects and traps on purpose: an initiative that went live into the
Christmas peak (no effect), one launched right after a transient spike (no effect), two that
went live in the same week on the same metric, a phased rollout, a retired initiative and an
initiative nobody owns.

Everything is drawn from a numpy ``Generator`` seeded by ``seed`` (one independent stream per
dataset), so the same seed always writes the same files. Records are generated with numpy
array operations; Python loops run only over units, initiatives and weeks.
"""


from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from roi_ledger.demo.answer_key import (
    _truth,
)
from roi_ledger.demo.register import (
    _register_text,
)
from roi_ledger.demo.sampling import (
    _sample_defects,
    _sample_hours,
    _sample_kpis,
    _sample_orders,
    _sample_tickets,
)
from roi_ledger.demo.world import (
    DEFAULT_END,
    _build_world,
    _expected,
    _stream,
)

__all__ = ["DEFAULT_END", "DemoBusiness", "generate_demo_business"]


# --- Writing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoBusiness:
    """Where the demo was written; ``as_of`` is the last day of its data."""

    root: Path
    data_dir: Path
    config_path: Path
    truth_path: Path
    as_of: date


_CSV = {"datetime_format": "%Y-%m-%d %H:%M:%S", "date_format": "%Y-%m-%d"}


def _write_hours(hours: pl.DataFrame, folder: Path) -> None:
    """One file per year, as a time-sheet system exports them."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("hours_*.csv"):
        stale.unlink()
    with_year = hours.with_columns(pl.col("work_date").dt.year().alias("_year"))
    for year in sorted(with_year["_year"].unique().to_list()):
        part = with_year.filter(pl.col("_year") == year).drop("_year")
        part.write_csv(folder / f"hours_{year}.csv", **_CSV)


def generate_demo_business(
    out_dir: Path,
    *,
    seed: int = 7,
    scale: float = 1.0,
    end: date = DEFAULT_END,
    records_seed: int | None = None,
) -> DemoBusiness:
    """Write the Crumb & Co demo into ``out_dir``: data/, initiatives.yml and truth.csv.

    ``seed`` draws the business itself (staffing, demand wobbles, the planted truths);
    ``records_seed`` (default: ``seed``) draws its records (orders, tickets, time-sheet
    entries, defects, KPI readings) from it, so other values give the same business with new
    records. ``scale`` multiplies record volumes (orders, tickets, defects; staff hours keep
    pace so hours per order stays realistic). ``end`` is the last day of the data and must be
    a Sunday; the data cover the 156 weeks up to it.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if end.weekday() != 6:
        raise ValueError(f"end must be a Sunday (weeks run Monday to Sunday), got {end:%A} {end}")
    root = Path(out_dir)
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)

    world = _build_world(end, seed, scale)
    x = _expected(world, frozenset(world.rollouts))
    draw = seed if records_seed is None else records_seed
    _sample_orders(world, x, _stream(draw, "orders")).write_parquet(data_dir / "orders.parquet")
    _sample_tickets(world, x, _stream(draw, "tickets")).write_csv(data_dir / "tickets.csv", **_CSV)
    _write_hours(_sample_hours(world, x, _stream(draw, "hours")), data_dir / "hours")
    _sample_defects(world, x, _stream(draw, "defects")).write_csv(data_dir / "defects.csv", **_CSV)
    _sample_kpis(world, x, _stream(draw, "kpis")).write_csv(data_dir / "kpis.csv", **_CSV)

    config_path = root / "initiatives.yml"
    config_path.write_text(_register_text(world), encoding="utf-8")
    truth_path = root / "truth.csv"
    _truth(world).write_csv(truth_path)
    return DemoBusiness(root, data_dir, config_path, truth_path, as_of=end)
