"""Inference benchmark: do the intervals cover, how wide are they against an oracle, and how
long until a real effect gets a verdict that stays?

Simulated businesses go through the real estimators (the primary method as the nightly run
picks it: ``roi_ledger.effects``) — no dbt, no warehouse. Each unit's metric, per period, is a
unit level, a business-wide shock every unit shares (a yearly sine wave of amplitude 3 and a
random part, sd 1), the unit's own stationary AR(1) noise (rho 0.5, innovation sd 1), a linear
trend (one innovation sd a year) in the designs without comparison units, and the planted
effect on treated units from their go-live on. Designs (``DESIGNS``), on weekly and on monthly
data: one unit and no comparison units after one and after two years of history; 1, 3, 5 and
10 treated units with 10 comparison units; a phased rollout (3 cohorts of 2 units going live 8
weeks, or 2 months, apart, and 10 never-treated units). Go-live is after a year of history
unless the design says two.

Per design:

1. **Coverage and width.** With a planted effect of one innovation sd and half a year after
   go-live: how often the primary 95% interval covers it (Wilson interval), its mean half-width,
   and the same for the **oracle** (``benchmarks/oracle.py``): OLS of the correct mean model with
   its exact variance under the true noise covariance. ``width_ratio`` = primary / oracle.
2. **Time to a verdict.** With planted effects of 2, 3 and 4 noise sds (the unit noise's
   marginal sd, per unit and period), the business is looked at every period from the first
   gradeable look (``DEFAULTS.min_post``) to one year after (the first) go-live; at each look
   the primary estimate's always-valid interval (``roi_ledger.claims.sequential``, which grades
   use) excludes zero or not. The time to a verdict is the first look from which it excludes
   zero at every later look up to a year ("first reliable and stays so"; never: more than a
   year). The median over businesses, in weeks, is set against the **oracle fixed-horizon
   test's**: the fewest after-periods (at least ``min_post``) at which a fixed-sample 95% test of
   the oracle estimator has 80% power for that effect, from its exact variance.
3. **Null claims.** With no effect, the share of businesses whose always-valid interval ever
   excludes zero over the year of looks (an upper bound on the share ever graded reliable).

Each business is simulated once for the whole year and cut at each look. A verdict is found
walking back from the last look to the first that does not exclude zero; a null business stops
at its first look that does.

    .venv/bin/python benchmarks/inference.py [--reps 40] [--verdict-reps 20] [--effects 2,3,4]
        [--designs its-1y/week,did-3/month,...] [--seed 1] [--workers 2] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from oracle import Noise, draw_noise, fixed_horizon_periods, oracle_weights, panel_variance
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from roi_ledger.claims.sequential import always_valid
from roi_ledger.claims.thresholds import DEFAULTS
from roi_ledger.effects import run_estimator
from roi_ledger.effects.panel import build_panel
from roi_ledger.effects.registry import estimators
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.effects.seasons import PERIODS_PER_YEAR
from roi_ledger.register import Register, parse_register

FIRST_DAY = {"week": date(2023, 1, 2), "month": date(2023, 1, 1)}  # a Monday; a month's first day
WEEKS_PER_PERIOD = {"week": 1.0, "month": 52 / 12}
COHORT_GAP = {"week": 8, "month": 2}  # periods between a phased rollout's go-lives
NOISE = Noise(rho=0.5, innovation_sd=1.0, shared_sd=1.0)
SEASON_AMPLITUDE = 3.0
TREND_PER_YEAR = 1.0  # in the designs without comparison units
COVERAGE_EFFECT = 1.0  # in innovation sds
CONFIDENCE = 0.95
HORIZON_YEARS = 3  # how far the oracle fixed-horizon test's horizon is looked for


@dataclass(frozen=True)
class Design:
    name: str
    cohorts: tuple[int, ...]  # treated units per cohort; cohorts go live COHORT_GAP periods apart
    controls: int
    pre_years: int
    period: str

    @property
    def key(self) -> str:
        return f"{self.name}/{self.period}"

    @property
    def per_year(self) -> int:
        return PERIODS_PER_YEAR[self.period]

    @property
    def pre(self) -> int:
        return self.pre_years * self.per_year

    @property
    def units(self) -> int:
        return sum(self.cohorts) + self.controls

    def go_live_index(self, cohort: int) -> int:
        return self.pre + cohort * COHORT_GAP[self.period]


SHAPES = [
    ("its-1y", (1,), 0, 1),
    ("its-2y", (1,), 0, 2),
    ("did-1", (1,), 10, 1),
    ("did-3", (3,), 10, 1),
    ("did-5", (5,), 10, 1),
    ("did-10", (10,), 10, 1),
    ("phased-3x2", (2, 2, 2), 10, 1),
]
DESIGNS = [
    Design(name, cohorts, controls, years, period)
    for period in ("week", "month")
    for name, cohorts, controls, years in SHAPES
]


def period_start(period: str, index: int) -> date:
    first = FIRST_DAY[period]
    if period == "week":
        return first + timedelta(weeks=index)
    months = first.month - 1 + index
    return date(first.year + months // 12, months % 12 + 1, 1)


def after_matrix(design: Design, periods: int) -> np.ndarray:
    """Units x periods: the unit's cohort number (1, 2, ...) from its go-live on, else 0.
    Treated units come first, cohort by cohort, then the comparison units."""
    after = np.zeros((design.units, periods), dtype=int)
    row = 0
    for cohort, size in enumerate(design.cohorts):
        after[row : row + size, design.go_live_index(cohort) :] = cohort + 1
        row += size
    return after


def unit_names(design: Design) -> list[str]:
    treated = sum(design.cohorts)
    return [f"t{i}" for i in range(treated)] + [f"c{i}" for i in range(design.controls)]


def register(design: Design) -> Register:
    names, phases, row = unit_names(design), [], 0
    for cohort, size in enumerate(design.cohorts):
        start = period_start(design.period, design.go_live_index(cohort))
        phases.append(f"      - {{units: [{', '.join(names[row : row + size])}], go_live: {start}}}")
        row += size
    text = f"""
