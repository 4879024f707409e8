"""False-alarm benchmark: how often does each claim check fire on clean simulated rollouts, and
does ``control_contamination`` still catch a real spillover?

Simulated weekly businesses (the data-generating process of ``benchmarks/inference.py``: a unit
level, a business-wide weekly shock every unit shares — a yearly wave and a random week-to-week
part — and each unit's own AR(1) noise, rho 0.5, innovation sd 1) go through the real
estimators and every claim check (``estimate_effects``, ``run_claim_checks``), no dbt. A clean
effect of ``EFFECT`` noise sds is planted in every treated unit from its own go-live. Designs,
each with 10 comparison units that no initiative reaches:

- ``single``: one treated unit, one go-live after two years of weeks, 26 weeks after;
- ``single_3``: the same with three treated units;
- ``phased``: one initiative rolled out in three waves of three units, 8 weeks apart;
- ``waves``: the same three waves registered as three initiatives, each naming the later waves
  (not yet live at its own go-live) and the 10 units as its comparison units — the later waves'
  treated weeks stay in the earlier claims' comparison, so ``control_contamination`` warning
  there is a true finding, not a false alarm (docs/claims.md);
- ``spillover`` (a trap): ``single`` with the comparison units shifting at go-live by half the
  effect, in its direction.

With ``--guardrail`` every initiative also names a guardrail ``g`` (margin 0: any harm the data
show) whose series is drawn the same way with no effect at all; ``guardrail_harm`` is counted on
it, every other check on ``m`` as before. Its good direction is up, so a fall is harm.

A check fires when it warns or fails and counts toward the grade (after the claim's tests are
judged together, ``roi_ledger.claims.family``), as in ``benchmarks/coverage.py``. On the clean
designs every firing is a false alarm; on the trap, ``control_contamination`` should fire.

    .venv/bin/python benchmarks/false_alarms.py [--reps 200] [--seed 1] [--workers 2] [--guardrail]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

import numpy as np
import polars as pl
import yaml
from statsmodels.stats.proportion import proportion_confint

from roi_ledger.catalogue import MetricDefinition
from roi_ledger.claims import engine
from roi_ledger.claims.base import METRIC_CHECKS
from roi_ledger.claims.labels import FIRED
from roi_ledger.effects import estimate_effects
from roi_ledger.register import parse_register

MONDAY = date(2023, 1, 2)
PRE_WEEKS = 104  # two years: the spillover test needs a year before each backdated go-live
POST_WEEKS = 26
EFFECT = 3.0  # in units of the unit noise's innovation sd: about six standard errors of one unit's DiD
WAVE_GAP = 8  # weeks between two waves
WAVE_SIZE = 3
CONTROLS = [f"c{i}" for i in range(10)]
DESIGNS = ("single", "single_3", "phased", "waves", "spillover")
GUARDRAIL = MetricDefinition(
    name="g", label="Guarded level", dataset="orders", aggregation="mean", expression="amount", good_direction="up"
)


def go_lives(design: str) -> dict[str, tuple[list[str], int]]:
    """The design's go-lives: initiative or phase name -> (its units, its go-live week)."""
    if design in ("single", "spillover"):
        return {"w0": (["t0"], PRE_WEEKS)}
    if design == "single_3":
        return {"w0": (["t0", "t1", "t2"], PRE_WEEKS)}
    return {f"w{k}": ([f"t{k * WAVE_SIZE + i}" for i in range(WAVE_SIZE)], PRE_WEEKS + k * WAVE_GAP) for k in range(3)}


def register_for(design: str, guardrail: bool = False):
    waves = go_lives(design)
    base = {"status": "live", "metrics": ["m"], **({"guardrails": ["g"]} if guardrail else {})}
    if design == "phased":
        phases = [{"units": units, "go_live": (MONDAY + timedelta(weeks=w)).isoformat()} for units, w in waves.values()]
        initiatives = [{"id": "sim", "name": "Phased", "phases": phases, **base}]
    else:
        later = {name: [u for other, (units, _) in waves.items() if other > name for u in units] for name in waves}
        initiatives = [
            {
                "id": name,
                "name": f"Wave {name}",
                "go_live": (MONDAY + timedelta(weeks=w)).isoformat(),
                "treated_units": units,
                **({"control_units": later[name] + CONTROLS} if design == "waves" else {}),
                **base,
            }
            for name, (units, w) in waves.items()
        ]
    document = {"business": {"name": "Sim", "currency": "EUR", "timezone": "UTC"}, "initiatives": initiatives}
    return parse_register(yaml.safe_dump(document), "simulated.yml")


