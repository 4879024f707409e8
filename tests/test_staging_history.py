"""The tables kept incrementally from night to night are what a full rebuild would give.

A night recomputes only the staging records it can have changed (dbt_project/macros/staging_history.sql).
Checked here against the definition, by hand in SQL over raw: the latest version of every record
(by load time, then position), kept when it is dated on or before the run's as-of date. The
weekly metric values recompute only the weeks whose inputs changed (macros/weekly_series.sql),
and int_tickets, int_hours and int_defects only the rows of changed records (int_orders is a view
over staging and int_customers, rebuilt each night): each checked against the same table built in
full by dbt from the same night's data, and the repeat-customer flags by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from pipelines.commands.exit_codes import EXIT_OK
from pipelines.commands.run import run as roi_run
from pipelines.runtime.incremental import rebuild_history, write_run_context
from pipelines.runtime.project import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_env
from pipelines.runtime.warehouse import Warehouse
from roi_ledger.contract import DATASETS

# Every dataset, by the column a record is dated by (the contract's).
DATED_BY = {name: dataset.time_column for name, dataset in DATASETS.items()}


def by_hand(con, dataset: str, timezone: str) -> set:
    key = ", ".join(DATASETS[dataset].key)
    dated = DATED_BY[dataset]
    day = (
        dated
        if DATASETS[dataset].column(dated).type.value == "DATE"
        else f"cast(timezone('{timezone}', {dated}) as date)"
    )
    return set(
        con.execute(f"""
        select {key}, _loaded_at, _source_file from raw.{dataset}
        qualify row_number() over (partition by {key} order by _loaded_at desc, _source_row desc) = 1
            and {day} <= (select as_of from raw.run_context)
    """).fetchall()
    )


def staged(con, dataset: str) -> list:
    key = ", ".join(DATASETS[dataset].key)
    return con.execute(f"select {key}, _loaded_at, _source_file from staging.stg_{dataset}").fetchall()


def order_row(order_id: str, unit_id: str, ordered_at: datetime, amount: float, customer_id: str | None = None) -> dict:
    return {
        "order_id": order_id,
        "unit_id": unit_id,
        "ordered_at": ordered_at.strftime("%Y-%m-%d %H:%M:%S"),
        "fulfilled_at": (ordered_at + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "amount": amount,
        "status": "completed",
        "has_error": False,
        "customer_id": customer_id,
    }


def first_two_orders(orders: pl.DataFrame, *, skip: int) -> pl.DataFrame:
    """The first two orders of a customer who has several (the ``skip``-th such customer)."""
    several = (
        orders.filter(pl.col("customer_id").is_not_null())
        .sort("ordered_at")
        .group_by("customer_id", maintain_order=True)
        .head(2)
        .filter(pl.len().over("customer_id") == 2)
    )
    customer = several["customer_id"].unique(maintain_order=True)[skip]
    return several.filter(pl.col("customer_id") == customer)


@pytest.fixture(scope="module")
def nights(demo_run, tmp_path_factory):
    """Two more nights on a copy of the demo, each with an orders file: the first goes back two
    weeks and brings a correction of an old order, a new order and one three weeks before every
    other, by a customer who has ordered (her first order becomes a repeat); the second comes
    forward to the demo's last day with a new order, a correction that moves an order past it and
    one that moves a customer's first order to someone else (her second is no longer a repeat)."""
    business, published, _ = demo_run
    root = tmp_path_factory.mktemp("staging_history")
    warehouse, data = root / "warehouse.duckdb", root / "data"
    shutil.copyfile(published, warehouse)
    shutil.copytree(business.data_dir, data)
    (data / "orders").mkdir()
    timezone = yaml.safe_load(business.config_path.read_text())["business"]["timezone"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"set TimeZone = '{timezone}'")
        old, moved = con.execute(
            "select order_id, unit_id, ordered_at::timestamp from staging.stg_orders order by ordered_at, order_id "
            "limit 2"
        ).fetchall()
    back, forward = business.as_of - timedelta(days=14), business.as_of
    demo_orders = pl.read_parquet(business.data_dir / "orders.parquet").filter(
        pl.col("ordered_at").dt.date() <= back,
        ~pl.col("order_id").is_in([old[0], moved[0]]),  # corrected otherwise
    )
    regular, switching = first_two_orders(demo_orders, skip=0), first_two_orders(demo_orders, skip=1)
    results = {}
    pl.DataFrame(
        [
            order_row(old[0], old[1], old[2], 123.45),  # a correction of an old order
            order_row(
                "NEW-1",
                old[1],
                datetime.combine(back - timedelta(days=3), datetime.min.time()) + timedelta(hours=10),
                50.0,
            ),
            # three weeks before the first order: the first week of the orders, of the unit and of
            # the calendar move back, and the weeks in between are zero-filled
            order_row("EARLY-1", old[1], old[2] - timedelta(days=21), 20.0, regular["customer_id"][0]),
        ]
    ).write_csv(data / "orders" / "night_1.csv")
    results["back"] = run_and_read(data, business.config_path, warehouse, back, timezone)
    first = switching.row(0, named=True)
    pl.DataFrame(
        [
            order_row("NEW-2", old[1], datetime.combine(forward, datetime.min.time()) + timedelta(hours=9), 70.0),
            order_row(
                moved[0], moved[1], datetime.combine(forward + timedelta(days=5), datetime.min.time()), 10.0
            ),  # now past as_of
            order_row(
                first["order_id"], first["unit_id"], first["ordered_at"].replace(tzinfo=None), 15.0, "SOMEONE-ELSE"
            ),
        ]
    ).write_csv(data / "orders" / "night_2.csv")
    results["forward"] = run_and_read(data, business.config_path, warehouse, forward, timezone)
    return {
        "old": old[0],
        "moved": moved[0],
        "regular": list(regular["order_id"]),
        "switching": list(switching["order_id"]),
        **results,
    }


