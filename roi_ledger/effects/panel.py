"""The panel an estimator sees: one metric's series, each unit-period labelled by its role.

Roles: ``treated`` (the initiative reaches the unit), ``control`` (compared against), or left
out. Windows, per unit and relative to the unit's own go-live:

- ``pre``: periods that ended on or before go-live day;
- ``ramp``: periods that overlap go-live or the ramp-up (left out of the estimate);
- ``post``: periods that start on or after go-live + ``ramp_up_days``, and end by the
  retirement date when the initiative was retired.

Control units (declared, or else every unit no initiative treats on the same metric) take
the windows of the initiative's first go-live (for a phased rollout the
staggered estimator uses each phase's own date instead). A declared control unit that another
initiative reaches on the same metric inside the windows keeps its periods: leaving them out would
change which units make the comparison mean mid-way (a level shift of its own), so the claim check
``control_contamination`` says so instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from roi_ledger.catalogue import MetricTraits
from roi_ledger.register import Initiative, Register

PRE, RAMP, POST = "pre", "ramp", "post"
TREATED, CONTROL = "treated", "control"


@dataclass(frozen=True)
class Panel:
    """One initiative x metric: the labelled series and what an estimator needs to know."""

    initiative: Initiative
    metric: str
    period: str  # week | month | quarter | year
    frame: pl.DataFrame  # unit_id, period_start, period_end, value, level, volume, role, window, go_live
    # "log" when estimators see log(value) because the metric is multiplicative (its seasons
    # and growth scale with its level); ``level`` always holds the metric's own value.
    scale: str = "linear"

    @property
    def treated(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("role") == TREATED)

    @property
    def control(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("role") == CONTROL)

    @property
    def is_staggered(self) -> bool:
        """Treated units in this panel went live on different dates (planned phases not counted)."""
        return self.treated["go_live"].n_unique() > 1

    def units(self, role: str) -> list[str]:
        return sorted(self.frame.filter(pl.col("role") == role)["unit_id"].unique().to_list())

    def periods(self, role: str, window: str) -> int:
        rows = self.frame.filter((pl.col("role") == role) & (pl.col("window") == window))
        return rows["period_start"].n_unique()


def control_units(
    register: Register,
    initiative: Initiative,
    metric: str,
    all_units: set[str],
    traits: dict[str, MetricTraits] | None = None,
) -> list[str]:
    """Declared controls, or else every unit that no live or retired initiative treats on a
    related metric: the same metric, or one computed from the same dataset.

    A unit where another initiative changed hours (or orders, or tickets) is not a clean
    comparison for an hours (orders, tickets) metric; one treated only for unrelated data is
    kept. An explicit empty list means no controls.
    """
    if initiative.control_units is not None:
        return sorted(initiative.control_units)
    touched = {unit for other in _related(register, initiative, metric, traits) for unit in other.all_treated_units}
    return sorted(all_units - touched - set(initiative.all_treated_units))


def _related(
    register: Register, initiative: Initiative, metric: str, traits: dict[str, MetricTraits] | None
) -> list[Initiative]:
    """The other live or retired initiatives that act on ``metric`` or on a metric computed from
    the same dataset: a unit they reach is no clean comparison for ``metric`` once they reach it."""
    traits = traits or {}

    def datasets(name: str) -> frozenset[str]:
        return traits[name].datasets if name in traits else frozenset({name})

    mine = datasets(metric)
    return [
        other
        for other in register.measured_initiatives
        if other.id != initiative.id and any(m == metric or datasets(m) & mine for m in other.metrics)
    ]


def label_windows(
    series: pl.DataFrame,
    *,
    go_live: date,
    ramp_up_days: int,
    retired_on: date | None,
) -> pl.DataFrame:
    """Add ``window`` (pre | ramp | post | None) to a series relative to one go-live date."""
    post_start = go_live + timedelta(days=ramp_up_days)
    ends_by = pl.col("period_end") <= pl.lit(go_live)
    starts_after = pl.col("period_start") >= pl.lit(post_start)
    still_live = pl.lit(True) if retired_on is None else pl.col("period_end") <= pl.lit(retired_on + timedelta(days=1))
    before_retirement = pl.lit(True) if retired_on is None else pl.col("period_start") <= pl.lit(retired_on)
    return series.with_columns(
        pl.when(ends_by)
        .then(pl.lit(PRE))
        .when(starts_after & still_live)
        .then(pl.lit(POST))
        .when(~starts_after & before_retirement)
        .then(pl.lit(RAMP))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("window"),
        pl.lit(go_live).alias("go_live"),
    )


def build_panel(
    register: Register,
    initiative: Initiative,
    metric: str,
    series: pl.DataFrame,
    traits: dict[str, MetricTraits] | None = None,
) -> Panel | None:
    """Label one metric's series (all units) for one initiative; None when there is no data.

    For a metric whose traits say ``scale="log"`` the estimators work on log(value), unless a
    treated value is zero or negative, in which case the panel stays linear.
    """
    traits = traits or {}
    scale = traits[metric].scale if metric in traits else "linear"
    if series.is_empty():
        return None
    series = series.with_columns(pl.col("value").alias("level"))
    period = series["period"][0]
    all_units = set(series["unit_id"].unique().to_list())
    last_day = series["period_end"].max()
    # Units of phases not yet live (go-live after the data end) are neither treated nor controls.
    planned = {u for phase in initiative.rollout if phase.go_live >= last_day for u in phase.units}
    all_units -= planned
    controls = control_units(register, initiative, metric, all_units, traits)
    parts = []
    for phase in initiative.rollout:
        if phase.go_live >= last_day:
            continue
        rows = series.filter(pl.col("unit_id").is_in(phase.units))
        parts.append(
            label_windows(
                rows,
                go_live=phase.go_live,
                ramp_up_days=initiative.ramp_up_days,
                retired_on=initiative.retired_on,
            ).with_columns(pl.lit(TREATED).alias("role"))
        )
    control_rows = series.filter(pl.col("unit_id").is_in(controls))
    parts.append(
        label_windows(
            control_rows,
            go_live=initiative.first_go_live,
            ramp_up_days=initiative.ramp_up_days,
            retired_on=initiative.retired_on,
        ).with_columns(pl.lit(CONTROL).alias("role"))
    )
    frame = pl.concat(parts).filter(pl.col("window").is_not_null()).sort("unit_id", "period_start")
    if frame.filter(pl.col("role") == TREATED).is_empty():
        return None
    treated_values = frame.filter(pl.col("role") == TREATED)["value"].drop_nulls()
    if scale == "log" and treated_values.len() and treated_values.min() > 0:
        # A control unit-period at zero has no logarithm: it is left out, not the method.
        frame = frame.filter(pl.col("value") > 0).with_columns(pl.col("value").log())
    else:
        scale = "linear"
    return Panel(initiative=initiative, metric=metric, period=period, frame=frame, scale=scale)
