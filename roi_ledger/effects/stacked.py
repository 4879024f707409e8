"""Stacked difference-in-differences for rollouts in phases (Cengiz, Dube, Lindner & Zipperer
2019; Wing, Freedman & Hollingsworth 2024).

Each go-live cohort (units going live together) gets its own sub-experiment: its treated units
and the comparison units no phase of the initiative reaches, windows labelled relative to *that*
cohort's go-live. The sub-experiments are stacked, each with its own unit and period fixed
effects, so no cohort is ever compared with another cohort's treated periods (the bias of
two-way fixed effects on staggered rollouts). One coefficient on treated x after is estimated
by weighted least squares with Wing et al.'s corrective weights — a comparison unit-period in
cohort c's stack weighs ``(treated_c / treated) / (comparison_c / comparison)`` — so the
estimate is the average effect over the cohorts, each by its share of treated unit-periods,
rather than a variance-weighted mix.

Why beside Callaway & Sant'Anna (``staggered.py``): their group-time effects compare each period
with the single last period before go-live, so one week's noise enters every estimate, and the
interval was 2.4 times the correctly specified model's on weekly data (``benchmarks/inference.py``).
The stacked regression uses every before period, as the single-date DiD does, and gets the
same interval machinery: the wild cluster restricted bootstrap by unit (a unit in several stacks
is one cluster) where each arm has ``MIN_CLUSTERS_PER_ARM`` units, else nothing (Callaway &
Sant'Anna stays the primary). The treated units' own seasons are adjusted for as in the DiD
(``did.treated_seasons``: yearly Fourier pairs chosen by BIC, or none).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import statsmodels.formula.api as smf

from roi_ledger.effects.ar1_errors import MAX_PANEL_OBSERVATIONS, noise_correlation, series_lags
from roi_ledger.effects.did import (
    MANY_CLUSTERS_PER_ARM,
    MIN_CLUSTERS_PER_ARM,
    TWFE_COLUMNS,
    Interval,
    Specification,
    did_frame,
    model_data,
    pooled_noise,
    treated_seasons,
    twfe_formula,
)
from roi_ledger.effects.panel import CONTROL, POST, PRE, TREATED, Panel, label_windows
from roi_ledger.effects.registry import PHASED_ROLLOUT, estimator
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.effects.seasons import period_number, season_of
from roi_ledger.effects.wild_bootstrap import wild_cluster_bootstrap
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "stacked_did"


def stack(panel: Panel) -> pl.DataFrame:
    """One sub-experiment per go-live cohort (its treated units and the comparison units,
    windows relative to its go-live), stacked with stack-prefixed unit and period keys and the
    model columns of ``did.did_frame``, plus ``unit`` (the real unit: the bootstrap's cluster)."""
    initiative = panel.initiative
    controls = panel.frame.filter(pl.col("role") == CONTROL).drop(["window", "go_live"])
    parts = []
    for number, (go_live, units) in enumerate(
        panel.treated.group_by("go_live").agg(pl.col("unit_id").unique()).sort("go_live").iter_rows()
    ):
        treated = panel.treated.filter(pl.col("unit_id").is_in(units))
        relabelled = label_windows(
            controls, go_live=go_live, ramp_up_days=initiative.ramp_up_days, retired_on=initiative.retired_on
        ).select(treated.columns)
        parts.append(pl.concat([treated, relabelled]).with_columns(pl.lit(number).alias("stack")))
    frame = pl.concat(parts).filter(pl.col("window").is_in([PRE, POST])).drop_nulls("value")
    return frame.with_columns(
        pl.col("unit_id").alias("unit"),
        (pl.col("stack").cast(pl.String) + ":" + pl.col("unit_id")).alias("unit_id"),
        (pl.col("stack").cast(pl.String) + ":" + pl.col("period_start").cast(pl.String)).alias("period_key"),
        (pl.col("role") == TREATED).cast(pl.Int8).alias("treated"),
        (pl.col("window") == POST).cast(pl.Int8).alias("after"),
        season_of(panel.period).alias("season"),
        period_number(panel.period).alias("t"),
    ).with_columns((pl.col("treated") * pl.col("after")).alias("treated_after"))


def corrective_weights(frame: pl.DataFrame) -> np.ndarray:
    """Wing et al.'s weights: 1 for treated rows; for a comparison row of stack c,
    ``(treated_c / treated) / (comparison_c / comparison)``, counted in unit-periods."""
    counts = frame.group_by("stack", "treated").len()
    total = counts.group_by("treated").agg(pl.col("len").sum().alias("total"))
    shares = counts.join(total, on="treated").with_columns((pl.col("len") / pl.col("total")).alias("share"))
    treated_share = shares.filter(pl.col("treated") == 1).select("stack", pl.col("share").alias("treated_share"))
    weights = (
        frame.select("stack", "treated")
        .join(shares.select("stack", "treated", "share"), on=["stack", "treated"], how="left", maintain_order="left")
        .join(treated_share, on="stack", how="left", maintain_order="left")
        .select(pl.when(pl.col("treated") == 1).then(1.0).otherwise(pl.col("treated_share") / pl.col("share")))
    )
    return weights.to_series().fill_null(0.0).to_numpy()


def wanders(panel: Panel) -> bool:
    """The units' noise wanders so slowly that the last period before go-live is a better
    baseline than the mean of all of them, which makes Callaway & Sant'Anna's single-base
    comparison the narrower one: this estimator then steps aside. Judged on the noise (AR(1)
    plus white noise, ``ar1_errors.panel_noise``) of the before window's two-way fixed-effects
    residuals, pooled over at most ``MAX_PANEL_OBSERVATIONS`` of them (the first units in order):
    the variance of the after mean minus the before mean against that of the after mean minus
    the last before period, for the treated units' typical window lengths."""
    before = did_frame(panel).filter(pl.col("after") == 0)
    per_unit = max(1, before.group_by("unit_id").len()["len"].max())
    units = sorted(before["unit_id"].unique().to_list())[: max(2, MAX_PANEL_OBSERVATIONS // per_unit)]
    noise = pooled_noise(before.filter(pl.col("unit_id").is_in(units)), Specification(seasonal=False))
    if noise is None:
        return False
    windows = panel.treated.group_by("unit_id", "window").len()
    pre = int(windows.filter(pl.col("window") == PRE)["len"].median() or 0)
    post = int(windows.filter(pl.col("window") == POST)["len"].median() or 0)
    if pre < 2 or post < 1:
        return False
    correlation = noise_correlation(*noise, series_lags(np.arange(pre + post)))
    all_before = np.concatenate([-np.full(pre, 1 / pre), np.full(post, 1 / post)])
    last_before = np.concatenate([np.zeros(pre - 1), [-1.0], np.full(post, 1 / post)])
    return float(last_before @ correlation @ last_before) < float(all_before @ correlation @ all_before)


def stacked_interval(frame: pl.DataFrame, spec, confidence: float, many: bool) -> Interval | None:
    """The weighted stacked regression's coefficient on treated x after and its interval: errors
    clustered by real unit (CR1, t with G - 1 df) with many units in both arms, else the wild
    cluster restricted bootstrap on the weight-scaled regression (None when it cannot bound it)."""
    data = model_data(frame, spec, (*TWFE_COLUMNS, "unit"))
    weights = corrective_weights(frame)
    if many:
        groups = data["unit"].astype("category").cat.codes
        fit = smf.wls(twfe_formula(spec), data=data, weights=weights).fit(
            cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True, "df_correction": True}, use_t=True
        )
        clusters = int(groups.nunique())
        low, high = (float(v) for v in fit.conf_int(1 - confidence).loc["treated_after"])
        return Interval(
            float(fit.params["treated_after"]),
            low,
            high,
            float(fit.pvalues["treated_after"]),
            f"cluster-robust by unit (CR1), t with {clusters - 1} df",
        )
    model = smf.ols(twfe_formula(spec), data=data)
    scale = np.sqrt(weights)
    column = list(model.exog_names).index("treated_after")
    others = np.delete(model.exog, column, axis=1) * scale[:, None]
    result = wild_cluster_bootstrap(
        model.endog * scale, model.exog[:, column] * scale, others, data["unit"].to_numpy(), confidence
    )
    if result is None or result.low is None or result.high is None:
        return None
    return Interval(result.effect, result.low, result.high, result.p_value, result.description)


@estimator(METHOD, preference=8, uses_comparison_units=True, designs=[PHASED_ROLLOUT], parallel_trends=True)
def estimate_stacked_did(panel: Panel, confidence: float = DEFAULT_CONFIDENCE_LEVEL) -> EffectEstimate | None:
    """Stacked difference-in-differences: one sub-experiment per go-live cohort against the
    comparison units, stacked, with corrective weights and the wild cluster bootstrap by unit."""
    if not panel.is_staggered:
        return None
    frame = stack(panel)
    treated_units, control_units = (frame.filter(pl.col("treated") == flag)["unit"].n_unique() for flag in (1, 0))
    if treated_units < MIN_CLUSTERS_PER_ARM or control_units < MIN_CLUSTERS_PER_ARM:
        return None
    if frame.group_by("treated", "after").len().height < 4 or wanders(panel):
        return None
    spec = treated_seasons(frame, panel.period)
    interval = stacked_interval(
        frame, spec, confidence, many=min(treated_units, control_units) >= MANY_CLUSTERS_PER_ARM
    )
    if interval is None:
        return None
    treated = frame.filter(pl.col("treated") == 1)
    observed = float(treated.filter(pl.col("after") == 1)["value"].mean())
    return EffectEstimate(
        initiative_id=panel.initiative.id,
        metric=panel.metric,
        method=METHOD,
        period=panel.period,
        pre_periods=int(treated.filter(pl.col("after") == 0)["period_start"].n_unique()),
        post_periods=int(treated.filter(pl.col("after") == 1)["period_start"].n_unique()),
        baseline_value=float(treated.filter(pl.col("after") == 0)["value"].mean()),
        observed_value=observed,
        counterfactual_value=observed - interval.effect,
        effect_abs=interval.effect,
        ci_low=interval.low,
        ci_high=interval.high,
        p_value=interval.p_value,
        n_treated_units=treated_units,
        n_control_units=control_units,
        inference=(
            f"stacked DiD over {frame['stack'].n_unique()} go-live cohorts vs never-reached units, "
            f"corrective weights (Wing et al. 2024); {interval.inference}{spec.describe()}"
        ),
    )