business: {{name: Sim, currency: EUR, timezone: UTC}}
initiatives:
  - id: sim
    name: Simulated initiative
    status: live
    phases:
{chr(10).join(phases)}
    metrics: [m]
"""
    return parse_register(text, "simulated.yml")


def simulate_values(design: Design, periods: int, effect: float, seed: int) -> np.ndarray:
    """One business's units x periods values of metric ``m`` (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    shared = SEASON_AMPLITUDE * np.sin(2 * np.pi * t / design.per_year)
    if design.controls == 0:
        shared = shared + TREND_PER_YEAR * t / design.per_year
    level = 50 + rng.normal(0, 5, design.units)
    lift = effect * (after_matrix(design, periods) > 0)
    return level[:, None] + shared[None, :] + draw_noise(rng, design.units, periods, NOISE) + lift


def series_frame(design: Design, values: np.ndarray) -> pl.DataFrame:
    """The values as ``marts.metric_series`` rows (a period ends where the next starts)."""
    units, periods = values.shape
    starts = [period_start(design.period, i) for i in range(periods + 1)]
    return pl.DataFrame(
        {
            "unit_id": np.repeat(unit_names(design), periods),
            "metric": "m",
            "period": design.period,
            "period_start": starts[:-1] * units,
            "period_end": starts[1:] * units,
            "value": values.reshape(-1),
            "volume": 50.0,
        }
    )


def primary(design: Design, series: pl.DataFrame) -> EffectEstimate | None:
    """The primary estimate as ``estimate_effects`` picks it — the most preferred method that
    gives an interval — running the methods in that order and stopping at the first."""
    plan = register(design)
    panel = build_panel(plan, plan.initiatives[0], "m", series)
    if panel is None:
        return None
    for method in estimators():
        row = run_estimator(method, panel, plan.business.confidence_level)
        if row is not None and row.ci_low is not None:
            return row
    return None


@functools.cache
def oracle(design: Design, post: int) -> tuple[np.ndarray, float]:
    """The oracle's weights and standard error with ``post`` periods after the first go-live."""
    weights = oracle_weights(after_matrix(design, design.pre + post), design.controls > 0, design.per_year)
    return weights, math.sqrt(panel_variance(weights, NOISE))


def inference_name(inference: str | None) -> str:
    """The method's name from an estimate's ``inference`` text, and whether backdating widened it."""
    name = (inference or "").split(" (")[0].split(",")[0]
    widened = "so the interval is the estimate +-" in (inference or "")
    return name + " + placebo-in-time" if widened else name


