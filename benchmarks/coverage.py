"""Coverage benchmark: how often does each method's 95% interval cover the planted truth?

Re-draws the demo business over many seeds, runs the real nightly job on each (``roi run``'s
own path), and compares every estimate in ``marts.initiative_effects`` with ``truth.csv``. For
two initiatives changing the same metric on the same units at once, the truth is their joint
effect. Target: at least 90% coverage for the primary method.

It also reports how often each planted row's claim is graded ``reliable`` in
``marts.claim_reliability`` (metric level): a trap (true effect 0) should never be, a clean
real effect should be most of the time. A script, not a test:

    .venv/bin/python benchmarks/coverage.py --seeds 20 --scale 0.3 [--out coverage.csv]
        [--grades-out grades.csv] [--keep DIR] [--world SEED]

``--world SEED`` keeps one business (the one ``roi demo --seed SEED`` draws: its staffing,
demand wobbles and planted truths) and re-draws only its records, seed after seed. That
answers a narrower question than the default: is one business's interval that misses its
truth an unlucky draw of records, or is the estimator off for that business? Noise the
business itself carries (demand and KPI wobbles) is then held fixed, so metrics driven by it
(monthly KPIs, error rates) can show a bias that averages out over businesses.

Per planted row it prints the primary method's coverage, the mean and spread of its error
(estimate - truth) and its mean standard error (interval half-width / 1.96): a standard
error well above the spread means the intervals are conservative; below it, too narrow.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from roi_ledger import cli
from roi_ledger.demo import generate_demo_business


def truth_for_estimates(truth: pl.DataFrame) -> pl.DataFrame:
    """One truth per initiative x metric; joint rows replace each member's own truth."""
    joint = truth.filter(pl.col("initiative_id").str.starts_with("joint:"))
    rows = truth.filter(~pl.col("initiative_id").str.starts_with("joint:"))
    for row in joint.iter_rows(named=True):
        members = row["initiative_id"].removeprefix("joint:").split("+")
        rows = rows.with_columns(
            pl.when(pl.col("initiative_id").is_in(members) & (pl.col("metric") == row["metric"]))
            .then(pl.lit(row["true_effect_abs"]))
            .otherwise(pl.col("true_effect_abs"))
            .alias("true_effect_abs")
        )
    return rows.select("initiative_id", "metric", "true_effect_abs")


def run_seed(
    seed: int, scale: float, workdir: Path, world: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every estimate with its truth and whether it covers, every planted row's grade).

    ``world``: the business's own seed, with ``seed`` drawing only its records; else ``seed``
    draws both."""
    business = generate_demo_business(
        workdir / f"seed{seed}",
        seed=seed if world is None else world,
        scale=scale,
        records_seed=seed,
    )
    warehouse = business.root / "warehouse.duckdb"
    if cli.run(business.data_dir, business.config_path, warehouse, business.as_of) != cli.EXIT_OK:
        raise SystemExit(f"seed {seed}: the nightly job failed")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        effects = con.sql("select * from marts.initiative_effects").pl()
        grades = con.sql(
            "select initiative_id, metric, grade, reasons from marts.claim_reliability"
            " where metric is not null"
        ).pl()
    truth = truth_for_estimates(pl.read_csv(business.truth_path))
    estimates = effects.join(truth, on=["initiative_id", "metric"], how="inner").with_columns(
        pl.lit(seed).alias("seed"),
        ((pl.col("ci_low") <= pl.col("true_effect_abs")) & (pl.col("true_effect_abs") <= pl.col("ci_high"))).alias("covers"),
    )
    graded = grades.join(truth, on=["initiative_id", "metric"], how="inner").with_columns(
        pl.lit(seed).alias("seed")
    )
    return estimates, graded


def grade_rates(graded: pl.DataFrame) -> pl.DataFrame:
    """Per planted row: how often it is graded reliable, and the most frequent reasons when not."""
    return (
        graded.with_columns(pl.col("true_effect_abs") == 0)
        .rename({"true_effect_abs": "trap"})
        .group_by("initiative_id", "metric", "trap")
        .agg(
            (pl.col("grade") == "reliable").mean().alias("reliable"),
            pl.col("reasons")
            .filter(pl.col("grade") != "reliable")
            .drop_nulls()
            .mode()
            .first()
            .alias("reasons_when_not_reliable"),
            pl.len().alias("businesses"),
        )
        .sort("trap", "initiative_id", "metric")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--out", type=Path, help="write every estimate with its truth here (CSV)")
    parser.add_argument("--grades-out", type=Path, help="write every planted row's grade here (CSV)")
    parser.add_argument(
        "--keep", type=Path, help="keep each seed's business and warehouse under this folder"
    )
    parser.add_argument(
        "--world",
        type=int,
        help="keep the business of this seed and re-draw only its records (see the docstring)",
    )
    args = parser.parse_args()
    os.environ.setdefault("ROI_PSEUDONYM_SALT", cli.DEMO_SALT)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        results, grades = [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            estimates, graded = run_seed(seed, args.scale, workdir, args.world)
            results.append(estimates)
            grades.append(graded)
            print(f"seed {seed} done", flush=True)
    all_rows = pl.concat(results)
    all_grades = pl.concat(grades)
    if args.out:
        all_rows.write_csv(args.out)
    if args.grades_out:
        all_grades.write_csv(args.grades_out)
    summary = (
        all_rows.drop_nulls("ci_low")
        .group_by("method", "is_primary")
        .agg(pl.col("covers").mean().alias("coverage"), pl.len().alias("estimates"))
        .sort("method", "is_primary")
    )
    by_initiative = (
        all_rows.filter(pl.col("is_primary"))
        .group_by("initiative_id", "metric", "method")
        .agg(
            pl.col("covers").mean().alias("coverage"),
            (pl.col("effect_abs") - pl.col("true_effect_abs")).mean().alias("mean_error"),
            (pl.col("effect_abs") - pl.col("true_effect_abs")).std().alias("sd_error"),
            ((pl.col("ci_high") - pl.col("ci_low")) / (2 * 1.96)).mean().alias("mean_se"),
            pl.len().alias("estimates"),
        )
        .sort("initiative_id")
    )
    with pl.Config(tbl_rows=100, tbl_width_chars=200):
        print(summary)
        print(by_initiative)
        print(grade_rates(all_grades))


if __name__ == "__main__":
    main()