# The tables a night keeps incrementally, by the columns that order their rows.
KEPT = {
    "int_metric_values": "unit_id, metric, period_start",
    "int_tickets": "ticket_id",
    "int_hours": "entry_id",
    "int_defects": "defect_id",
}


def kept_tables(con) -> dict[str, pl.DataFrame]:
    return {
        table: con.sql(f"select * from intermediate.{table} order by {order}").pl() for table, order in KEPT.items()
    }


def run_and_read(data, config, warehouse, as_of, timezone) -> dict:
    assert roi_run(data, config, warehouse, as_of) == EXIT_OK
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"set TimeZone = '{timezone}'")
        read = {
            "rebuilt": rebuild_history(con),
            "expected": {d: by_hand(con, d, timezone) for d in DATED_BY},
            "staged": {d: staged(con, d) for d in DATED_BY},
            "orders": dict(con.execute("select order_id, amount from staging.stg_orders").fetchall()),
            "repeat": dict(con.execute("select order_id, is_repeat_customer from intermediate.int_orders").fetchall()),
            "kept": kept_tables(con),
            "recomputed": con.execute(
                "select from_week, to_week from intermediate.int_metric_values__weeks"
            ).fetchall(),
        }
    read["in_full"] = built_in_full(warehouse)
    return read


def built_in_full(warehouse: Path) -> dict[str, pl.DataFrame]:
    """The incrementally kept tables built in full by dbt (--full-refresh), with the night's vars,
    on a copy of the night's warehouse."""
    copy = warehouse.with_name(f"full-{warehouse.name}")
    shutil.copyfile(warehouse, copy)
    nightly = json.loads((Warehouse(warehouse).dbt_target / "run_results.json").read_text())["args"]["vars"]
    artifacts = str(copy.with_suffix(".dbt"))
    subprocess.run(
        [
            DBT_EXECUTABLE,
            "run",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            artifacts,
            "--log-path",
            artifacts,
            "--vars",
            json.dumps(nightly),
            "--select",
            *KEPT,
            "--full-refresh",
        ],
        env=dbt_env(copy),
        check=True,
        capture_output=True,
    )
    with duckdb.connect(str(copy), read_only=True) as con:
        return kept_tables(con)


