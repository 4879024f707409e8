"""Inference benchmark: do the intervals hold with few units, and what does nightly peeking cost?

Simulated weekly panels go through the real estimators (``roi_ledger.effects.estimate_effects``,
the primary method as the nightly run picks it) — no dbt, no warehouse, so hundreds of
businesses take minutes. Each unit's metric is a unit level, a business-wide weekly shock that
every unit shares (a seasonal wave and a random week-to-week part), and the unit's own AR(1)
noise (rho 0.5). The initiative goes live after a year of weeks.

Two questions:

1. **Coverage by number of treated units.** With 1, 3, 5 and 10 treated units (10 comparison
   units each, and one treated unit with none: its own history only, after one year and after
   two years of weeks) and a planted effect, how often does the primary interval cover it? Each
   design names the inference the primary method used.
2. **Ever reliable under the null.** With no effect, the estimate is redone every week for a
   year after go-live (a year of nightly runs sees 52 new weeks; the six nights between two
   new weeks redo the same numbers). How many businesses does an ordinary interval ever
   exclude zero for, and how many the always-valid interval that grades use
   (``roi_ledger.claims.sequential``)? Excluding zero is necessary for ``reliable``, so this is
   an upper bound on the share ever graded reliable.

    .venv/bin/python benchmarks/inference.py [--reps 200] [--null-reps 100] [--seed 1]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

import numpy as np
import polars as pl
from statsmodels.stats.proportion import proportion_confint

from roi_ledger.claims.sequential import always_valid
from roi_ledger.claims.thresholds import DEFAULTS
from roi_ledger.effects import estimate_effects
from roi_ledger.register import parse_register

MONDAY = date(2023, 1, 2)
PRE_WEEKS = 52
POST_WEEKS = 26
NULL_POST_WEEKS = 4 + 52  # the first gradeable look, then a year of new weeks
EFFECT = 1.0  # in units of the unit noise's innovation sd
CONTROLS = 10
# (treated units, comparison units, weeks before go-live)
DESIGNS = [
    (1, 0, PRE_WEEKS),
    (1, 0, 2 * PRE_WEEKS),
    (1, CONTROLS, PRE_WEEKS),
    (3, CONTROLS, PRE_WEEKS),
    (5, CONTROLS, PRE_WEEKS),
    (10, CONTROLS, PRE_WEEKS),
]


def register(treated: int, pre_weeks: int = PRE_WEEKS):
    units = ", ".join(f"t{i}" for i in range(treated))
    return parse_register(
        f"""
business: {{name: Sim, currency: EUR, timezone: UTC}}
initiatives:
  - id: sim
    name: Simulated initiative
    status: live
    go_live: {MONDAY + timedelta(weeks=pre_weeks)}
    treated_units: [{units}]
    metrics: [m]
""",
        "simulated.yml",
    )


def simulate(
    treated: int, controls: int, weeks: int, effect: float, seed: int, pre_weeks: int = PRE_WEEKS
) -> pl.DataFrame:
    """One business's weekly series of metric ``m`` (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    units = [f"t{i}" for i in range(treated)] + [f"c{i}" for i in range(controls)]
    shared = 3 * np.sin(2 * np.pi * np.arange(weeks) / 52) + rng.normal(0, 1, weeks)
    rows = []
    for unit in units:
        noise = np.zeros(weeks)
        for week in range(weeks):
            noise[week] = (0.5 * noise[week - 1] if week else 0) + rng.normal()
        level = 50 + rng.normal(0, 5)
        for week in range(weeks):
            start = MONDAY + timedelta(weeks=week)
            lift = effect if unit.startswith("t") and week >= pre_weeks else 0.0
            rows.append(
                (unit, "m", "week", start, start + timedelta(days=7), level + shared[week] + noise[week] + lift, 50.0)
            )
    return pl.DataFrame(
        rows, schema=["unit_id", "metric", "period", "period_start", "period_end", "value", "volume"], orient="row"
    )


def primary(series: pl.DataFrame, treated: int, pre_weeks: int = PRE_WEEKS) -> dict | None:
    estimates = estimate_effects(register(treated, pre_weeks), series).filter(pl.col("is_primary"))
    return estimates.row(0, named=True) if estimates.height else None


def inference_name(inference: str | None) -> str:
    """The method's name from an estimate's ``inference`` text, and whether backdating widened it."""
    name = (inference or "").split(" (")[0].split(",")[0]
    return name + " + placebo-in-time" if "more than its AR(1) standard error" in (inference or "") else name


