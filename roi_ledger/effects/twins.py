"""The synthetic twin of a site: which donors, in what shares, a synthetic method mixed.

Published as ``marts.donor_weights`` (every synthetic control and synthetic DiD row), drawn as
the comparison series of a synthetic primary estimate (``roi_ledger.effects.series``), and said
in words by the report and ``roi explain``. The weights are refitted from the same panel as the
estimate, by the same deterministic fit, rather than carried through the estimates table.
"""

from __future__ import annotations

import polars as pl

from roi_ledger.catalogue import MetricTraits
from roi_ledger.effects import synthetic_control, synthetic_did
from roi_ledger.effects.panel import Panel, build_panel
from roi_ledger.effects.synthetic import site_and_donors
from roi_ledger.register import Register
from roi_ledger.tables import schema

WEIGHTED_METHODS = {
    synthetic_control.METHOD: synthetic_control.effect_of,
    synthetic_did.METHOD: synthetic_did.effect_of,
}


def twin_weights(panel: Panel, method: str) -> dict[str, float] | None:
    """The donors' weights of ``method``'s twin of the site (None for a method without one)."""
    effect_of = WEIGHTED_METHODS.get(method)
    table = site_and_donors(panel) if effect_of else None
    return None if table is None else effect_of(table)[1]


def donor_weights(
    register: Register, series: pl.DataFrame, estimates: pl.DataFrame, traits: dict[str, MetricTraits] | None = None
) -> pl.DataFrame:
    """One row per synthetic estimate and donor: its weight in the twin (``marts.donor_weights``)."""
    table_schema = schema("donor_weights")
    by_metric = series.partition_by("metric", as_dict=True)
    initiatives = {i.id: i for i in register.initiatives}
    rows = []
    synthetic = estimates.filter(pl.col("method").is_in(list(WEIGHTED_METHODS)))
    for row in synthetic.iter_rows(named=True):
        metric_series, initiative = by_metric.get((row["metric"],)), initiatives.get(row["initiative_id"])
        panel = (
            None
            if metric_series is None or initiative is None
            else build_panel(register, initiative, row["metric"], metric_series, traits)
        )
        weights = None if panel is None else twin_weights(panel, row["method"])
        for unit, weight in sorted((weights or {}).items()):
            rows.append(
                {
                    "initiative_id": row["initiative_id"],
                    "metric": row["metric"],
                    "method": row["method"],
                    "unit_id": unit,
                    "weight": weight,
                }
            )
    return pl.DataFrame(rows, schema=table_schema)
