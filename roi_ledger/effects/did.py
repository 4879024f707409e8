"""Difference-in-differences against control units, with unit and period fixed effects.

The point estimate is the two-way fixed-effects coefficient on ``treated x after`` (for one
go-live date this equals the treated units' before/after change minus the controls'). How its
interval is obtained depends on what the data has, because the usual cluster-robust standard
error is badly wrong with few clusters:

- enough clusters (``MIN_CLUSTERS_PER_ARM`` treated and control units or more): standard
  errors clustered by unit with the small-sample (CR1) correction, t with G-1 degrees of
  freedom;
- one or very few treated units and many controls (``MIN_PLACEBO_CONTROLS``): a permutation
  interval over the controls (placebo in space, as synthetic-control studies do): the
  estimate is repeated with each set of controls posing as treated; the spread of those
  placebo effects is the standard error, and the share at least as large is the p-value;
- few units but long series (``MIN_SERIES_PERIODS`` before and after): the treated-minus-
  control difference series regressed on the after window, with autocorrelation-robust
  (Newey-West HAC) errors;
- otherwise the CR1 interval is still given, with a note that it rests on few clusters.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import statsmodels.formula.api as smf
from scipy import stats

from roi_ledger.effects.panel import CONTROL, POST, PRE, TREATED, Panel
from roi_ledger.effects.result import EffectEstimate

METHOD = "did"
MIN_CLUSTERS_PER_ARM = 5
MAX_PLACEBO_TREATED = 3
MIN_PLACEBO_CONTROLS = 10
MAX_PLACEBO_SETS = 500
MIN_SERIES_PERIODS = 8


def did_frame(panel: Panel) -> pl.DataFrame:
    """Treated and control unit-periods in the before and after windows, with model columns."""
    frame = panel.frame.filter(pl.col("window").is_in([PRE, POST])).drop_nulls("value")
    return frame.with_columns(
        (pl.col("role") == TREATED).cast(pl.Int8).alias("treated"),
        (pl.col("window") == POST).cast(pl.Int8).alias("after"),
        pl.col("period_start").cast(pl.String).alias("period_key"),
    ).with_columns((pl.col("treated") * pl.col("after")).alias("treated_after"))


FORMULA = "value ~ treated_after + C(unit_id) + C(period_key)"


def twfe_effect(frame: pl.DataFrame) -> float:
    """The coefficient on treated x after in a regression with unit and period fixed effects."""
    data = frame.select("value", "unit_id", "period_key", "treated_after").to_pandas()
    return float(smf.ols(FORMULA, data=data).fit().params["treated_after"])


def placebo_effects(frame: pl.DataFrame, n_treated: int, seed: int = 0) -> np.ndarray:
    """DiD estimates with sets of control units posing as the treated ones."""
    controls = frame.filter(pl.col("treated") == 0)
    units = sorted(controls["unit_id"].unique().to_list())
    size = min(n_treated, len(units) - 1)
    sets = list(itertools.combinations(units, size))
    if len(sets) > MAX_PLACEBO_SETS:
        rng = np.random.default_rng(seed)
        sets = [sets[i] for i in rng.choice(len(sets), MAX_PLACEBO_SETS, replace=False)]
    effects = []
    for fake in sets:
        placebo = controls.with_columns(
            (pl.col("unit_id").is_in(list(fake)).cast(pl.Int8) * pl.col("after")).alias("treated_after")
        )
        effects.append(simple_did(placebo, list(fake)))
    return np.array(effects)


def simple_did(frame: pl.DataFrame, treated_units: list[str]) -> float:
    """Mean change of the treated units minus mean change of the others (one go-live date).

    Equal to the fixed-effects coefficient on a balanced panel; used for the many placebo
    re-estimates, where a regression each time would be slow.
    """
    by_group = (
        frame.with_columns(pl.col("unit_id").is_in(treated_units).alias("fake_treated"))
        .group_by("fake_treated", "after")
        .agg(pl.col("value").mean())
    )
    mean = {(row["fake_treated"], row["after"]): row["value"] for row in by_group.iter_rows(named=True)}
    return (mean[(True, 1)] - mean[(True, 0)]) - (mean[(False, 1)] - mean[(False, 0)])


def difference_series_interval(frame: pl.DataFrame) -> tuple[float, float, float, float]:
    """Effect, its 95% interval and p-value from the treated-minus-control series, HAC errors."""
    means = frame.group_by("period_start", "treated", "after").agg(pl.col("value").mean())
    wide = (
        means.pivot(on="treated", index=["period_start", "after"], values="value")
        .drop_nulls()
        .sort("period_start")
        .with_columns((pl.col("1") - pl.col("0")).alias("difference"))
    )
    data = wide.select("difference", "after").to_pandas()
    lags = max(1, int(4 * (len(data) / 100) ** (2 / 9)))
    model = smf.ols("difference ~ after", data=data).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
    low, high = model.conf_int(0.05).loc["after"]
    return float(model.params["after"]), float(low), float(high), float(model.pvalues["after"])


def estimate_difference_in_differences(panel: Panel) -> EffectEstimate | None:
    frame = did_frame(panel)
    treated_units = frame.filter(pl.col("treated") == 1)["unit_id"].unique().to_list()
    control_units = frame.filter(pl.col("treated") == 0)["unit_id"].unique().to_list()
    windows = frame.group_by("treated", "after").len()
    if windows.height < 4 or not control_units:
        return None  # needs treated and control units both before and after

    effect = twfe_effect(frame)
    n_treated, n_control = len(treated_units), len(control_units)
    pre_periods = frame.filter((pl.col("treated") == 1) & (pl.col("after") == 0))["period_start"].n_unique()
    post_periods = frame.filter((pl.col("treated") == 1) & (pl.col("after") == 1))["period_start"].n_unique()
    note = ""

    if n_treated >= MIN_CLUSTERS_PER_ARM and n_control >= MIN_CLUSTERS_PER_ARM:
        low, high, p_value, inference = _cluster_interval(frame, effect)
    elif n_treated <= MAX_PLACEBO_TREATED and n_control >= MIN_PLACEBO_CONTROLS:
        placebos = placebo_effects(frame, n_treated)
        se = float(np.std(placebos, ddof=1))
        low, high = effect - 1.96 * se, effect + 1.96 * se
        p_value = float((np.sum(np.abs(placebos) >= abs(effect)) + 1) / (len(placebos) + 1))
        inference = f"placebo in space over {len(placebos)} sets of control units (SE = spread of placebo effects)"
    elif pre_periods >= MIN_SERIES_PERIODS and post_periods >= MIN_SERIES_PERIODS:
        _, low, high, p_value = difference_series_interval(frame)
        inference = "treated-minus-control series, Newey-West HAC errors"
    else:
        low, high, p_value, inference = _cluster_interval(frame, effect)
        note = f"only {n_treated} treated and {n_control} control units: the interval is rough"

    treated_pre = frame.filter((pl.col("treated") == 1) & (pl.col("after") == 0))["value"].mean()
    observed = frame.filter((pl.col("treated") == 1) & (pl.col("after") == 1))["value"].mean()
    return EffectEstimate(
        initiative_id=panel.initiative.id,
        metric=panel.metric,
        method=METHOD,
        period=panel.period,
        pre_periods=pre_periods,
        post_periods=post_periods,
        baseline_value=float(treated_pre),
        observed_value=float(observed),
        counterfactual_value=float(observed) - effect,
        effect_abs=effect,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n_treated_units=n_treated,
        n_control_units=n_control,
        inference=inference,
        note=note,
    )


def _cluster_interval(frame: pl.DataFrame, effect: float) -> tuple[float, float, float, str]:
    data = frame.select("value", "unit_id", "period_key", "treated_after").to_pandas()
    groups = data["unit_id"].astype("category").cat.codes
    model = smf.ols(FORMULA, data=data).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True, "df_correction": True}, use_t=True
    )
    clusters = int(groups.nunique())
    se = float(model.bse["treated_after"])
    if not math.isfinite(se):
        return None, None, None, "cluster-robust SE not computable"  # type: ignore[return-value]
    quantile = stats.t.ppf(0.975, clusters - 1)
    p_value = float(2 * stats.t.sf(abs(effect / se), clusters - 1)) if se > 0 else None
    return effect - quantile * se, effect + quantile * se, p_value, f"cluster-robust by unit (CR1), t with {clusters - 1} df"