def coverage_draw(args: tuple[int, int, int, int]) -> dict:
    treated, controls, pre_weeks, seed = args
    row = primary(simulate(treated, controls, pre_weeks + POST_WEEKS, EFFECT, seed, pre_weeks), treated, pre_weeks)
    covers = row is not None and row["ci_low"] is not None and row["ci_low"] <= EFFECT <= row["ci_high"]
    return {
        "treated": treated,
        "controls": controls,
        "pre_weeks": pre_weeks,
        "seed": seed,
        "covers": covers,
        "method": row["method"] if row else None,
        "inference": inference_name(row["inference"]) if row else None,
        "half_width": (row["ci_high"] - row["ci_low"]) / 2 if row and row["ci_low"] is not None else None,
    }


def null_draw(args: tuple[int, int, int]) -> dict:
    """Every weekly look over a year at a business with no effect: ever excluded zero?"""
    treated, controls, seed = args
    series = simulate(treated, controls, PRE_WEEKS + NULL_POST_WEEKS, 0.0, seed)
    min_post = DEFAULTS.min_post("week")
    ordinary = anytime = False
    looks = 0
    for post in range(min_post, NULL_POST_WEEKS + 1):
        last = MONDAY + timedelta(weeks=PRE_WEEKS + post)
        row = primary(series.filter(pl.col("period_end") <= last), treated)
        if row is None or row["ci_low"] is None:
            continue
        looks += 1
        ordinary |= not (row["ci_low"] <= 0 <= row["ci_high"])
        bounds = always_valid(
            effect=row["effect_abs"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            confidence=0.95,
            pre=row["pre_periods"],
            post=row["post_periods"],
            min_post=min_post,
        )
        anytime |= bool(bounds and bounds.excludes_zero())
    return {
        "treated": treated,
        "controls": controls,
        "seed": seed,
        "looks": looks,
        "ordinary_ever": ordinary,
        "always_valid_ever": anytime,
    }


def binomial_interval(hits: int, n: int) -> str:
    """A Wilson 95% interval for a rate from ``hits`` of ``n`` (statsmodels)."""
    if n == 0:
        return "-"
    low, high = proportion_confint(hits, n, method="wilson")
    return f"[{low:.1%}, {high:.1%}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="businesses per design for coverage")
    parser.add_argument("--null-reps", type=int, default=100, help="businesses for the year of nightly looks")
    parser.add_argument("--null-treated", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        jobs = [(t, c, w, args.seed * 100_000 + i) for t, c, w in DESIGNS for i in range(args.reps)]
        coverage = pl.DataFrame(list(pool.map(coverage_draw, jobs, chunksize=8)))
        nulls = [(args.null_treated, CONTROLS, args.seed * 100_000 + 50_000 + i) for i in range(args.null_reps)]
        peeking = pl.DataFrame(list(pool.map(null_draw, nulls, chunksize=2))) if nulls else None
    table = (
        coverage.group_by("treated", "controls", "pre_weeks", maintain_order=True)
        .agg(
            pl.col("covers").mean().alias("coverage"),
            pl.col("covers").sum().alias("hits"),
            pl.len().alias("businesses"),
            pl.col("inference").mode().first().alias("inference"),
            pl.col("half_width").mean().alias("mean_half_width"),
        )
        .with_columns(
            pl.struct("hits", "businesses")
            .map_elements(lambda r: binomial_interval(r["hits"], r["businesses"]), return_dtype=pl.String)
            .alias("coverage_95ci")
        )
        .drop("hits")
    )
    with pl.Config(tbl_rows=50, tbl_width_chars=220, fmt_str_lengths=80):
        print(f"Coverage of the primary 95% interval, planted effect {EFFECT} (noise sd 1, AR(1) 0.5):")
        print(table)
        if peeking is None:
            return
        n = peeking.height
        for column in ("ordinary_ever", "always_valid_ever"):
            hits = int(peeking[column].sum())
            print(f"{column}: {hits}/{n} = {hits / n:.1%} {binomial_interval(hits, n)}")
        print(
            f"(null: {args.null_treated} treated and {CONTROLS} comparison units, {int(peeking['looks'].mean())} "
            "weekly looks each)"
        )


if __name__ == "__main__":
    main()