def simulate(design: str, seed: int, metric: str = "m", effect: float = EFFECT) -> pl.DataFrame:
    """One business's weekly series of ``metric`` with ``effect`` planted (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    weeks = PRE_WEEKS + 2 * WAVE_GAP + POST_WEEKS
    starts = {u: w for units, w in go_lives(design).values() for u in units}
    shared = 3 * np.sin(2 * np.pi * np.arange(weeks) / 52) + rng.normal(0, 1, weeks)
    t = np.arange(weeks)
    rows = []
    for unit in [*starts, *CONTROLS]:
        noise = np.zeros(weeks)
        for week in range(weeks):
            noise[week] = (0.5 * noise[week - 1] if week else 0) + rng.normal()
        values = 50 + rng.normal(0, 5) + shared + noise
        if unit in starts:
            values = values + effect * (t >= starts[unit])
        elif design == "spillover":
            values = values + effect / 2 * (t >= PRE_WEEKS)
        for week in range(weeks):
            start = MONDAY + timedelta(weeks=week)
            rows.append((unit, metric, "week", start, start + timedelta(days=7), float(values[week]), 50.0))
    return pl.DataFrame(
        rows, schema=["unit_id", "metric", "period", "period_start", "period_end", "value", "volume"], orient="row"
    )


def draw(args: tuple[str, int, tuple[str, ...] | None, bool]) -> list[dict]:
    """Every metric check (or only ``checks``) on every claim of one simulated business: fired or
    not; with ``guardrail``, ``guardrail_harm`` on the null guardrail ``g`` and the rest on ``m``."""
    design, seed, checks_only, guardrail = args
    if checks_only:  # the claims step runs only these (every check takes minutes per hundred businesses)
        engine.METRIC_CHECKS = [c for c in METRIC_CHECKS if c.check_id in checks_only]
    register = register_for(design, guardrail)
    series = simulate(design, seed)
    if guardrail:
        series = pl.concat([series, simulate(design, seed + 7_777_777, "g", 0.0)])
    estimates = estimate_effects(register, series)
    checks = engine.run_claim_checks(
        register, series, estimates, as_of=series["period_end"].max(), catalogue=[GUARDRAIL], traits={}
    ).filter((pl.col("metric") == "g") == (pl.col("check_id") == "guardrail_harm"))
    return [
        {
            "design": design,
            "seed": seed,
            "initiative_id": row["initiative_id"],
            "check_id": row["check_id"],
            "check_class": row["check_class"],
            "fired": row["status"] in FIRED and bool(row["counts_toward_grade"]),
        }
        for row in checks.iter_rows(named=True)
    ]


def wilson(hits: int, n: int) -> str:
    low, high = proportion_confint(hits, n, method="wilson")
    return f"{hits}/{n} = {hits / n:.1%} [{low:.1%}, {high:.1%}]"


def rates(rows: pl.DataFrame) -> pl.DataFrame:
    """Per design and check: how many claims it fired on, of how many, with a Wilson interval.
    A claim is one initiative of one business (the ``waves`` design has three per business)."""
    return (
        rows.group_by("design", "check_id", "check_class")
        .agg(pl.col("fired").sum().alias("fired"), pl.len().alias("claims"))
        .with_columns(
            pl.struct("fired", "claims")
            .map_elements(lambda r: wilson(r["fired"], r["claims"]), return_dtype=pl.String)
            .alias("rate")
        )
        .sort("design", "check_id")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="businesses per design")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=DESIGNS)
    parser.add_argument("--checks", nargs="+", help="run only these metric checks (default: every one)")
    parser.add_argument("--guardrail", action="store_true", help="add a null guardrail to every initiative")
    args = parser.parse_args()
    only = tuple(args.checks) if args.checks else None
    collected = []
    with ProcessPoolExecutor(args.workers) as pool:
        # One design at a time, printed as it finishes: a long run shows its numbers as it goes.
        for design in args.designs:
            jobs = [(design, args.seed * 100_000 + i, only, args.guardrail) for i in range(args.reps)]
            done = pl.DataFrame([row for rows in pool.map(draw, jobs, chunksize=4) for row in rows])
            collected.append(done)
            fired = rates(done).filter(pl.col("fired") > 0).select("check_id", "rate")
            print(f"{design}: checks that fired: {fired.rows() or 'none'}", flush=True)
    table = rates(pl.concat(collected))
    with pl.Config(tbl_rows=200, tbl_width_chars=200, fmt_str_lengths=60):
        print("control_contamination by design (the trap: 'spillover'; the rest are clean):")
        print(table.filter(pl.col("check_id") == "control_contamination").select("design", "rate"))
        print(f"{'Every check' if only is None else 'Each check run'} that fired at least once on a clean design:")
        clean = table.filter((pl.col("design") != "spillover") & (pl.col("fired") > 0))
        print(clean.select("design", "check_id", "check_class", "rate"))


if __name__ == "__main__":
    main()
