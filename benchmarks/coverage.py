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
        [--replays-out replays.csv] [--no-replays] [--null-reps 100]

It ends with one summary table: primary coverage, the share of clean real effects graded
``reliable`` (all of them, and those the data can show: true effect at least the claim's
minimum detectable effect in ``marts.claim_power``), the share of traps flagged, and — from
**clean placebo replays** (per claim, one replay on the business's own data where nothing
happened, ``roi_ledger.claims.replays``, with a clean effect of six standard errors planted) —
the share graded ``reliable`` and each check's false-alarm rate; with ``--null-reps N``, how
many of N simulated null businesses watched for a year of nightly runs are ever past the
ordinary and the always-valid interval.

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
import sys
import tempfile
from pathlib import Path

import duckdb
import polars as pl
from statsmodels.stats.proportion import proportion_confint

from pipelines.commands.demo import DEMO_SALT
from pipelines.commands.exit_codes import EXIT_OK
from pipelines.commands.run import run as roi_run
from roi_ledger.claims.engine import grade_claims, run_claim_checks
from roi_ledger.claims.labels import FIRED, Grade
from roi_ledger.claims.replays import replay_designs
from roi_ledger.demo import generate_demo_business
from roi_ledger.effects import estimate_effects, run_estimator
from roi_ledger.effects.panel import POST, TREATED, build_panel
from roi_ledger.effects.registry import Estimator, estimator_of
from roi_ledger.register import Initiative, Register
from roi_ledger.run_context import resolve_run_context

PLANTED_Z = 6.0  # a clean replay's planted effect, in standard errors of its null estimate


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
    in_a_joint = {
        (m, row["metric"]) for row in priced.iter_rows(named=True) for m in members.get(row["initiative_id"], [])
    }
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
            "initiative_id": pl.String,
            "metric": pl.String,
            "true_benefit": pl.Float64,
            "benefit": pl.Float64,
            "benefit_low": pl.Float64,
            "benefit_high": pl.Float64,
        },
    ).with_columns(covers("benefit_low", "true_benefit", "benefit_high"))


