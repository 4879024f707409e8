"""Staggered difference-in-differences for rollouts in phases (Callaway & Sant'Anna, 2021).

Two-way fixed effects is biased when units go live on different dates (already-treated units
serve as controls). Instead, group-time average effects ATT(g, t) are estimated for each
cohort g (units going live on the same date) against never-treated units, and aggregated by
group (``aggte(type="group")``), using the maintained ``moderndid`` implementation. The
ramp-up is handled with the ``anticipation`` argument shifted by the ramp: a cohort's
first post period is its first full period after the ramp-up, and its comparison base is the
last period before go-live.

The analytical standard error is a sum over units of their influence functions: a
cluster-robust variance by unit, which is too small when there are few units (a small
business's handful of shops, not the hundreds of counties the method was built on). As for
the DiD's cluster-robust interval, the small-sample correction for G units applies: the
variance times G / (G - 1), and t with G - 1 degrees of freedom (Cameron & Miller 2015). With
hundreds of units this changes nothing.
"""

from __future__ import annotations

import math
import warnings

import polars as pl
from scipy import stats

from roi_ledger.effects.panel import CONTROL, POST, PRE, TREATED, Panel
from roi_ledger.effects.registry import PHASED_ROLLOUT, estimator
from roi_ledger.effects.result import EffectEstimate, t_quantile
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "staggered_did"
MIN_NEVER_TREATED = 1


def cohort_panel(panel: Panel) -> tuple[pl.DataFrame, int]:
    """Balanced unit x period panel with ``cohort`` = index of each unit's first post period
    (0 = never treated), and the number of ramp periods (the anticipation window)."""
    frame = panel.frame.drop_nulls("value")
    periods = sorted(frame["period_start"].unique().to_list())
    index = {p: i + 1 for i, p in enumerate(periods)}
    frame = frame.with_columns(pl.col("period_start").replace_strict(index, return_dtype=pl.Int64).alias("t"))
    # Keep units with a value in every period (the estimator needs a balanced panel).
    complete = frame.group_by("unit_id").agg(pl.col("t").n_unique().alias("n")).filter(pl.col("n") == len(periods))
    frame = frame.filter(pl.col("unit_id").is_in(complete["unit_id"].implode()))
    first_post = (
        frame.filter((pl.col("role") == TREATED) & (pl.col("window") == POST))
        .group_by("unit_id")
        .agg(pl.col("t").min().alias("cohort"))
    )
    last_pre = (
        frame.filter((pl.col("role") == TREATED) & (pl.col("window") == PRE))
        .group_by("unit_id")
        .agg(pl.col("t").max().alias("last_pre"))
    )
    gaps = first_post.join(last_pre, on="unit_id")
    ramp = int((gaps["cohort"] - gaps["last_pre"] - 1).max()) if gaps.height else 0
    frame = (
        frame.join(first_post, on="unit_id", how="left")
        .with_columns(pl.col("cohort").fill_null(0))
        .filter((pl.col("role") == CONTROL) | pl.col("unit_id").is_in(gaps["unit_id"].implode()))
    )
    ids = {u: i + 1 for i, u in enumerate(sorted(frame["unit_id"].unique().to_list()))}
    frame = frame.with_columns(pl.col("unit_id").replace_strict(ids, return_dtype=pl.Int64).alias("unit_number"))
    return frame.select("unit_id", "unit_number", "t", "cohort", "value", "role", "window"), max(ramp, 0)


def group_aggregated_att(frame: pl.DataFrame, ramp: int):
    """Run moderndid against never-treated units, or against not-yet-treated ones when the
    never-treated group is too small for it; (None, reason) when neither works."""
    import moderndid

    for comparison in ("nevertreated", "notyettreated"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = moderndid.att_gt(
                    data=frame.select("unit_number", "t", "cohort", "value"),
                    yname="value",
                    tname="t",
                    gname="cohort",
                    idname="unit_number",
                    est_method="reg",
                    control_group=comparison,
                    anticipation=ramp,
                )
                return moderndid.aggte(result, type="group"), COMPARISON_WORDS[comparison]
        except ValueError:
            continue
    return None, None


COMPARISON_WORDS = {"nevertreated": "never-treated", "notyettreated": "not-yet-treated"}


@estimator(METHOD, preference=10, uses_comparison_units=True, designs=[PHASED_ROLLOUT], parallel_trends=True)
def estimate_staggered_did(panel: Panel, confidence: float = DEFAULT_CONFIDENCE_LEVEL) -> EffectEstimate | None:
    """Callaway & Sant'Anna group-time effects for a rollout in phases, against never-treated units."""
    if not panel.is_staggered:
        return None
    frame, ramp = cohort_panel(panel)
    treated = frame.filter(pl.col("cohort") > 0)
    never = frame.filter(pl.col("cohort") == 0)
    if treated.is_empty() or never["unit_id"].n_unique() < MIN_NEVER_TREATED:
        return None

    aggregate, comparison = group_aggregated_att(frame, ramp)
    if aggregate is None:
        return None
    effect, se = float(aggregate.overall_att), float(aggregate.overall_se)
    if not math.isfinite(effect):
        return None
    low = high = p_value = None
    units = frame["unit_id"].n_unique()
    if math.isfinite(se) and se > 0 and units > 1:
        se *= math.sqrt(units / (units - 1))
        quantile = t_quantile(confidence, units - 1)
        low, high = effect - quantile * se, effect + quantile * se
        p_value = float(2 * stats.t.sf(abs(effect / se), units - 1))

    treated_post = treated.filter(pl.col("window") == POST)
    treated_pre = treated.filter(pl.col("window") == PRE)
    observed = float(treated_post["value"].mean())
    cohorts = treated["cohort"].n_unique()
    return EffectEstimate(
        initiative_id=panel.initiative.id,
        metric=panel.metric,
        method=METHOD,
        period=panel.period,
        pre_periods=int(treated_pre["t"].n_unique()),
        post_periods=int(treated_post["t"].n_unique()),
        baseline_value=float(treated_pre["value"].mean()),
        observed_value=observed,
        counterfactual_value=observed - effect,
        effect_abs=effect,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n_treated_units=treated["unit_id"].n_unique(),
        n_control_units=never["unit_id"].n_unique(),
        inference=(
            f"Callaway & Sant'Anna group-time effects over {cohorts} cohorts vs {comparison} units, "
            f"aggregated by group (moderndid), analytical SE with the small-sample correction for "
            f"{units} units (t with {units - 1} df)"
        ),
        note="" if ramp == 0 else f"{ramp} ramp-up period(s) treated as anticipation",
    )
