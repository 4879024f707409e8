"""The panel an estimator sees: one metric's series, each unit-period labelled by its role.

Roles: ``treated`` (the initiative reaches the unit), ``control`` (compared against), or left
out. Windows, per unit and relative to the unit's own go-live:

- ``pre``: periods that ended on or before go-live day;
- ``ramp``: periods that overlap go-live or the ramp-up (left out of the estimate);
- ``post``: periods that start on or after go-live + ``ramp_up_days``, and end by the
  retirement date when the initiative was retired.

Control units take the windows of the initiative's first go-live (for a phased rollout the
staggered estimator uses each phase's own date instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from roi_ledger.register import Initiative, Register

PRE, RAMP, POST = "pre", "ramp", "post"
TREATED, CONTROL = "treated", "control"


@dataclass(frozen=True)
class Panel:
    """One initiative x metric: the labelled series and what an estimator needs to know."""

    initiative: Initiative
    metric: str
    period: str  # week | month | quarter | year
    frame: pl.DataFrame  # unit_id, period_start, period_end, value, volume, role, window, go_live

    @property
    def treated(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("role") == TREATED)

    @property
    def control(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("role") == CONTROL)

    def units(self, role: str) -> list[str]:
        return sorted(self.frame.filter(pl.col("role") == role)["unit_id"].unique().to_list())

    def periods(self, role: str, window: str) -> int:
        rows = self.frame.filter((pl.col("role") == role) & (pl.col("window") == window))
        return rows["period_start"].n_unique()


def control_units(register: Register, initiative: Initiative, all_units: set[str]) -> list[str]:
    """Declared controls, or else every unit no live or retired initiative ever treats.

    The default excludes units treated by *any* initiative on purpose: a unit another
    initiative changed is not a clean comparison. An explicit empty list means no controls.
    """
    if initiative.control_units is not None:
        return sorted(initiative.control_units)
    ever_treated = {u for i in register.measured_initiatives for u in i.all_treated_units}
    return sorted(all_units - ever_treated - set(initiative.all_treated_units))


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
) -> Panel | None:
    """Label one metric's series (all units) for one initiative; None when there is no data."""
    if series.is_empty():
        return None
    period = series["period"][0]
    all_units = set(series["unit_id"].unique().to_list())
    controls = control_units(register, initiative, all_units)
    parts = []
    for phase in initiative.rollout:
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
    return Panel(initiative=initiative, metric=metric, period=period, frame=frame)
