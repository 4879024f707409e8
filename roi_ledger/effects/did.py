"""Difference-in-differences against control units, with unit and period fixed effects.

The point estimate is the two-way fixed-effects coefficient on ``treated x after``: for one
go-live date, the treated units' before/after change minus the controls'. When the before
window covers a full year, the treated units' own seasonal pattern (relative to the controls)
is estimated from it and adjusted for, so a go-live into the treated units' busy season is not
mistaken for an effect (the seasonal-upswing trap).

How the interval is obtained depends on what the data has, because the usual cluster-robust
standard error is badly wrong with few clusters:

- enough clusters in each arm (``MIN_CLUSTERS_PER_ARM`` treated and control units or more)
  but fewer than ``MANY_CLUSTERS_PER_ARM`` in one of them: the wild cluster restricted
  bootstrap by unit with Webb weights (``roi_ledger.effects.wild_bootstrap``), because the CR1
  t-test over-rejects with few clusters, and most when few of them are treated (5 treated of
  40 units, AR(1) noise: CR1 with t(G-1) rejects a true null 9% of the time at the 5% level,
  the bootstrap 4%, in 300 simulated panels of 20 weeks; docs/effects.md);
- many clusters in both arms: errors clustered by unit with the small-sample (CR1) correction, t with G-1
  degrees of freedom;
- one or very few treated units and many controls (``MIN_PLACEBO_CONTROLS``): a permutation
  interval over the controls (placebo in space, as synthetic-control studies do): the same
  estimate with sets of controls posing as treated; the spread of those placebo effects is
  the standard error, and the share at least as large is the p-value;
- few units but long series (``MIN_SERIES_PERIODS`` before and after): the treated-minus-
  control series regressed on the after window (and seasons) by OLS, with errors that allow
  for AR(1) noise, because such series wobble slowly; the noise's ``rho`` is estimated from
  every unit's fixed-effects residuals pooled, not from the one difference series
  (``roi_ledger.effects.ar1_errors``);
- otherwise the wild cluster bootstrap (or, when it cannot bound the effect, CR1), with a note
  that it rests on few clusters: with one or two treated clusters no cluster method is sound.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
import statsmodels.formula.api as smf
from scipy import stats

from roi_ledger.effects.ar1_errors import DESCRIPTION as AR1_DESCRIPTION
from roi_ledger.effects.ar1_errors import fit_ar1, panel_noise
from roi_ledger.effects.panel import POST, PRE, TREATED, Panel
from roi_ledger.effects.registry import estimator
from roi_ledger.effects.result import EffectEstimate, t_quantile
from roi_ledger.effects.seasons import HARMONICS, bic_harmonics, can_adjust, fourier_columns, period_number, season_of
from roi_ledger.effects.wild_bootstrap import wild_cluster_bootstrap
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "did"
MIN_CLUSTERS_PER_ARM = 5
MANY_CLUSTERS_PER_ARM = 25  # from here CR1 with t(G-1) is accurate enough (and cheaper)
MAX_PLACEBO_TREATED = 3
MIN_PLACEBO_CONTROLS = 10
MAX_PLACEBO_SETS = 500
MIN_SERIES_PERIODS = 8  # before go-live; the after window may be short


@dataclass(frozen=True)
class Interval:
    effect: float
    low: float | None
    high: float | None
    p_value: float | None
    inference: str


def did_frame(panel: Panel) -> pl.DataFrame:
    """Treated and control unit-periods in the before and after windows, with model columns."""
    frame = panel.frame.filter(pl.col("window").is_in([PRE, POST])).drop_nulls("value")
    return frame.with_columns(
        (pl.col("role") == TREATED).cast(pl.Int8).alias("treated"),
        (pl.col("window") == POST).cast(pl.Int8).alias("after"),
        pl.col("period_start").cast(pl.String).alias("period_key"),
        season_of(panel.period).alias("season"),
        period_number(panel.period).alias("t"),
    ).with_columns((pl.col("treated") * pl.col("after")).alias("treated_after"))


@dataclass(frozen=True)
class Specification:
    """What the model adjusts for beyond unit and period fixed effects."""

    seasonal: bool  # the treated units' own seasonal pattern, relative to the controls'
    # Yearly Fourier pairs for that pattern (``seasons.fourier_columns``), chosen by BIC on the
    # before window; None: a dummy per season of the year.
    harmonics: int | None = None
    period: str = "week"

    def describe(self) -> str:
        if not self.seasonal:
            return ""
        form = f" ({self.harmonics} yearly Fourier pairs)" if self.harmonics else ""
        return f"; adjusted for the treated units' own seasonality{form}"

    def season_terms(self) -> list[str]:
        """The model's season columns (``model_data`` adds them)."""
        if not self.seasonal:
            return []
        return list(fourier_columns(np.ones(1), self.period, self.harmonics)) if self.harmonics else ["C(season)"]


