"""Our estimators against maintained implementations, on the same panels (issue #36, item 5).

Each comparison names three numbers: ours, the library's on the same data, and the published one
where there is one. The libraries: ``diff-diff`` 3.13.0 (its wild cluster restricted bootstrap
follows R's ``fwildclusterboot::boottest``; its Callaway & Sant'Anna is benchmarked against R's
``did``), ``synthdid`` (a port of R's synthdid, whose DiD and placebo standard error
Arkhangelsky et al. 2021 publish) and ``moderndid`` (which ``staggered_did`` calls). The
estimators run on a ``Panel`` built from a polars frame, as in tests/test_effects.py: no warehouse.
"""

from __future__ import annotations

import math
import warnings
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats

from roi_ledger.effects.did import (
    Specification,
    did_frame,
    estimate_difference_in_differences,
    placebo_effects,
)
from roi_ledger.effects.panel import build_panel
from roi_ledger.effects.staggered import cohort_panel, estimate_staggered_did
from roi_ledger.effects.wild_bootstrap import DRAWS, SEED, TOLERANCE, WEBB_WEIGHTS, wild_cluster_bootstrap
from roi_ledger.register import parse_register
from tests.test_effects import MONDAY, register, weekly
from tests.test_wild_bootstrap import panel as dummy_panel


def yearly_panel(frame: pl.DataFrame, initiative: dict, metric: str):
    """A ``Panel`` of yearly values (columns unit_id, year, value) for one initiative."""
    text = yaml.safe_dump(
        {
            "business": {"name": "Study", "currency": "USD", "timezone": "UTC"},
            "initiatives": [{"id": "study", "name": "Study", "status": "live", "metrics": [metric], **initiative}],
        }
    )
    reg = parse_register(text, "study.yml")
    series = frame.select(
        pl.col("unit_id").cast(pl.String),
        pl.lit(metric).alias("metric"),
        pl.lit("year").alias("period"),
        pl.date(pl.col("year"), 1, 1).alias("period_start"),
        pl.date(pl.col("year") + 1, 1, 1).alias("period_end"),
        pl.col("value").cast(pl.Float64),
        pl.lit(1.0).alias("volume"),
    )
    return build_panel(reg, reg.initiatives[0], metric, series)


def diff_diff_wild(y, x, others, clusters, seed: int):
    """diff-diff's wild cluster restricted bootstrap of the coefficient on ``x``: Webb weights,
    the same number of draws as ours, two-tailed test and interval by test inversion."""
    from diff_diff.utils import wild_bootstrap_se

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its note that few clusters make any bootstrap rough
        return wild_bootstrap_se(
            np.column_stack([x, others]), y, None, clusters, 0, n_bootstrap=DRAWS, weight_type="webb", seed=seed
        )


def tied_draws(clusters: int, seed: int) -> int:
    """Draws whose Webb weights are all equal: their |t*| equals the sample's |t| exactly (the draw
    rescales the restricted residuals by one constant). We count such a tie as at least as
    extreme, diff-diff (after boottest) as not: its p-value is ours minus ties / draws."""
    weights = np.random.default_rng(seed).choice(WEBB_WEIGHTS, size=(DRAWS, clusters))
    return int(np.sum(np.all(weights == weights[:, :1], axis=1)))


PANELS = [(5, 3, 0.4), (6, 4, 0.0), (6, 9, 0.8), (8, 5, 1.0), (12, 7, 0.5), (20, 2, 0.3)]  # clusters, seed, effect


@pytest.mark.parametrize(("groups", "seed", "effect"), PANELS)
def test_wild_bootstrap_is_diff_diffs_with_the_same_draws(groups, seed, effect):
    """The same seed gives both the same Webb weight matrix (numpy's generator, one row of G per
    draw), so the two are the same computation and no Monte Carlo error separates them: the
    p-values differ only by the tied draws, and the interval ends by where each bisection stops
    (ours at ``TOLERANCE`` standard errors)."""
    y, x, others, unit = dummy_panel(groups=groups, periods=10, seed=seed, effect=effect)
    ours = wild_cluster_bootstrap(y, x, others, unit, confidence=0.95)
    library = diff_diff_wild(y, x, others, unit, seed=SEED)
    assert library.n_bootstrap == DRAWS and library.n_clusters == groups
    floor = 1 / (DRAWS + 1)  # diff-diff reports no p-value below one draw's worth
    assert max(ours.p_value - tied_draws(groups, SEED) / DRAWS, floor) == pytest.approx(library.p_value, abs=1e-12)
    if tied_draws(groups, SEED) == 0:
        assert ours.low == pytest.approx(library.ci_lower, abs=TOLERANCE * library.se)
        assert ours.high == pytest.approx(library.ci_upper, abs=TOLERANCE * library.se)


