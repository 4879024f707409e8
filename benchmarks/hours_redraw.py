"""Why are hours intervals wide? Re-draw one demo business's time sheets many times and measure.

For one hours metric (``hours_<activity>``) and the initiative that changes it, each draw
builds the weekly series the pipeline would and runs the ``did`` estimator on it, and reports

- the spread of the estimate (its real uncertainty, given this business) against the mean
  standard error of the published interval (AR(1)-plus-white-noise errors with the noise
  pooled over units) and of plain OLS on the treated-minus-control series;
- the same with the days each unit had any time-sheet entry in the week as covariates (the
  treated units' days, their change after go-live, the controls' days): a prototype of a
  working-days adjustment, not what the pipeline does;
- the residual spread the *expected* hours leave, with no sampling noise at all: what
  week-of-year season terms cannot absorb (holidays on other weekdays each year).

It skips the warehouse (the estimators' own functions on the series; the series equal the
pipeline's ``marts.metric_series``), so 100 draws take minutes. It reaches into the demo
generator's internals on purpose, to re-draw the time sheets alone. A script, not a test:

    .venv/bin/python benchmarks/hours_redraw.py [--world 7] [--draws 100] [--first-draw 100]
        [--activity invoicing] [--initiative auto_invoicing] [--scale 0.3]
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import statsmodels.formula.api as smf
from scipy import stats

from roi_ledger.catalogue import load_catalogue, metric_traits
from roi_ledger.demo import answer_key, sampling
from roi_ledger.demo import register as demo_register
from roi_ledger.demo import world as demo_world
from roi_ledger.effects.ar1_errors import fit_ar1, panel_noise
from roi_ledger.effects.did import (
    Specification,
    did_frame,
    difference_series,
    difference_series_model,
    estimate_difference_in_differences,
    pooled_noise,
)
from roi_ledger.effects.panel import build_panel
from roi_ledger.register import Initiative, Register, load_register


def weekly_series(world, hours: pl.DataFrame, activity: str, metric: str) -> pl.DataFrame:
    """``metric_series`` rows for ``hours_<activity>``: hours per unit and week, 0 for a week
    without entries, and ``days``: the days the unit had any entry that week."""
    starts = world.cal.days[::7].astype("datetime64[D]")
    grid = pl.DataFrame({"period_start": starts}).join(pl.DataFrame({"unit_id": demo_world.UNIT_IDS}), how="cross")
    weekly = hours.with_columns(pl.col("work_date").dt.truncate("1w").alias("period_start"))
    value = (
        weekly.filter(pl.col("activity") == activity)
        .group_by("unit_id", "period_start")
        .agg(pl.col("hours").sum().alias("value"))
    )
    days = weekly.group_by("unit_id", "period_start").agg(pl.col("work_date").n_unique().alias("days"))
    return (
        grid.join(value, on=["unit_id", "period_start"], how="left")
        .join(days, on=["unit_id", "period_start"], how="left")
        .with_columns(
            pl.col("value").fill_null(0.0),
            pl.col("days").fill_null(0),
            (pl.col("period_start") + pl.duration(days=7)).alias("period_end"),
            pl.lit(metric).alias("metric"),
            pl.lit("week").alias("period"),
            pl.lit(None, dtype=pl.Float64).alias("volume"),
        )
    )


def with_days(frame: pl.DataFrame, series: pl.DataFrame, treated: list[str]) -> tuple[float, float, float, float]:
    """The prototype: (effect, OLS SE, SE with the noise pooled over units, pooled rho) with
    staffed days as covariates. ``dtc`` is centred on the after window, so ``after`` is the effect there."""
    frame = frame.join(series.select("unit_id", "period_start", "days"), on=["unit_id", "period_start"])
    means = (
        frame.with_columns(pl.col("unit_id").is_in(treated).alias("group"))
        .group_by("period_start", "t", "group")
        .agg(pl.col("value").mean(), pl.col("days").mean(), pl.col("after").max(), pl.col("season").first())
        .pivot(on="group", index=["period_start", "t"], values=["value", "days", "after", "season"])
        .drop_nulls()
        .sort("period_start")
        .select(
            (pl.col("value_true") - pl.col("value_false")).alias("difference"),
            pl.col("days_true").alias("dt"),
            pl.col("days_false").alias("dc"),
            pl.col("after_true").alias("after"),
            pl.col("season_true").alias("season"),
            "t",
        )
        .to_pandas()
    )
    means["dtc"] = means["dt"] - means.loc[means["after"] == 1, "dt"].mean()
    formula = "difference ~ after + C(season) + dtc + dtc:after + dc"
    ols = smf.ols(formula, means).fit()
    unit_days = frame.with_columns((pl.col("days") - pl.col("days").mean().over("unit_id")).alias("dd")).to_pandas()
    noise = panel_noise(
        "value ~ treated_after + C(unit_id) + C(period_key) + C(season):treated + dd:C(unit_id) + "
        "dd:C(unit_id):treated_after",
        unit_days,
        unit="unit_id",
        period="t",
    )
    pooled = fit_ar1(formula, means, *(noise or (None, 1.0)), period="t")
    return float(ols.params["after"]), float(ols.bse["after"]), float(pooled.bse["after"]), pooled.rho


def main() -> None:
    args = parse_args()
    warnings.simplefilter("ignore")
    metric = f"hours_{args.activity}"

    world = demo_world._build_world(demo_world.DEFAULT_END, args.world, args.scale)
    expected = demo_world._expected(world, frozenset(world.rollouts))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "initiatives.yml"
        config.write_text(demo_register._register_text(world), encoding="utf-8")
        register = load_register(config)
    initiative = next(i for i in register.initiatives if i.id == args.initiative)
    traits = metric_traits(load_catalogue(), {m for i in register.initiatives for m in i.metrics} | {metric})
    truth = answer_key._truth(world).filter((pl.col("initiative_id") == args.initiative) & (pl.col("metric") == metric))
    true_effect = float(truth["true_effect_abs"][0])
    spec = Specification(seasonal=True)

    redraw = Redraw(world, expected, register, initiative, metric, args.activity, traits, spec)
    model, treated = noiseless_fit(redraw, args.world)
    print(f"{metric} x {args.initiative}, business {args.world}: truth {true_effect:.4f}")
    print(f"expected hours, no noise: effect {model.params['after']:.4f}, residual SD {np.sqrt(model.scale):.3f}")

    rows = [
        one_draw(redraw, draw, treated, true_effect) for draw in range(args.first_draw, args.first_draw + args.draws)
    ]
    summarise(pl.DataFrame(rows))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=int, default=7, help="the business (roi demo --seed)")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--first-draw", type=int, default=100)
    parser.add_argument("--activity", default="invoicing")
    parser.add_argument("--initiative", default="auto_invoicing")
    parser.add_argument("--scale", type=float, default=0.3)
    return parser.parse_args()


@dataclass(frozen=True)
class Redraw:
    """One business, its expected hours and the claim whose time sheets are re-drawn."""

    world: object  # the demo generator's world
    expected: object  # its expected records (``demo_world._expected``)
    register: Register
    initiative: Initiative
    metric: str
    activity: str
    traits: dict
    spec: Specification


def noiseless_fit(redraw: Redraw, world_seed: int):
    """(the difference-series model fitted to the expected hours themselves, no sampling noise;
    the treated units)."""
    world, expected, metric = redraw.world, redraw.expected, redraw.metric
    values, starts, _ = answer_key._metric_series(world, expected, metric)
    noiseless = pl.DataFrame(
        {
            "unit_id": np.repeat(demo_world.UNIT_IDS, values.shape[1]),
            "period_start": np.tile(np.asarray(starts, dtype="datetime64[D]"), values.shape[0]),
            "value": values.ravel(),
        }
    )
    template = weekly_series(
        world, sampling._sample_hours(world, expected, demo_world._stream(world_seed, "hours")), redraw.activity, metric
    )
    series = template.drop("value").join(noiseless, on=["unit_id", "period_start"])
    frame = did_frame(build_panel(redraw.register, redraw.initiative, metric, series, redraw.traits))
    treated = sorted(frame.filter(pl.col("treated") == 1)["unit_id"].unique().to_list())
    return difference_series_model(difference_series(frame, treated), redraw.spec, autocorrelated=False), treated


def one_draw(redraw: Redraw, draw: int, treated: list[str], true_effect: float) -> dict:
    """One re-draw of the time sheets: the published estimate, plain OLS and the staffed-days prototype."""
    hours = sampling._sample_hours(redraw.world, redraw.expected, demo_world._stream(draw, "hours"))
    series = weekly_series(redraw.world, hours, redraw.activity, redraw.metric)
    panel = build_panel(redraw.register, redraw.initiative, redraw.metric, series.drop("days"), redraw.traits)
    published = estimate_difference_in_differences(panel)
    frame = did_frame(panel)
    ols = difference_series_model(difference_series(frame, treated), redraw.spec, autocorrelated=False)
    effect_days, ols_days, pooled_days, rho_days = with_days(frame, series, treated)
    df = float(ols.df_resid) - 1
    return {
        "draw": draw,
        "effect": published.effect_abs,
        "covers": published.ci_low <= true_effect <= published.ci_high,
        "se_published": (published.ci_high - published.ci_low) / 2 / stats.t.ppf(0.975, df),
        "se_ols": float(ols.bse["after"]),
        "rho_pooled": (pooled_noise(frame, redraw.spec) or (np.nan, 1.0))[0],
        "effect_days": effect_days,
        "se_ols_days": ols_days,
        "se_pooled_days": pooled_days,
        "rho_pooled_days": rho_days,
    }


def summarise(draws: pl.DataFrame) -> None:
    with pl.Config(tbl_width_chars=250, tbl_cols=-1):
        print(
            draws.select(
                pl.len().alias("draws"),
                pl.col("covers").mean().alias("coverage"),
                pl.col("effect").mean().alias("mean"),
                pl.col("effect").std().alias("spread"),
                pl.col("se_published").mean(),
                pl.col("se_ols").mean(),
                pl.col("rho_pooled").mean(),
                pl.col("effect_days").mean().alias("mean_days"),
                pl.col("effect_days").std().alias("spread_days"),
                pl.col("se_ols_days").mean(),
                pl.col("se_pooled_days").mean(),
                pl.col("rho_pooled_days").mean(),
            )
        )


if __name__ == "__main__":
    main()