def model_data(frame: pl.DataFrame, spec: Specification, columns: tuple[str, ...]):
    """``columns`` of ``frame`` as a pandas frame, with the specification's Fourier columns."""
    data = frame.select(*columns).to_pandas()
    if spec.seasonal and spec.harmonics:
        for name, values in fourier_columns(data["season"].to_numpy(), spec.period, spec.harmonics).items():
            data[name] = values
    return data


def twfe_formula(spec: Specification) -> str:
    formula = "value ~ treated_after + C(unit_id) + C(period_key)"
    return formula + "".join(f" + {term}:treated" for term in spec.season_terms())


TWFE_COLUMNS = ("value", "unit_id", "period_key", "treated_after", "treated", "season")


def twfe(frame: pl.DataFrame, spec: Specification, cluster: bool = False):
    data = model_data(frame, spec, TWFE_COLUMNS)
    model = smf.ols(twfe_formula(spec), data=data)
    if not cluster:
        return model.fit()
    groups = data["unit_id"].astype("category").cat.codes
    return model.fit(
        cov_type="cluster",
        cov_kwds={"groups": groups, "use_correction": True, "df_correction": True},
        use_t=True,
    )


def treated_seasons(frame: pl.DataFrame, period: str) -> Specification:
    """Whether, and with how many yearly Fourier pairs, the treated units' own seasons (relative
    to the comparison units') are adjusted for: BIC on the before window's treated-minus-
    comparison series (none, or 1 to 12 pairs; quarters: dummies where a year is held). The
    seasonal-upswing trap — treated units with a busy season the others do not share — takes
    pairs; a season everyone shares cancels in the difference and takes none, so it costs no
    degrees of freedom."""
    before = frame.filter(pl.col("after") == 0)
    pre_periods = before.filter(pl.col("treated") == 1)["period_start"].n_unique()
    if not can_adjust(period, pre_periods):
        return Specification(seasonal=False, period=period)
    gap = difference_series(before, before.filter(pl.col("treated") == 1)["unit_id"].unique().to_list())
    if period not in HARMONICS:
        return Specification(seasonal=True, period=period)
    y = gap["difference"].to_numpy()
    harmonics = bic_harmonics(y, np.ones((len(y), 1)), gap["season"].to_numpy(), period, allow_none=True)
    return Specification(seasonal=bool(harmonics), harmonics=harmonics or None, period=period)


def difference_series(frame: pl.DataFrame, treated_units: list[str]) -> pl.DataFrame:
    """Per period: mean of ``treated_units`` minus mean of the other units, with after, season
    and ``t`` (the period's number: the ramp-up and any missing period stay gaps)."""
    return (
        frame.with_columns(pl.col("unit_id").is_in(treated_units).alias("group"))
        .group_by("period_start", "t", "group")
        .agg(pl.col("value").mean(), pl.col("after").max(), pl.col("season").first())
        .pivot(on="group", index=["period_start", "t"], values=["value", "after", "season"])
        .drop_nulls()
        .sort("period_start")
        .select(
            (pl.col("value_true") - pl.col("value_false")).alias("difference"),
            pl.col("after_true").alias("after"),
            pl.col("season_true").alias("season"),
            "t",
        )
    )


