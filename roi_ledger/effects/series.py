"""Each primary estimate's picture over time, in long format for charts (``marts.counterfactual_series``).

Per initiative x metric and period, three series in the metric's own units:

- ``treated``: the mean of the treated units, as observed;
- ``comparison``: the mean of the comparison units, shifted by the average gap between treated and
  comparison units before go-live — the path the treated units would have taken had they kept
  moving with the comparison units (difference-in-differences' counterfactual; absent with no
  comparison units). For a synthetic control or synthetic DiD primary estimate it is the site's
  synthetic twin instead: the donors mixed in the method's weights (``roi_ledger.effects.twins``),
  shifted the same way;
- ``counterfactual``: after go-live and ramp-up, what the primary estimate says the treated units
  would have shown without the initiative — observed minus the estimated effect, with the
  interval's ends as ``value_low``/``value_high``. The estimate is the average effect over the
  post window, so this is the observed series moved by that average, not a period-by-period fit.

A period's ``stage`` is ``pre`` or ``post`` when every treated unit is in that window; a period in
which units of a phased rollout differ (or in the ramp-up) is ``ramp``.
"""

from __future__ import annotations

import polars as pl

from roi_ledger.catalogue import MetricTraits
from roi_ledger.effects.panel import CONTROL, POST, PRE, TREATED, Panel, build_panel
from roi_ledger.effects.twins import twin_weights
from roi_ledger.register import Register
from roi_ledger.tables import schema

SCHEMA = schema("counterfactual_series")  # its stage column: pre, ramp or post (window is a word SQL reserves)


def panel_series(
    panel: Panel, method: str, effect: float | None, ci_low: float | None, ci_high: float | None
) -> pl.DataFrame:
    """The three series of one panel and its primary estimate (see the module's docstring)."""

    def after_go_live_less(amount: float | None) -> pl.Expr:
        if amount is None:
            return pl.lit(None, pl.Float64)
        return pl.when(pl.col("stage") == POST).then(pl.col("treated") - amount)

    wide = _treated_and_comparison(panel.frame, twin_weights(panel, method)).with_columns(
        after_go_live_less(effect).alias("counterfactual"),
        after_go_live_less(ci_high).alias("counterfactual_low"),  # the larger effect leaves the lower path
        after_go_live_less(ci_low).alias("counterfactual_high"),
    )
    parts = _long(wide)
    return (
        pl.concat(parts)
        .with_columns(
            pl.lit(panel.initiative.id).alias("initiative_id"),
            pl.lit(panel.metric).alias("metric"),
            pl.lit(method).alias("method"),
        )
        .select(list(SCHEMA))
        .cast(SCHEMA)
        .sort("series", "period_start")
    )


def _treated_and_comparison(frame: pl.DataFrame, weights: dict[str, float] | None = None) -> pl.DataFrame:
    """Per period: its stage, the treated units' mean and the comparison units' mean (or their
    mix in ``weights``, over the donors reporting that period) shifted by the average gap before
    go-live (null with no comparison units)."""
    treated = (
        frame.filter(pl.col("role") == TREATED)
        .group_by("period_start", "period_end")
        .agg(
            pl.col("level").mean().alias("treated"),
            pl.when(pl.col("window").eq(PRE).all())
            .then(pl.lit(PRE))
            .when(pl.col("window").eq(POST).all())
            .then(pl.lit(POST))
            .otherwise(pl.lit("ramp"))
            .alias("stage"),
        )
    )
    weight = pl.col("unit_id").replace_strict(weights, default=0.0, return_dtype=pl.Float64) if weights else pl.lit(1.0)
    control = (
        frame.filter(pl.col("role") == CONTROL)
        .drop_nulls("level")
        .with_columns(weight.alias("weight"))
        .group_by("period_start")
        .agg(((pl.col("level") * pl.col("weight")).sum() / pl.col("weight").sum()).alias("control"))
    )
    wide = treated.join(control, on="period_start", how="left").sort("period_start")
    pre = wide.filter((pl.col("stage") == PRE) & pl.col("control").is_not_null())
    gap = (pre["treated"] - pre["control"]).mean() if pre.height else None
    return wide.with_columns(
        (pl.col("control") + gap).alias("comparison")
        if gap is not None
        else pl.lit(None, pl.Float64).alias("comparison"),
    )


def _long(wide: pl.DataFrame) -> list[pl.DataFrame]:
    """The treated, comparison and counterfactual columns of ``wide`` as rows of one series each."""
    keys = ["period_start", "period_end", "stage"]
    return [
        wide.select(
            *keys,
            pl.lit("treated").alias("series"),
            pl.col("treated").alias("value"),
            pl.lit(None, pl.Float64).alias("value_low"),
            pl.lit(None, pl.Float64).alias("value_high"),
        ),
        wide.filter(pl.col("comparison").is_not_null()).select(
            *keys,
            pl.lit("comparison").alias("series"),
            pl.col("comparison").alias("value"),
            pl.lit(None, pl.Float64).alias("value_low"),
            pl.lit(None, pl.Float64).alias("value_high"),
        ),
        wide.filter(pl.col("counterfactual").is_not_null()).select(
            *keys,
            pl.lit("counterfactual").alias("series"),
            pl.col("counterfactual").alias("value"),
            pl.col("counterfactual_low").alias("value_low"),
            pl.col("counterfactual_high").alias("value_high"),
        ),
    ]


def counterfactual_series(
    register: Register, series: pl.DataFrame, estimates: pl.DataFrame, traits: dict[str, MetricTraits] | None = None
) -> pl.DataFrame:
    """The series of every primary estimate (``estimate_effects``' rows with ``is_primary``)."""
    by_metric = series.partition_by("metric", as_dict=True)
    initiatives = {i.id: i for i in register.initiatives}
    parts = []
    for row in estimates.filter(pl.col("is_primary")).iter_rows(named=True):
        metric_series = by_metric.get((row["metric"],))
        initiative = initiatives.get(row["initiative_id"])
        if metric_series is None or initiative is None:
            continue
        panel = build_panel(register, initiative, row["metric"], metric_series, traits)
        if panel is not None:
            parts.append(panel_series(panel, row["method"], row["effect_abs"], row["ci_low"], row["ci_high"]))
    return pl.concat(parts) if parts else pl.DataFrame(schema=SCHEMA)
