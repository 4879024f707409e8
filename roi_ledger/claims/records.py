"""Metric series recomputed from records with the most extreme ones capped (for ``outliers``).

The series itself comes from dbt; this recomputes only what the outlier check needs, in SQL
inside the warehouse, from the same intermediate tables and catalogue expressions.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from roi_ledger.catalogue import SPLIT_PLACEHOLDER, MetricDefinition

AGGREGATES = {"mean": "avg", "median": "median", "sum": "sum"}


def _records_sql(dataset: str, expression: str, filter_sql: str | None, split: str | None, as_of: date) -> str:
    conditions = [f"event_date <= date '{as_of.isoformat()}'"]
    if filter_sql:
        conditions.append(f"({filter_sql})")
    if split:
        conditions.append(split)
    return f"""
        select unit_id, date_trunc('week', event_date)::date as period_start, cast({expression} as double) as x
        from intermediate.int_{dataset}
        where {' and '.join(conditions)}
    """


def _split_condition(definition: MetricDefinition, metric: str) -> str | None:
    if not definition.is_template:
        return None
    before, after = SPLIT_PLACEHOLDER.split(definition.name, maxsplit=1)[0::2]
    value = metric[len(before) : len(metric) - len(after)]
    column = definition.split_by
    return f"regexp_replace(lower(trim({column})), '[^a-z0-9]', '_', 'g') = '{value}'"


def capped_series(
    con: duckdb.DuckDBPyConnection,
    series: pl.DataFrame,
    definition: MetricDefinition,
    metric: str,
    *,
    as_of: date,
    cap_share: float,
) -> pl.DataFrame | None:
    """``series`` (one weekly metric) with values recomputed after capping the top ``cap_share``
    of record values at their quantile; None for metrics without such records."""
    if definition.aggregation == "ratio":
        part = definition.numerator
        records = _records_sql(part.dataset, part.expression, part.filter, None, as_of)
        value = f"sum(least(x, c)) * {definition.scale}"
        per_volume = True
    elif definition.aggregation in AGGREGATES:
        records = _records_sql(
            definition.dataset, definition.expression, definition.filter, _split_condition(definition, metric), as_of
        )
        value = f"{AGGREGATES[definition.aggregation]}(least(x, c))"
        per_volume = False
    else:
        return None
    capped = con.execute(
        f"""
        with records as ({records}),
        cap as (select quantile_cont(x, {1 - cap_share}) as c from records)
        select unit_id, period_start, {value} as capped
        from records, cap
        group by unit_id, period_start
        """
    ).pl()
    joined = series.join(capped, on=["unit_id", "period_start"], how="left")
    new_value = pl.col("capped") / pl.col("volume") if per_volume else pl.col("capped")
    return joined.with_columns(
        pl.when(pl.col("capped").is_not_null() & pl.col("value").is_not_null()).then(new_value).otherwise(pl.col("value")).alias("value")
    ).drop("capped")