def difference_series_model(
    series: pl.DataFrame, spec: Specification, autocorrelated: bool, noise: tuple[float, float] | None = None
):
    """The difference series on the after window (and seasons): OLS, or with AR(1) errors
    (``noise`` = (rho, share) pooled over units, else rho estimated from the series itself)."""
    data = model_data(series, spec, tuple(series.columns))
    formula = "difference ~ after" + "".join(f" + {term}" for term in spec.season_terms())
    if not autocorrelated:
        return smf.ols(formula, data=data).fit()
    return fit_ar1(formula, data, *(noise or (None, 1.0)), period="t")


def pooled_noise(frame: pl.DataFrame, spec: Specification, extra_terms: str = "") -> tuple[float, float] | None:
    """``(rho, share)`` of the unit-level noise (AR(1) plus white noise), from the two-way
    fixed-effects residuals of every treated and control unit pooled: the difference of
    independent series with one such noise has that noise's correlation too. ``extra_terms``
    adds to the model, e.g. a differential trend ``+ treated:t`` (``t`` counts periods)."""
    data = model_data(frame, spec, (*TWFE_COLUMNS, "t"))
    return panel_noise(twfe_formula(spec) + extra_terms, data, unit="unit_id", period="t")


def placebo_effects(frame: pl.DataFrame, n_treated: int, spec: Specification, seed: int = 0) -> np.ndarray:
    """The same estimate with sets of control units posing as the treated ones."""
    controls = frame.filter(pl.col("treated") == 0)
    units = sorted(controls["unit_id"].unique().to_list())
    sets = list(itertools.combinations(units, min(n_treated, len(units) - 1)))
    if len(sets) > MAX_PLACEBO_SETS:
        rng = np.random.default_rng(seed)
        sets = [sets[i] for i in rng.choice(len(sets), MAX_PLACEBO_SETS, replace=False)]
    return np.array(
        [
            difference_series_model(difference_series(controls, list(fake)), spec, autocorrelated=False).params["after"]
            for fake in sets
        ]
    )


def cluster_interval(frame: pl.DataFrame, spec: Specification, confidence: float) -> Interval:
    model = twfe(frame, spec, cluster=True)
    clusters = frame["unit_id"].n_unique()
    effect, se = float(model.params["treated_after"]), float(model.bse["treated_after"])
    if not math.isfinite(se) or se <= 0:
        return Interval(effect, None, None, None, "cluster-robust SE not computable")
    quantile = t_quantile(confidence, clusters - 1)
    p_value = float(2 * stats.t.sf(abs(effect / se), clusters - 1))
    return Interval(
        effect,
        effect - quantile * se,
        effect + quantile * se,
        p_value,
        f"cluster-robust by unit (CR1), t with {clusters - 1} df",
    )


def wild_interval(frame: pl.DataFrame, spec: Specification, confidence: float) -> Interval | None:
    """The wild cluster restricted bootstrap interval (Webb weights, clustered by unit); None
    when it cannot bound the effect at this level (too few distinct draws)."""
    data = model_data(frame, spec, TWFE_COLUMNS)
    model = smf.ols(twfe_formula(spec), data=data)
    names = list(model.exog_names)
    column = names.index("treated_after")
    others = np.delete(model.exog, column, axis=1)
    result = wild_cluster_bootstrap(model.endog, model.exog[:, column], others, data["unit_id"].to_numpy(), confidence)
    if result is None or result.low is None or result.high is None:
        return None
    return Interval(result.effect, result.low, result.high, result.p_value, result.description)


def placebo_interval(frame: pl.DataFrame, n_treated: int, spec: Specification, confidence: float) -> Interval:
    effect = float(twfe(frame, spec).params["treated_after"])
    placebos = placebo_effects(frame, n_treated, spec)
    se = float(np.std(placebos, ddof=1))
    p_value = float((np.sum(np.abs(placebos) >= abs(effect)) + 1) / (len(placebos) + 1))
    # The SE is itself estimated from the placebos: t with one degree of freedom fewer than
    # there are of them, as for any standard deviation of a sample.
    quantile = t_quantile(confidence, len(placebos) - 1)
    return Interval(
        effect,
        effect - quantile * se,
        effect + quantile * se,
        p_value,
        f"placebo in space over {len(placebos)} sets of control units (SE = spread of placebo effects, "
        f"t with {len(placebos) - 1} df)",
    )


