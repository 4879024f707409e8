"""Effect estimation: for every measured initiative x metric, every applicable method's estimate.

Pure functions on the metric series (a polars frame shaped like ``marts.metric_series``); the
Dagster asset in ``pipelines/defs/effects.py`` only reads the series and writes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import polars as pl

from roi_ledger.effects.before_after import estimate_before_after
from roi_ledger.effects.did import estimate_difference_in_differences
from roi_ledger.effects.its import estimate_interrupted_time_series
from roi_ledger.effects.panel import Panel, build_panel
from roi_ledger.effects.result import EffectEstimate, to_frame
from roi_ledger.effects.staggered import estimate_staggered_did
from roi_ledger.register import Register

Estimator = Callable[[Panel], EffectEstimate | None]

# In order of preference: the first that gives an estimate is primary (docs/effects.md).
# staggered_did applies only to phased rollouts; did needs control units with data before
# and after; its needs enough history; before_after is the naive fallback.
ESTIMATORS: list[Estimator] = [
    estimate_staggered_did,
    estimate_difference_in_differences,
    estimate_interrupted_time_series,
    estimate_before_after,
]


def estimate_effects(register: Register, series: pl.DataFrame) -> pl.DataFrame:
    """Every estimator's row for every live or retired initiative x metric the data allows."""
    estimates: list[EffectEstimate] = []
    by_metric = series.partition_by("metric", as_dict=True)
    for initiative in register.measured_initiatives:
        for metric in initiative.metrics:
            metric_series = by_metric.get((metric,))
            if metric_series is None:
                continue
            panel = build_panel(register, initiative, metric, metric_series)
            if panel is None:
                continue
            rows = [e for e in (estimate(panel) for estimate in ESTIMATORS) if e is not None]
            estimates += mark_primary(rows)
    return to_frame(estimates)


def mark_primary(rows: list[EffectEstimate]) -> list[EffectEstimate]:
    """The first row in ESTIMATORS order with an interval is primary; else the first row."""
    if not rows:
        return rows
    primary = next((r for r in rows if r.ci_low is not None), rows[0])
    return [replace(r, is_primary=r is primary) for r in rows]