@pytest.mark.parametrize("night", ["back", "forward"])
def test_each_night_keeps_staging_incrementally_and_equal_to_the_definition(nights, night):
    result = nights[night]
    assert result["rebuilt"] is False  # the same code, timezone and erasures as the night before
    for dataset in DATED_BY:
        assert len(result["staged"][dataset]) == len(set(result["staged"][dataset])), dataset  # one row per record
        assert set(result["staged"][dataset]) == result["expected"][dataset], dataset


@pytest.mark.parametrize("night", ["back", "forward"])
def test_each_night_recomputes_only_some_weeks_and_equals_a_full_rebuild(nights, night):
    result = nights[night]
    # a few weeks, not all: the weeks of the new and corrected orders and those between where
    # the last week with records was and where it is now
    weeks = {week for start, end in result["recomputed"] for week in pl.date_range(start, end, "7d", eager=True)}
    every_week = set(result["kept"]["int_metric_values"]["period_start"])
    assert result["recomputed"] and max(end for _, end in result["recomputed"]).year < 9999
    assert 0 < len(weeks & every_week) < len(every_week) / 2, result["recomputed"]
    kept, full = result["kept"]["int_metric_values"], result["in_full"]["int_metric_values"]
    assert kept.select(pl.exclude("value", "volume")).equals(full.select(pl.exclude("value", "volume")))
    for column in ("value", "volume"):  # the same sums, perhaps added up in another order
        ours, theirs = kept[column], full[column]
        assert (ours.is_null() == theirs.is_null()).all(), column
        assert ((ours - theirs).abs() <= 1e-9 * (1 + theirs.abs())).fill_null(True).all(), column


@pytest.mark.parametrize("night", ["back", "forward"])
@pytest.mark.parametrize("table", [t for t in KEPT if t != "int_metric_values"])
def test_each_night_keeps_the_derived_rows_of_each_record_equal_to_a_full_rebuild(nights, night, table):
    kept, full = nights[night]["kept"][table], nights[night]["in_full"][table]
    assert kept.equals(full), table


def test_a_customers_repeat_orders_follow_an_earlier_order_and_a_moved_one(nights):
    regular_first, regular_second = nights["regular"]
    switching_first, switching_second = nights["switching"]
    back, forward = nights["back"]["repeat"], nights["forward"]["repeat"]
    # night 1: EARLY-1 is the regular customer's first order now, so both her orders repeat
    assert back["EARLY-1"] is False and back[regular_first] is True and back[regular_second] is True
    assert back[switching_first] is False and back[switching_second] is True
    # night 2: her first order is someone else's now, so her second is her first
    assert forward[switching_first] is False and forward[switching_second] is False


def test_corrections_and_new_records_are_in_staging_and_what_leaves_the_window_goes(nights):
    back, forward = nights["back"]["orders"], nights["forward"]["orders"]
    assert back[nights["old"]] == 123.45 and back["NEW-1"] == 50.0
    assert "NEW-2" not in back  # dated after that night's as_of
    assert forward["NEW-2"] == 70.0 and forward[nights["old"]] == 123.45
    assert nights["moved"] in back and nights["moved"] not in forward  # its latest version is past as_of


def test_the_run_rebuilds_staging_when_it_cannot_keep_it():
    con = duckdb.connect()
    con.execute("create schema raw")
    day = datetime(2026, 3, 1).date()
    assert write_run_context(con, as_of=day, run_id="r1", timezone="Europe/London") is True  # a first run
    assert write_run_context(con, as_of=day + timedelta(days=1), run_id="r2", timezone="Europe/London") is False
    assert con.execute("select as_of, previous_as_of from raw.run_context").fetchone() == (day + timedelta(days=1), day)
    assert write_run_context(con, as_of=day, run_id="r3", timezone="Europe/Berlin") is True  # another timezone
    con.execute("create table raw.erasures (erased_at timestamptz)")
    assert write_run_context(con, as_of=day, run_id="r4", timezone="Europe/Berlin") is False  # no erasure yet
    con.execute("insert into raw.erasures values (now())")
    assert write_run_context(con, as_of=day, run_id="r5", timezone="Europe/Berlin") is True  # a person erased since
    con.execute(
        "create or replace table raw.run_context (as_of date, run_id varchar)"
    )  # written before the history was
    assert write_run_context(con, as_of=day, run_id="r6", timezone="Europe/Berlin") is True