def coverage_draw(args: tuple[Design, int]) -> dict:
    """One business half a year after go-live: does each interval cover the planted effect?"""
    design, seed = args
    post = design.per_year // 2
    values = simulate_values(design, design.pre + post, COVERAGE_EFFECT, seed)
    row = primary(design, series_frame(design, values))
    weights, oracle_se = oracle(design, post)
    oracle_effect = float(np.sum(weights * values))
    oracle_half_width = stats.norm.ppf(0.5 + CONFIDENCE / 2) * oracle_se
    return {
        "design": design.key,
        "seed": seed,
        "covers": row is not None and row.ci_low <= COVERAGE_EFFECT <= row.ci_high,
        "method": row.method if row else None,
        "inference": inference_name(row.inference) if row else None,
        "half_width": (row.ci_high - row.ci_low) / 2 if row else None,
        "oracle_covers": abs(oracle_effect - COVERAGE_EFFECT) <= oracle_half_width,
        "oracle_half_width": oracle_half_width,
    }


def excludes_zero(design: Design, series: pl.DataFrame, post: int, min_post: int) -> bool:
    """At the look with ``post`` periods after the first go-live: does the primary estimate's
    always-valid interval exclude zero?"""
    cut = period_start(design.period, design.pre + post)
    row = primary(design, series.filter(pl.col("period_end") <= cut))
    if row is None:
        return False
    bounds = always_valid(
        effect=row.effect_abs,
        ci_low=row.ci_low,
        ci_high=row.ci_high,
        confidence=CONFIDENCE,
        pre=row.pre_periods,
        post=row.post_periods,
        min_post=min_post,
        horizon=DEFAULTS.horizon_periods(design.period),
    )
    return bool(bounds and bounds.excludes_zero())


def look_posts(design: Design, every: int) -> list[int]:
    """After-periods at each look: from the first gradeable one to a year, every ``every``
    periods, and always the last."""
    posts = list(range(DEFAULTS.min_post(design.period), design.per_year + 1, every))
    return posts if posts[-1] == design.per_year else [*posts, design.per_year]


def verdict_draw(args: tuple[Design, float, int, int]) -> dict:
    """A year of looks at one business with an effect of ``effect_sds`` noise sds: the first look
    from which the always-valid interval excludes zero at every later look (None: never); with
    no effect, whether it ever excludes zero."""
    design, effect_sds, seed, every = args
    min_post = DEFAULTS.min_post(design.period)
    posts = look_posts(design, every)
    values = simulate_values(design, design.pre + design.per_year, effect_sds * NOISE.marginal_sd, seed)
    series = series_frame(design, values)
    ever = verdict = None
    if effect_sds == 0:
        ever = any(excludes_zero(design, series, post, min_post) for post in posts)
    else:
        verdict = posts[0]
        for index in reversed(range(len(posts))):  # back from a year: the last look that does not exclude
            if not excludes_zero(design, series, posts[index], min_post):
                verdict = posts[index + 1] if index + 1 < len(posts) else None
                break
    return {"design": design.key, "effect_sds": effect_sds, "seed": seed, "verdict_periods": verdict, "ever": ever}


def binomial_interval(hits: int, n: int) -> str:
    """A Wilson 95% interval for a rate from ``hits`` of ``n`` (statsmodels)."""
    if n == 0:
        return "-"
    low, high = proportion_confint(hits, n, method="wilson")
    return f"[{low:.1%}, {high:.1%}]"


def with_wilson(table: pl.DataFrame, hits: str, n: str, name: str) -> pl.DataFrame:
    return table.with_columns(
        pl.struct(hits, n).map_elements(lambda r: binomial_interval(r[hits], r[n]), return_dtype=pl.String).alias(name)
    )


def coverage_table(draws: pl.DataFrame) -> pl.DataFrame:
    table = draws.group_by("design", maintain_order=True).agg(
        pl.len().alias("businesses"),
        pl.col("method").mode().first(),
        pl.col("inference").mode().first(),
        pl.col("covers").mean().alias("coverage"),
        pl.col("covers").sum().alias("hits"),
        pl.col("half_width").mean().alias("half_width"),
        pl.col("oracle_half_width").mean(),
        pl.col("oracle_covers").mean().alias("oracle_coverage"),
    )
    table = with_wilson(table, "hits", "businesses", "coverage_95ci").drop("hits")
    return table.with_columns((pl.col("half_width") / pl.col("oracle_half_width")).alias("width_ratio"))