@pytest.mark.parametrize(("groups", "seed", "effect"), PANELS)
def test_wild_bootstrap_agrees_with_diff_diffs_on_independent_draws(groups, seed, effect):
    """Independent draws: both estimate the same ideal bootstrap p-value, each the mean of 1,999
    draws' indicators, so they differ by at most 4 sd of that Monte Carlo error, sqrt(2 p (1 - p) /
    1999) <= 0.016 (plus two draws' worth for the tie and floor conventions above). An interval
    end is where p crosses 5%, which one sd of Monte Carlo error (0.005 in p) moves along a t-like
    tail by about 2.2% of its distance from the estimate; two independent ends differ by sqrt(2) x
    2.2% = 3.1% per sd, so 12% is 4 sd."""
    y, x, others, unit = dummy_panel(groups=groups, periods=10, seed=seed, effect=effect)
    ours = wild_cluster_bootstrap(y, x, others, unit, confidence=0.95)
    library = diff_diff_wild(y, x, others, unit, seed=SEED + 1)
    p = (ours.p_value + library.p_value) / 2
    assert abs(ours.p_value - library.p_value) <= 4 * math.sqrt(2 * p * (1 - p) / DRAWS) + 2 / DRAWS
    assert ours.effect - ours.low == pytest.approx(ours.effect - library.ci_lower, rel=0.12)
    assert ours.high - ours.effect == pytest.approx(library.ci_upper - ours.effect, rel=0.12)


def test_did_with_the_wild_bootstrap_is_diff_diffs_difference_in_differences():
    """``did`` on 6 treated and 8 control units (the wild bootstrap path) against diff-diff's
    ``DifferenceInDifferences`` with unit and period fixed effects, wild bootstrap inference
    clustered by unit, Webb weights, the same draws: the same coefficient, p-value and interval."""
    from diff_diff import DifferenceInDifferences

    rng = np.random.default_rng(7)
    weeks, treated, controls = np.arange(20), [f"t{i}" for i in range(6)], [f"c{i}" for i in range(8)]
    values = {}
    for unit in treated + controls:
        wobble = np.zeros(len(weeks))
        for week in weeks[1:]:
            wobble[week] = 0.6 * wobble[week - 1] + rng.normal()
        drop = -1.0 * (weeks >= 10) * (unit in treated)
        values[unit] = list(10 + rng.normal(0, 2) + 0.1 * weeks + wobble + drop)
    reg = register(
        rollout=f"go_live: {MONDAY + timedelta(weeks=10)}\n    treated_units: [{', '.join(treated)}]",
        controls=f"control_units: [{', '.join(controls)}]",
    )
    panel = build_panel(reg, reg.initiatives[0], "m", weekly(values))
    ours = estimate_difference_in_differences(panel)
    assert "wild cluster restricted bootstrap" in ours.inference and "14 clusters" in ours.inference
    data = did_frame(panel).select("value", "unit_id", "period_key", "treated", "after").to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        library = DifferenceInDifferences(
            inference="wild_bootstrap",
            bootstrap_weights="webb",
            n_bootstrap=DRAWS,
            seed=SEED,
            cluster="unit_id",
            rank_deficient_action="silent",  # treated and after are absorbed by the fixed effects
        ).fit(data, outcome="value", treatment="treated", post="after", fixed_effects=["unit_id", "period_key"])
    assert ours.effect_abs == pytest.approx(library.att, abs=1e-10)
    floor = 1 / (DRAWS + 1)
    assert max(ours.p_value - tied_draws(14, SEED) / DRAWS, floor) == pytest.approx(library.p_value, abs=1e-12)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(library.conf_int, abs=TOLERANCE * library.se)


