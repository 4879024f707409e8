"""One site unlike its neighbours: how each estimator and the primary-method rule cover and how wide.

A business with one treated site and ``donors`` comparison sites, weekly (or monthly) data,
go-live after ``--pre`` periods and ``--post`` periods after it. Every site's metric is a
level of its own plus three shared factors with site-specific loadings — a stochastic trend
(a random walk), a yearly season and a linear trend — and AR(1) noise (rho 0.5, innovation sd 1):

    y_it = a_i + l_i1 f1_t + l_i2 f2_t + l_i3 f3_t + u_it,   f2 = 3 sin(2 pi t / 52), f3 = 6 t / T

Designs:

- ``unlike``: the site's loadings are a convex mix of the three donors with the steepest trend
  loading, and its level its own: the plain average of the donors trends differently from the
  site (DiD is biased) while a weighted mix of donors matches it (synthetic control's premise);
- ``parallel``: every site shares one set of loadings and differs only in level: parallel trends
  hold, DiD is right, and the primary rule should keep it or an estimator that covers as well.

The planted effect is 2 (two innovation sds) from go-live on. Each row: the share of 95%
intervals that cover it (with its Wilson interval), the mean interval width, the mean estimate
less the truth, and how often the method was primary; and how often the twin checks
(``synthetic_fit``, ``donor_concentration``) fired on a synthetic primary — false alarms, the
designs being clean.

    .venv/bin/python benchmarks/synthetic.py [--designs unlike,parallel] [--reps 40] [--donors 10]
        [--pre 104] [--post 26] [--seed 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

import numpy as np
import polars as pl
from statsmodels.stats.proportion import proportion_confint

from roi_ledger.claims.checks.synthetic import twin_diagnostics
from roi_ledger.claims.thresholds import DEFAULTS
from roi_ledger.effects import estimate_effects
from roi_ledger.effects.panel import build_panel
from roi_ledger.effects.synthetic import site_and_donors
from roi_ledger.effects.twins import WEIGHTED_METHODS
from roi_ledger.register import parse_register

EFFECT = 2.0
START = date(2022, 1, 3)


def site_values(design: str, donors: int, periods: int, pre: int, seed: int) -> np.ndarray:
    """(donors + 1, periods): row 0 the treated site, with the effect planted after ``pre``."""
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    factors = np.c_[np.cumsum(rng.normal(0, 0.3, periods)), 3 * np.sin(2 * np.pi * t / 52), 6 * t / periods]
    loadings = rng.uniform(0, 2, (donors, 3))
    levels = rng.normal(20, 5, donors)
    if design == "unlike":
        steepest = np.argsort(-loadings[:, 2])[:3]
        site_loading = rng.dirichlet(np.ones(3)) @ loadings[steepest]
    else:
        loadings[:] = loadings[0]
        site_loading = loadings[0]
    site_level = rng.normal(20, 5)
    mean = np.vstack([site_level + factors @ site_loading, levels[:, None] + (factors @ loadings.T).T])
    noise = np.zeros_like(mean)
    shocks = rng.normal(0, 1, mean.shape)
    for k in range(periods):
        noise[:, k] = (0.5 * noise[:, k - 1] if k else 0) + shocks[:, k]
    values = mean + noise
    values[0, pre:] += EFFECT
    return values


def business(values: np.ndarray, pre: int):
    rows = []
    units = ["site", *(f"donor_{i:02d}" for i in range(values.shape[0] - 1))]
    for unit, series in zip(units, values, strict=True):
        for week, value in enumerate(series):
            start = START + timedelta(weeks=week)
            rows.append((unit, "m", "week", start, start + timedelta(days=7), float(value), 10.0))
    series = pl.DataFrame(
        rows, schema=["unit_id", "metric", "period", "period_start", "period_end", "value", "volume"], orient="row"
    )
    register = parse_register(
        f"""
business: {{name: B, currency: EUR, timezone: UTC}}
initiatives:
  - id: tool
    name: Tool
    status: live
    go_live: {START + timedelta(weeks=pre)}
    treated_units: [site]
    metrics: [m]
""",
        "benchmark.yml",
    )
    return register, series


def one_business(design: str, donors: int, pre: int, post: int, seed: int) -> list[dict]:
    """Every method's row; a synthetic primary row also says whether the twin checks fired
    (the design is clean: any firing is a false alarm)."""
    register, series = business(site_values(design, donors, pre + post, pre, seed), pre)
    effects = estimate_effects(register, series)
    rows = effects.select("method", "is_primary", "effect_abs", "ci_low", "ci_high").to_dicts()
    for row in rows:
        if row["is_primary"] and row["method"] in WEIGHTED_METHODS:
            panel = build_panel(register, register.measured_initiatives[0], "m", series)
            half_width = (row["ci_high"] - row["ci_low"]) / 2 if row["ci_low"] is not None else None
            found = twin_diagnostics(site_and_donors(panel), WEIGHTED_METHODS[row["method"]], half_width)
            row["synthetic_fit"], row["donor_concentration"] = (
                found.fit_fires(DEFAULTS),
                found.concentration_fires(DEFAULTS),
            )
    return rows


def summarise(design: str, results: list[list[dict]]) -> list[dict]:
    by_method: dict[str, list[dict]] = defaultdict(list)
    for rows in results:
        for row in rows:
            by_method[row["method"]].append(row)
            if row["is_primary"]:
                by_method["(primary)"].append(row)
    table = []
    twins = by_method.get("(primary)", [])
    twins = [r for r in twins if "synthetic_fit" in r]
    for check in ("synthetic_fit", "donor_concentration"):
        fired = sum(r[check] for r in twins)
        print(f"<!-- {design}: {check} fired on {fired} of {len(twins)} clean synthetic primaries -->", flush=True)
    for method, rows in sorted(by_method.items()):
        bounded = [r for r in rows if r["ci_low"] is not None]
        covered = sum(r["ci_low"] <= EFFECT <= r["ci_high"] for r in bounded)
        low, high = proportion_confint(covered, max(len(bounded), 1), method="wilson")
        table.append(
            {
                "design": design,
                "method": method,
                "n": len(rows),
                "primary": sum(r["is_primary"] for r in rows),
                "coverage": covered / max(len(bounded), 1),
                "wilson": f"{low:.2f}-{high:.2f}",
                "width": float(np.mean([r["ci_high"] - r["ci_low"] for r in bounded])) if bounded else None,
                "bias": float(np.mean([r["effect_abs"] for r in rows])) - EFFECT,
            }
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--designs", default="unlike,parallel")
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--donors", type=int, default=10)
    parser.add_argument("--pre", type=int, default=104)
    parser.add_argument("--post", type=int, default=26)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print("| design | method | businesses | primary | coverage | Wilson 95% | mean width | bias |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for design in args.designs.split(","):
        started = time.time()
        run = functools.partial(one_business, design, args.donors, args.pre, args.post)
        seeds = [args.seed * 100_000 + i for i in range(args.reps)]
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(run, seeds))
        for row in summarise(design, results):
            width = "" if row["width"] is None else f"{row['width']:.2f}"
            print(
                f"| {row['design']} | {row['method']} | {row['n']} | {row['primary']} | {row['coverage']:.0%} "
                f"| {row['wilson']} | {width} | {row['bias']:+.2f} |",
                flush=True,
            )
        print(f"<!-- {design}: {time.time() - started:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
