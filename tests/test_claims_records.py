"""Capping extreme records for the outlier check, in SQL inside a real DuckDB file."""

from datetime import date

import duckdb
import polars as pl
import pytest

from roi_ledger.catalogue import load_catalogue
from roi_ledger.claims.records import capped_series


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema intermediate")
    # 99 ordinary fulfilment times of 1 hour and one of 100 hours, all in the week of 2025-06-02
    con.execute(
        """
        create table intermediate.int_orders as
        select 'a' as unit_id, date '2025-06-03' as event_date, 'completed' as status,
               case when i = 0 then 100.0 else 1.0 end as fulfilment_hours
        from range(100) as r(i)
        """
    )
    yield con
    con.close()


def test_the_top_percent_of_records_is_capped_at_its_quantile(warehouse):
    definition = next(m for m in load_catalogue() if m.name == "order_fulfilment_hours")
    series = pl.DataFrame(
        {"unit_id": ["a"], "metric": ["order_fulfilment_hours"], "period": ["week"],
         "period_start": [date(2025, 6, 2)], "period_end": [date(2025, 6, 9)], "value": [1.0], "volume": [100.0]}
    )
    # Swap the median for a mean metric to see the cap move the value: mean of 99 x 1 + 100 = 1.99;
    # capped at the 99th percentile (1 + 0.01 x 99 = 1.99) -> (99 + 1.99) / 100 = 1.0099
    mean_definition = definition.model_copy(update={"aggregation": "mean"})
    capped = capped_series(warehouse, series, mean_definition, "order_fulfilment_hours", as_of=date(2025, 6, 30), cap_share=0.01)
    assert capped["value"][0] == pytest.approx((99 * 1.0 + 1.99) / 100)
    # the median is not moved by capping
    median = capped_series(warehouse, series, definition, "order_fulfilment_hours", as_of=date(2025, 6, 30), cap_share=0.01)
    assert median["value"][0] == pytest.approx(1.0)