def measure(warehouse: Path, truth_path: Path, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """What one run published, set against its planted truth: (every estimate with its truth
    and whether it covers, every planted row's grade, every planted row's benefit)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        effects = con.sql("select * from marts.initiative_effects").pl()
        grades = con.sql(
            "select r.initiative_id, r.metric, r.grade, r.reasons, p.mde_abs"
            " from marts.claim_reliability r left join marts.claim_power p using (initiative_id, metric)"
            " where r.metric is not null"
        ).pl()
        money = con.sql("select * from marts.initiative_metric_money").pl()
    planted = pl.read_csv(truth_path)
    truth = truth_for_estimates(planted)
    estimates = effects.join(truth, on=["initiative_id", "metric"], how="inner").with_columns(
        pl.lit(seed).alias("seed"), covers("ci_low", "true_effect_abs", "ci_high")
    )
    notes = (
        planted.select("initiative_id", "metric", pl.col("note").fill_null("")) if "note" in planted.columns else None
    )
    graded = grades.join(truth, on=["initiative_id", "metric"], how="inner").with_columns(pl.lit(seed).alias("seed"))
    graded = (
        graded.join(notes, on=["initiative_id", "metric"], how="left")
        if notes is not None
        else graded.with_columns(note=pl.lit(""))
    )
    graded = graded.with_columns(
        pl.when(pl.col("true_effect_abs") == 0)
        .then(pl.lit("trap"))
        .when(pl.col("note").fill_null("").str.starts_with("overlap"))
        .then(pl.lit("overlap"))
        .otherwise(pl.lit("clean"))
        .alias("kind")
    ).drop("note")
    benefits = benefits_vs_truth(money, planted).with_columns(pl.lit(seed).alias("seed"))
    return estimates, graded, benefits


def replay_checks(warehouse: Path, config: Path, data: Path, as_of, seed: int) -> pl.DataFrame:
    """Placebo replays with every claim check: for each claim, one replay on the business's own
    data where nothing happened (``roi_ledger.claims.replays``), with a clean effect of
    ``PLANTED_Z`` standard errors planted in its treated units after go-live. Nothing is wrong
    with such a claim, so every check that fires on it and counts toward the grade is a false
    alarm, and its grade should be ``reliable``. One row per replay x check."""
    import datetime as dt

    context = resolve_run_context(config, data, as_of=as_of, started_at=dt.datetime.now(dt.UTC))
    register = context.register
    with duckdb.connect(str(warehouse), read_only=True) as con:
        series = con.sql("select * from marts.metric_series").pl()
        primary = con.sql("select * from marts.initiative_effects where is_primary").pl()
    traits = context.traits(set(series["metric"].unique().to_list()))
    catalogue = list(context.catalogue)
    rows = []
    for number, claim in enumerate(primary.iter_rows(named=True)):
        initiative = next((i for i in register.initiatives if i.id == claim["initiative_id"]), None)
        registered = estimator_of(claim["method"])
        if initiative is None or registered is None:
            continue
        replay = clean_replay(register, initiative, registered, claim, series, traits, seed=seed, number=number)
        if replay is None:
            continue
        kind, alone, planted = replay
        rows += checks_on_replay(alone, planted, claim, kind, seed=seed, catalogue=catalogue, traits=traits)
    return pl.DataFrame(
        rows,
        schema={
            "seed": pl.Int64,
            "initiative_id": pl.String,
            "metric": pl.String,
            "replay": pl.String,
            "check_id": pl.String,
            "check_class": pl.String,
            "fired": pl.Boolean,
            "grade": pl.String,
            "message": pl.String,
        },
    )


def clean_replay(
    register: Register,
    initiative: Initiative,
    registered: Estimator,
    claim: dict,
    series: pl.DataFrame,
    traits: dict,
    *,
    seed: int,
    number: int,
) -> tuple[str, Register, pl.DataFrame] | None:
    """(the kind of replay, a register holding only the replay's initiative, the replay's rows with
    a clean effect of ``PLANTED_Z`` standard errors planted after go-live) for one claim; None where
    no replay can be drawn or estimated, or one is too noisy for a clean effect of plausible size."""
    thresholds = register.thresholds_for(initiative)
    metric_series = series.filter(pl.col("metric") == claim["metric"])
    designs = replay_designs(
        register,
        initiative,
        claim["metric"],
        metric_series,
        traits,
        min_pre=thresholds.min_pre(claim["period"]),
        min_post=thresholds.min_post(claim["period"]),
        seed=seed * 1000 + number,
    )
    if not designs:
        return None
    kind, _, fake, data_rows = designs[(seed + number) % len(designs)]
    fake = fake.model_copy(update={"metrics": [claim["metric"]]})
    alone = register.model_copy(update={"initiatives": [fake]})
    panel = build_panel(alone, fake, claim["metric"], data_rows, traits)
    null = run_estimator(registered, panel, register.business.confidence_level) if panel else None
    if null is None or null.ci_low is None or not null.counterfactual_value:
        return None
    se = (null.ci_high - null.ci_low) / (2 * 1.96)
    lift = PLANTED_Z * se / abs(null.counterfactual_value)
    if lift > thresholds.max_plausible_change / 2:
        return None  # too noisy a replay for a clean effect of plausible size: no clean claim to judge
    treated_after = panel.frame.filter((pl.col("role") == TREATED) & (pl.col("window") == POST)).select(
        "unit_id", "period_start"
    )
    planted = (
        data_rows.join(
            treated_after.with_columns(pl.lit(True).alias("lifted")), on=["unit_id", "period_start"], how="left"
        )
        .with_columns(
            pl.when(pl.col("lifted")).then(pl.col("value") * (1 + lift)).otherwise(pl.col("value")).alias("value")
        )
        .drop("lifted")
    )
    return kind, alone, planted


def checks_on_replay(
    alone: Register, planted: pl.DataFrame, claim: dict, kind: str, *, seed: int, catalogue: list, traits: dict
) -> list[dict]:
    """Every claim check on a clean replay: one row per check, whether it fired (and counts
    toward the grade) and the claim's grade."""
    estimates = estimate_effects(alone, planted, traits=traits)
    checks = run_claim_checks(
        alone,
        planted,
        estimates,
        as_of=planted["period_end"].max(),
        catalogue=catalogue,
        traits=traits,
    )
    grades, _ = grade_claims(checks)
    grade = grades.filter(pl.col("metric") == claim["metric"])["grade"]
    return [
        {
            "seed": seed,
            "initiative_id": claim["initiative_id"],
            "metric": claim["metric"],
            "replay": kind,
            "check_id": check["check_id"],
            "check_class": check["check_class"],
            "fired": check["status"] in FIRED and bool(check["counts_toward_grade"]),
            "grade": grade[0] if len(grade) else None,
            "message": check["message"],
        }
        for check in checks.filter(pl.col("metric").is_not_null()).iter_rows(named=True)
    ]


def run_seed(
    seed: int, scale: float, workdir: Path, world: int | None = None, with_replays: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
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
    if roi_run(business.data_dir, business.config_path, warehouse, business.as_of) != EXIT_OK:
        raise SystemExit(f"seed {seed}: the nightly job failed")
    replays = (
        replay_checks(warehouse, business.config_path, business.data_dir, business.as_of, seed)
        if with_replays
        else None
    )
    return (*measure(warehouse, business.truth_path, seed), replays)


def grade_rates(graded: pl.DataFrame) -> pl.DataFrame:
    """Per planted row: how often it is graded reliable, and the most frequent reasons when not."""
    return (
        graded.with_columns(pl.col("true_effect_abs") == 0)
        .rename({"true_effect_abs": "trap"})
        .group_by("initiative_id", "metric", "trap")
        .agg(
            (pl.col("grade") == Grade.RELIABLE).mean().alias("reliable"),
            pl.col("reasons")
            .filter(pl.col("grade") != Grade.RELIABLE)
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


def wilson(hits: int, n: int) -> str:
    """A rate with its Wilson 95% interval (statsmodels)."""
    if n == 0:
        return "-"
    low, high = proportion_confint(hits, n, method="wilson")
    return f"{hits / n:.1%} ({hits}/{n}; 95% CI {low:.1%}-{high:.1%})"


def summary(
    estimates: pl.DataFrame, grades: pl.DataFrame, replays: pl.DataFrame | None, peeking: pl.DataFrame | None
) -> pl.DataFrame:
    """The one table of issue #17: coverage, clean-reliable, trap-flagged, per-check false alarms
    on clean placebo replays, and ever-reliable under the null over a year of nightly runs."""
    primary = estimates.filter(pl.col("is_primary")).drop_nulls("ci_low")
    clean, traps = grades.filter(pl.col("kind") == "clean"), grades.filter(pl.col("kind") == "trap")
    # "A clean claim with enough data": its true effect is at least the minimum detectable
    # effect (80% power under the always-valid rule) that marts.claim_power gives for its data.
    showable = clean.filter(pl.col("true_effect_abs").abs() >= pl.col("mde_abs"))
    rows = [
        ("primary intervals covering the truth (demo)", wilson(int(primary["covers"].sum()), primary.height)),
        (
            "clean real effects graded reliable (demo)",
            wilson(int((clean["grade"] == Grade.RELIABLE).sum()), clean.height),
        ),
        (
            "  of them, effects the data can show (|truth| >= the claim's MDE)",
            wilson(int((showable["grade"] == Grade.RELIABLE).sum()), showable.height),
        ),
        ("traps flagged (not reliable; demo)", wilson(int((traps["grade"] != Grade.RELIABLE).sum()), traps.height)),
    ]
    if replays is not None and replays.height:
        claims = replays.unique(["seed", "initiative_id", "metric"])
        rows.append(
            (
                "clean placebo replays graded reliable",
                wilson(int((claims["grade"] == Grade.RELIABLE).sum()), claims.height),
            )
        )
        per_check = (
            replays.filter(pl.col("check_class").is_in(["validity", "suspicion", "data"]))
            .group_by("check_id")
            .agg(pl.col("fired").sum().alias("fired"), pl.len().alias("n"))
            .sort("check_id")
        )
        rows += [
            (f"  false alarms of {r['check_id']} (clean replays)", wilson(r["fired"], r["n"]))
            for r in per_check.iter_rows(named=True)
        ]
    if peeking is not None and peeking.height:
        rows.append(
            (
                "null claims ever past the ordinary interval in a year of nights",
                wilson(int(peeking["ordinary_ever"].sum()), peeking.height),
            )
        )
        rows.append(
            (
                "null claims ever past the always-valid interval (ever reliable, at most)",
                wilson(int(peeking["always_valid_ever"].sum()), peeking.height),
            )
        )
    return pl.DataFrame(rows, schema=["measure", "rate"], orient="row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--out", type=Path, help="write every estimate with its truth here (CSV)")
    parser.add_argument("--grades-out", type=Path, help="write every planted row's grade here (CSV)")
    parser.add_argument("--benefits-out", type=Path, help="write every planted row's benefit and its truth here (CSV)")
    parser.add_argument("--keep", type=Path, help="keep each seed's business and warehouse under this folder")
    parser.add_argument(
        "--world",
        type=int,
        help="keep the business of this seed and re-draw only its records (see the docstring)",
    )
    parser.add_argument("--replays-out", type=Path, help="write every clean placebo replay's checks here (CSV)")
    parser.add_argument("--no-replays", action="store_true", help="skip the placebo replays (faster)")
    parser.add_argument(
        "--null-reps",
        type=int,
        default=0,
        help="simulated null businesses watched for a year of nightly runs (benchmarks/inference.py)",
    )
    args = parser.parse_args()
    os.environ.setdefault("ROI_PSEUDONYM_SALT", DEMO_SALT)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        runs = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            runs.append(run_seed(seed, args.scale, workdir, args.world, with_replays=not args.no_replays))
            print(f"seed {seed} done", flush=True)
    estimates, grades, benefits = (pl.concat(part) for part in list(zip(*runs))[:3])
    replays = None if args.no_replays else pl.concat([run[3] for run in runs])
    for path, frame in (
        (args.out, estimates),
        (args.grades_out, grades),
        (args.benefits_out, benefits),
        (args.replays_out, replays),
    ):
        if path and frame is not None:
            frame.write_csv(path)
    peeking = null_claims(args.null_reps, args.first_seed) if args.null_reps else None
    with pl.Config(tbl_rows=100, tbl_width_chars=200):
        print(coverage_by_method(estimates))
        print(primary_calibration(estimates))
        print(grade_rates(grades))
        print(benefit_calibration(benefits))
    with pl.Config(tbl_rows=100, tbl_width_chars=200, fmt_str_lengths=100):
        print(summary(estimates, grades, replays, peeking))


def null_claims(reps: int, seed: int) -> pl.DataFrame:
    """``benchmarks/inference.py``'s year of nightly looks at simulated businesses with no effect."""
    import importlib.util
    from concurrent.futures import ProcessPoolExecutor

    spec = importlib.util.spec_from_file_location("inference_benchmark", Path(__file__).with_name("inference.py"))
    inference = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = inference  # the worker processes find null_draw by its module's name
    spec.loader.exec_module(inference)
    jobs = [(5, inference.CONTROLS, seed * 100_000 + 50_000 + i) for i in range(reps)]
    with ProcessPoolExecutor(2) as pool:
        return pl.DataFrame(list(pool.map(inference.null_draw, jobs, chunksize=2)))


if __name__ == "__main__":
    main()
