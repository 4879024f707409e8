"""Coverage benchmark: how often does each method's 95% interval cover the planted truth?

Re-draws the demo business over many seeds, runs the real nightly job on each (``roi run``'s
own path), and compares every estimate in ``marts.initiative_effects`` with ``truth.csv``. For
two initiatives changing the same metric on the same units at once, the truth is their joint
effect. Target: at least 90% coverage for the primary method.

It also reports how often each planted row's claim is graded ``reliable`` in
``marts.claim_reliability`` (metric level): a trap (true effect 0) should never be, a clean
real effect should be most of the time. A script, not a test:

    .venv/bin/python benchmarks/coverage.py --seeds 20 --scale 0.3 [--out coverage.csv]
        [--grades-out grades.csv] [--benefits-out benefits.csv] [--keep DIR] [--world SEED]

``--world SEED`` keeps one business (the one ``roi demo --seed SEED`` draws: its staffing,
demand wobbles and planted truths) and re-draws only its records, seed after seed. That
answers a narrower question than the default: is one business's interval that misses its
truth an unlucky draw of records, or is the estimator off for that business? Noise the
business itself carries (demand and KPI wobbles) is then held fixed, so metrics driven by it
(monthly KPIs, error rates) can show a bias that averages out over businesses.

Per planted row it prints the primary method's coverage, the mean and spread of its error
(estimate - truth) and its mean standard error (interval half-width / 1.96): a standard
error well above the spread means the intervals are conservative; below it, too narrow.
It prints the same for the money step: how often each planted row's benefit interval
(``marts.initiative_metric_money``) covers its ``true_benefit`` (``--benefits-out FILE``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from pipelines import cli
from roi_ledger.demo import generate_demo_business


def joint_members(truth: pl.DataFrame) -> dict[str, list[str]]:
    """``joint:<a>+<b>`` row id -> its member initiatives."""
    ids = truth.filter(pl.col("initiative_id").str.starts_with("joint:"))["initiative_id"]
    return {row_id: row_id.removeprefix("joint:").split("+") for row_id in ids}


def covers(low: str, truth: str, high: str) -> pl.Expr:
    return ((pl.col(low) <= pl.col(truth)) & (pl.col(truth) <= pl.col(high))).alias("covers")


def truth_for_estimates(truth: pl.DataFrame) -> pl.DataFrame:
    """One truth per initiative x metric; joint rows replace each member's own truth."""
    members = joint_members(truth)
    rows = truth.filter(~pl.col("initiative_id").is_in(list(members)))
    for row in truth.filter(pl.col("initiative_id").is_in(list(members))).iter_rows(named=True):
        rows = rows.with_columns(
            pl.when(pl.col("initiative_id").is_in(members[row["initiative_id"]]) & (pl.col("metric") == row["metric"]))
            .then(pl.lit(row["true_effect_abs"]))
            .otherwise(pl.col("true_effect_abs"))
            .alias("true_effect_abs")
        )
    return rows.select("initiative_id", "metric", "true_effect_abs")