def oracle_horizon(design: Design, effect_sds: float) -> int | None:
    """The oracle fixed-horizon test's after-periods for this effect (see benchmarks/oracle.py)."""
    return fixed_horizon_periods(
        lambda post: oracle(design, post)[1],
        effect_sds * NOISE.marginal_sd,
        DEFAULTS.min_post(design.period),
        HORIZON_YEARS * design.per_year,
        CONFIDENCE,
    )


def median_weeks(periods: list[int | None], design: Design) -> float:
    """Median over businesses in weeks; a business without a verdict in a year counts as infinite."""
    return float(np.median([math.inf if p is None else p for p in periods])) * WEEKS_PER_PERIOD[design.period]


def verdict_table(draws: pl.DataFrame, designs: dict[str, Design]) -> pl.DataFrame:
    rows = []
    for (key, effect_sds), group in draws.filter(pl.col("effect_sds") > 0).group_by(
        "design", "effect_sds", maintain_order=True
    ):
        design = designs[key]
        horizon = oracle_horizon(design, effect_sds)
        oracle_weeks = math.inf if horizon is None else horizon * WEEKS_PER_PERIOD[design.period]
        weeks = median_weeks(group["verdict_periods"].to_list(), design)
        rows.append(
            {
                "design": key,
                "effect_sds": effect_sds,
                "businesses": group.height,
                "verdict_within_a_year": group["verdict_periods"].is_not_null().mean(),
                "median_weeks": weeks,
                "oracle_fixed_horizon_weeks": oracle_weeks,
                "ratio": weeks / oracle_weeks,
            }
        )
    return pl.DataFrame(rows)


def null_table(draws: pl.DataFrame) -> pl.DataFrame:
    table = (
        draws.filter(pl.col("effect_sds") == 0)
        .group_by("design", maintain_order=True)
        .agg(pl.len().alias("businesses"), pl.col("ever").sum().alias("ever_past"))
        .with_columns((pl.col("ever_past") / pl.col("businesses")).alias("rate"))
    )
    return with_wilson(table, "ever_past", "businesses", "rate_95ci")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40, help="businesses per design for coverage and width")
    parser.add_argument("--verdict-reps", type=int, default=20, help="businesses per design and effect for verdicts")
    parser.add_argument("--effects", default="0,2,3,4", help="planted effects in noise sds for verdicts (0: null)")
    parser.add_argument("--designs", default="", help="comma-separated design keys or names (default: all)")
    parser.add_argument("--look-every", type=int, default=1, help="periods between looks (1: every period)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a few businesses per design, for development")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.verdict_reps = min(args.reps, 4), min(args.verdict_reps, 2)
    return args


def chosen_designs(names: str) -> list[Design]:
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    chosen = [d for d in DESIGNS if not wanted or d.key in wanted or d.name in wanted]
    if not chosen:
        raise SystemExit(f"no design matches {names!r}; known: {', '.join(d.key for d in DESIGNS)}")
    return chosen


def main() -> None:
    args = arguments()
    began = time.monotonic()
    designs = chosen_designs(args.designs)
    effects = [float(e) for e in args.effects.split(",") if e.strip()]
    base = args.seed * 1_000_000
    coverage_jobs = [(d, base + i) for d in designs for i in range(args.reps)]
    verdict_jobs = [
        (d, e, base + 500_000 + i, args.look_every) for d in designs for e in effects for i in range(args.verdict_reps)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        coverage = pl.DataFrame(list(pool.map(coverage_draw, coverage_jobs, chunksize=2))) if coverage_jobs else None
        verdicts = pl.DataFrame(list(pool.map(verdict_draw, verdict_jobs))) if verdict_jobs else None
    with pl.Config(tbl_rows=100, tbl_width_chars=250, fmt_str_lengths=80, tbl_cols=20, float_precision=3):
        if coverage is not None:
            print(f"Coverage and half-width of the 95% intervals, planted effect {COVERAGE_EFFECT} (innovation sds):")
            print(coverage_table(coverage))
        if verdicts is not None:
            print(
                f"Time to a verdict (always-valid interval excludes zero and stays so), looks every {args.look_every}:"
            )
            print(verdict_table(verdicts, {d.key: d for d in designs}))
            print("Null claims ever past the always-valid interval in a year of looks:")
            print(null_table(verdicts))
    print(f"seed {args.seed}; took {time.monotonic() - began:.0f} s with {args.workers} workers")


if __name__ == "__main__":
    main()