def series_interval(frame: pl.DataFrame, treated_units: list[str], spec: Specification, confidence: float) -> Interval:
    noise = pooled_noise(frame, spec)
    model = difference_series_model(difference_series(frame, treated_units), spec, autocorrelated=True, noise=noise)
    pooled = (
        f"rho {model.rho:.2f} on {model.share:.0%} of the noise, pooled over {frame['unit_id'].n_unique()} units, "
        if noise is not None
        else ""
    )
    low, high = model.conf_int(1 - confidence).loc["after"]
    return Interval(
        float(model.params["after"]),
        float(low),
        float(high),
        float(model.pvalues["after"]),
        f"treated-minus-control series, {AR1_DESCRIPTION} ({pooled}t with {model.df_resid:.0f} df)",
    )


def point_estimate(panel: Panel) -> float | None:
    """The DiD estimate alone (the primary-method rule's backdated fits)."""
    frame = did_frame(panel)
    if frame.group_by("treated", "after").len().height < 4:
        return None
    # The treated-minus-comparison series on the after window: the two-way fixed-effects
    # coefficient where every unit reports every period, at a fraction of its cost.
    treated = frame.filter(pl.col("treated") == 1)["unit_id"].unique().to_list()
    spec = treated_seasons(frame, panel.period)
    model = difference_series_model(difference_series(frame, treated), spec, autocorrelated=False)
    return float(model.params["after"])


@estimator(METHOD, preference=20, uses_comparison_units=True, point=point_estimate, parallel_trends=True)
def estimate_difference_in_differences(
    panel: Panel, confidence: float = DEFAULT_CONFIDENCE_LEVEL
) -> EffectEstimate | None:
    """Two-way fixed-effects difference-in-differences against the comparison units."""
    frame = did_frame(panel)
    treated_units = sorted(frame.filter(pl.col("treated") == 1)["unit_id"].unique().to_list())
    control_units = frame.filter(pl.col("treated") == 0)["unit_id"].unique().to_list()
    if frame.group_by("treated", "after").len().height < 4:
        return None  # needs treated and control units both before and after
    n_treated, n_control = len(treated_units), len(control_units)
    treated_rows = frame.filter(pl.col("treated") == 1)
    pre_periods = treated_rows.filter(pl.col("after") == 0)["period_start"].n_unique()
    post_periods = treated_rows.filter(pl.col("after") == 1)["period_start"].n_unique()
    staggered = panel.is_staggered
    # Parallel trends is the method's assumption, not something it models away: a differential
    # pre-trend is reported by the claim checks (pre_trend), not silently extrapolated.
    spec = treated_seasons(frame, panel.period)

    note = ""
    if n_treated >= MIN_CLUSTERS_PER_ARM and n_control >= MIN_CLUSTERS_PER_ARM:
        few = min(n_treated, n_control) < MANY_CLUSTERS_PER_ARM
        interval = (few and wild_interval(frame, spec, confidence)) or cluster_interval(frame, spec, confidence)
    elif n_treated <= MAX_PLACEBO_TREATED and n_control >= MIN_PLACEBO_CONTROLS:
        interval = placebo_interval(frame, n_treated, spec, confidence)
    elif pre_periods >= MIN_SERIES_PERIODS and post_periods >= 2 and not staggered:
        interval = series_interval(frame, treated_units, spec, confidence)
    else:
        interval = wild_interval(frame, spec, confidence) or cluster_interval(frame, spec, confidence)
        note = f"only {n_treated} treated and {n_control} control units: the interval is rough"
    interval = replace(interval, inference=interval.inference + spec.describe())

    observed = float(treated_rows.filter(pl.col("after") == 1)["value"].mean())
    return EffectEstimate(
        initiative_id=panel.initiative.id,
        metric=panel.metric,
        method=METHOD,
        period=panel.period,
        pre_periods=pre_periods,
        post_periods=post_periods,
        baseline_value=float(treated_rows.filter(pl.col("after") == 0)["value"].mean()),
        observed_value=observed,
        counterfactual_value=observed - interval.effect,
        effect_abs=interval.effect,
        ci_low=interval.low,
        ci_high=interval.high,
        p_value=interval.p_value,
        n_treated_units=n_treated,
        n_control_units=n_control,
        inference=interval.inference,
        note=note,
    )