def benefits_vs_truth(money: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per planted row with a money value: the money step's benefit and 95% interval for it
    (``marts.initiative_metric_money``, counted rows), its ``true_benefit`` and whether the
    interval covers it. A ``joint:`` row is judged against the sum over its members (their
    shares of one benefit), and its members are not judged alone."""
    priced = truth.filter(pl.col("true_benefit").is_not_null())
    members = joint_members(priced)
    in_a_joint = {(m, row["metric"]) for row in priced.iter_rows(named=True) for m in members.get(row["initiative_id"], [])}
    counted = money.filter(pl.col("counted"))
    rows = []
    for row in priced.iter_rows(named=True):
        if (row["initiative_id"], row["metric"]) in in_a_joint:
            continue
        ids = members.get(row["initiative_id"], [row["initiative_id"]])
        part = counted.filter(pl.col("initiative_id").is_in(ids) & (pl.col("metric") == row["metric"]))
        rows.append(
            {
                "initiative_id": row["initiative_id"],
                "metric": row["metric"],
                "true_benefit": row["true_benefit"],
                "benefit": part["benefit"].sum() if part.height else None,
                "benefit_low": part["benefit_low"].sum() if part.height else None,
                "benefit_high": part["benefit_high"].sum() if part.height else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "initiative_id": pl.String, "metric": pl.String, "true_benefit": pl.Float64,
            "benefit": pl.Float64, "benefit_low": pl.Float64, "benefit_high": pl.Float64,
        },
    ).with_columns(covers("benefit_low", "true_benefit", "benefit_high"))


def measure(warehouse: Path, truth_path: Path, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """What one run published, set against its planted truth: (every estimate with its truth
    and whether it covers, every planted row's grade, every planted row's benefit)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        effects = con.sql("select * from marts.initiative_effects").pl()
        grades = con.sql(
            "select initiative_id, metric, grade, reasons from marts.claim_reliability"
            " where metric is not null"
        ).pl()
        money = con.sql("select * from marts.initiative_metric_money").pl()
    planted = pl.read_csv(truth_path)
    truth = truth_for_estimates(planted)
    estimates = effects.join(truth, on=["initiative_id", "metric"], how="inner").with_columns(
        pl.lit(seed).alias("seed"), covers("ci_low", "true_effect_abs", "ci_high")
    )
    graded = grades.join(truth, on=["initiative_id", "metric"], how="inner").with_columns(
        pl.lit(seed).alias("seed")
    )
    benefits = benefits_vs_truth(money, planted).with_columns(pl.lit(seed).alias("seed"))
    return estimates, graded, benefits


def run_seed(
    seed: int, scale: float, workdir: Path, world: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Draw one business, run the nightly job on it and ``measure`` what it published.

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
    return measure(warehouse, business.truth_path, seed)


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


def coverage_by_method(estimates: pl.DataFrame) -> pl.DataFrame:
    return (
        estimates.drop_nulls("ci_low")
        .group_by("method", "is_primary")
        .agg(pl.col("covers").mean().alias("coverage"), pl.len().alias("estimates"))
        .sort("method", "is_primary")
    )


def _calibration(estimate: str, truth: str, low: str, high: str) -> list[pl.Expr]:
    """Coverage, mean and spread of the error, and the mean standard error (half-width / 1.96)."""
    error = pl.col(estimate) - pl.col(truth)
    return [
        pl.col("covers").mean().alias("coverage"),
        error.mean().alias("mean_error"),
        error.std().alias("sd_error"),
        ((pl.col(high) - pl.col(low)) / (2 * 1.96)).mean().alias("mean_se"),
        pl.len().alias("estimates"),
    ]


def primary_calibration(estimates: pl.DataFrame) -> pl.DataFrame:
    """Per planted row, the primary method's coverage and error (``_calibration``)."""
    return (
        estimates.filter(pl.col("is_primary"))
        .group_by("initiative_id", "metric", "method")
        .agg(_calibration("effect_abs", "true_effect_abs", "ci_low", "ci_high"))
        .sort("initiative_id")
    )


def benefit_calibration(benefits: pl.DataFrame) -> pl.DataFrame:
    """Per planted row, how often the benefit interval covers the true benefit, and its error."""
    return (
        benefits.group_by("initiative_id", "metric")
        .agg(_calibration("benefit", "true_benefit", "benefit_low", "benefit_high"))
        .sort("initiative_id")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--out", type=Path, help="write every estimate with its truth here (CSV)")
    parser.add_argument("--grades-out", type=Path, help="write every planted row's grade here (CSV)")
    parser.add_argument(
        "--benefits-out", type=Path, help="write every planted row's benefit and its truth here (CSV)"
    )
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
        runs = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            runs.append(run_seed(seed, args.scale, workdir, args.world))
            print(f"seed {seed} done", flush=True)
    estimates, grades, benefits = (pl.concat(part) for part in zip(*runs))
    for path, frame in ((args.out, estimates), (args.grades_out, grades), (args.benefits_out, benefits)):
        if path:
            frame.write_csv(path)
    with pl.Config(tbl_rows=100, tbl_width_chars=200):
        print(coverage_by_method(estimates))
        print(primary_calibration(estimates))
        print(grade_rates(grades))
        print(benefit_calibration(benefits))


if __name__ == "__main__":
    main()