@pytest.fixture(scope="module")
def mpdta():
    import moderndid

    return moderndid.load_mpdta()


def test_callaway_santanna_on_mpdta_is_diff_diffs_and_the_published_one(mpdta):
    """Minimum wage and teen employment (mpdta: 500 counties, cohorts 2004, 2006, 2007).
    Published (Callaway & Sant'Anna 2021; R's did): group-aggregated ATT -0.031 (SE 0.0123), simple
    ATT -0.0400 (SE 0.0118). R's SEs are from its multiplier bootstrap (1,000 draws, random); the
    analytical ones here are within 5% of them."""
    import moderndid
    from diff_diff import CallawaySantAnna

    cohorts = (
        mpdta.filter(pl.col("first.treat") > 0)
        .group_by("first.treat")
        .agg(pl.col("countyreal").unique().sort().cast(pl.String).alias("units"))
        .with_columns(pl.col("units").list.len().alias("size"))
        .sort("first.treat")
    )
    phases = [
        {"units": row["units"], "go_live": date(row["first.treat"], 1, 1)} for row in cohorts.iter_rows(named=True)
    ]
    frame = mpdta.select(pl.col("countyreal").alias("unit_id"), "year", pl.col("lemp").alias("value"))
    panel = yearly_panel(frame, {"phases": phases}, "log_teen_employment")
    ours = estimate_staggered_did(panel)
    ours_se = (ours.ci_high - ours.ci_low) / 2 / stats.t.ppf(0.975, 499)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        library = CallawaySantAnna(control_group="never_treated").fit(
            mpdta.to_pandas(),
            outcome="lemp",
            unit="countyreal",
            time="year",
            first_treat="first.treat",
            aggregate="all",
        )
    by_group = {g: library.group_effects[g]["effect"] for g in cohorts["first.treat"]}
    # Group aggregation: each cohort's effect weighted by its share of treated counties (20, 40, 131).
    shares = dict(zip(cohorts["first.treat"], cohorts["size"] / cohorts["size"].sum(), strict=True))
    library_group = sum(shares[g] * effect for g, effect in by_group.items())
    assert ours.effect_abs == pytest.approx(library_group, abs=1e-9)
    assert ours.effect_abs == pytest.approx(-0.031, abs=0.0005)
    assert ours_se == pytest.approx(0.0123, rel=0.05)
    # The simple aggregation, from the same group-time effects moderndid gives us.
    table, ramp = cohort_panel(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simple = moderndid.aggte(
            moderndid.att_gt(
                data=table.select("unit_number", "t", "cohort", "value"),
                yname="value",
                tname="t",
                gname="cohort",
                idname="unit_number",
                est_method="reg",
                control_group="nevertreated",
                anticipation=ramp,
            ),
            type="simple",
        )
    assert float(simple.overall_att) == pytest.approx(library.overall_att, abs=1e-9)
    assert float(simple.overall_se) == pytest.approx(library.overall_se, rel=1e-6)
    assert library.overall_att == pytest.approx(-0.0400, abs=0.00005)
    assert library.overall_se == pytest.approx(0.0118, rel=0.05)


@pytest.fixture(scope="module")
def prop99():
    from synthdid import load_california_prop99

    frame = pl.from_pandas(load_california_prop99())
    return frame.select(
        pl.col("State").alias("unit_id"), pl.col("Year").alias("year"), pl.col("PacksPerCapita").alias("value")
    )


def test_did_on_proposition_99_is_synthdids_and_diff_diffs_and_the_published_one(prop99):
    """California against 38 states, 1970-2000, go-live 1989. Published (Arkhangelsky et al. 2021,
    Table 1): DiD -27.3, placebo SE 17.7. Our placebo effects (each control state posing as treated
    against the other 37) are synthdid's DiD on the same relabelled panels; synthdid's placebo SE
    draws 200 such relabellings at random, so it estimates their population spread (ddof 0), where
    ours takes the sample spread of all 38 (ddof 1): sqrt(38 / 37) apart, 1.3%."""
    from diff_diff import TwoWayFixedEffects
    from synthdid import did_estimate

    panel = yearly_panel(prop99, {"go_live": date(1989, 1, 1), "treated_units": ["California"]}, "packs_per_capita")
    ours = estimate_difference_in_differences(panel)
    assert "placebo in space over 38 sets" in ours.inference
    wide = prop99.pivot(on="year", index="unit_id", values="value").sort(pl.col("unit_id") == "California", "unit_id")
    outcomes = wide.drop("unit_id").to_numpy().astype(float)
    assert float(did_estimate(outcomes, N0=38, T0=19)) == pytest.approx(ours.effect_abs, abs=1e-9)
    data = did_frame(panel).select("value", "unit_id", "treated", "after").to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        library = TwoWayFixedEffects().fit(data, outcome="value", treatment="treated", post="after", unit="unit_id")
    assert library.att == pytest.approx(ours.effect_abs, abs=1e-9)
    assert ours.effect_abs == pytest.approx(-27.3, abs=0.05)

    relabelled = [float(did_estimate(outcomes[[*range(k), *range(k + 1, 38), k]], N0=37, T0=19)) for k in range(38)]
    placebos = placebo_effects(did_frame(panel), 1, Specification(seasonal=False))
    assert sorted(placebos) == pytest.approx(sorted(relabelled), abs=1e-9)
    ours_se = (ours.ci_high - ours.ci_low) / 2 / stats.t.ppf(0.975, 37)
    assert ours_se == pytest.approx(np.std(relabelled, ddof=1), rel=1e-3)
    assert ours_se == pytest.approx(17.7, rel=0.05)


def test_did_with_many_units_is_diff_diffs_cluster_robust_interval():
    """With 25 treated and 25 control units ``did`` clusters by unit (CR1, t with G - 1 df), as
    diff-diff's ``DifferenceInDifferences`` with unit and period fixed effects, clustered by unit,
    ``df_convention="cluster"``: the same coefficient, and the same CR1 variance but for one
    convention. CR1 scales by G / (G - 1) x (N - 1) / (N - K); we count every regressor in K (as
    statsmodels and Stata's ``regress, cluster()`` do), diff-diff leaves out the unit fixed effects,
    which are nested in the unit clusters (as R's fixest and Stata's reghdfe do). Ours is the wider
    by sqrt((N - K_nested) / (N - K_all)): 4.5% on these 12 weeks, nothing on long series."""
    from diff_diff import DifferenceInDifferences

    rng = np.random.default_rng(12)
    weeks = np.arange(12)
    values = {
        f"{arm}{i}": list(5 + rng.normal() + rng.normal(0, 0.5, len(weeks)) - 0.4 * (weeks >= 6) * (arm == "t"))
        for arm in ("t", "c")
        for i in range(25)
    }
    treated, controls = sorted(u for u in values if u[0] == "t"), sorted(u for u in values if u[0] == "c")
    reg = register(
        rollout=f"go_live: {MONDAY + timedelta(weeks=6)}\n    treated_units: [{', '.join(treated)}]",
        controls=f"control_units: [{', '.join(controls)}]",
    )
    panel = build_panel(reg, reg.initiatives[0], "m", weekly(values))
    ours = estimate_difference_in_differences(panel)
    assert ours.inference.startswith("cluster-robust by unit (CR1), t with 49 df")
    data = did_frame(panel).select("value", "unit_id", "period_key", "treated", "after").to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        library = DifferenceInDifferences(
            cluster="unit_id", df_convention="cluster", rank_deficient_action="silent"
        ).fit(data, outcome="value", treatment="treated", post="after", fixed_effects=["unit_id", "period_key"])
    assert ours.effect_abs == pytest.approx(library.att, abs=1e-10)
    rows, units, periods = len(data), 50, len(weeks)
    k_all = 1 + (units - 1) + (periods - 1) + 1  # constant, unit and period dummies, treated x after
    k_nested = k_all - (units - 1)
    ours_se = (ours.ci_high - ours.ci_low) / 2 / stats.t.ppf(0.975, units - 1)
    assert ours_se == pytest.approx(library.se * math.sqrt((rows - k_nested) / (rows - k_all)), rel=1e-9)
    assert (library.conf_int[1] - library.conf_int[0]) / 2 == pytest.approx(stats.t.ppf(0.975, 49) * library.se)
