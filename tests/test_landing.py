"""Landing files into raw: typed, nothing dropped, identifiers hashed, re-runs harmless."""

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from connectors.files import inventory, land_dataset
from roi_ledger.contract import ContractError

ORDERS = """order_id,unit_id,ordered_at,fulfilled_at,amount,status,has_error,customer_id,customer_name
o1,shop_a,2025-06-01 10:00,2025-06-01 11:30,12.5,completed,false,C1,Ann Example
o2,shop_a,not a date,,3,completed,false,C2,Bob Example
,shop_a,2025-06-01 10:00,,3,completed,false,C2,Bob Example
o4,shop_b,2025-06-01T10:00:00+00:00,2025-06-01 08:00,3,weird,maybe,,Cy Example
o5,shop_b,2025-06-02,,7,refunded,yes,C9,Di Example
"""


def land(con, path, salt="pepper"):
    return land_dataset(
        con,
        "orders",
        [path],
        load_id="L1",
        loaded_at=datetime(2025, 7, 1, tzinfo=UTC),
        timezone="Europe/London",
        salt=salt,
    )


@pytest.fixture
def orders_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "orders.csv"
    path.parent.mkdir()
    path.write_text(ORDERS)
    return path


def test_every_row_lands_or_is_rejected_with_its_reason(tmp_path, orders_file):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    [load] = land(con, orders_file)
    assert (load.rows_loaded, load.rows_rejected) == (2, 3)
    rejected = dict(con.execute("select source_row, reason from raw.rejected_rows order by 1").fetchall())
    assert rejected[2].startswith('ordered_at: cannot read "not a date" as a timestamp (YYYY-MM-DD')
    assert rejected[3] == "order_id is empty"
    assert "status weird must be one of completed, cancelled, refunded" in rejected[4]
    assert 'has_error: cannot read "maybe" as true or false' in rejected[4]
    assert "fulfilled_at is before ordered_at" in rejected[4]


def test_naive_timestamps_are_read_in_the_business_timezone(tmp_path, orders_file):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    land(con, orders_file)
    con.execute("set TimeZone = 'UTC'")
    ordered = con.execute(
        "select strftime(ordered_at, '%Y-%m-%d %H:%M') from raw.orders where order_id = 'o1'"
    ).fetchone()[0]
    assert ordered == "2025-06-01 09:00"  # 10:00 in London in June is 09:00 UTC


def test_personal_data_never_lands_in_clear(tmp_path, orders_file):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    land(con, orders_file)
    columns = [c[0] for c in con.execute("describe raw.orders").fetchall()]
    assert "customer_name" not in columns
    everything = json.dumps(con.execute("select * from raw.orders").fetchall(), default=str)
    everything += json.dumps(con.execute("select * from raw.rejected_rows").fetchall(), default=str)
    assert "C1" not in everything and "C2" not in everything and "Example" not in everything
    import hashlib

    assert hashlib.sha256(b"pepperC1").hexdigest() in everything


def test_a_file_loaded_before_is_skipped(tmp_path, orders_file):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    land(con, orders_file)
    [again] = land(con, orders_file)
    assert again.skipped
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 2


def test_identifiers_without_a_salt_stop_the_load(tmp_path, orders_file):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(ContractError, match="ROI_PSEUDONYM_SALT"):
        land(con, orders_file, salt=None)
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 0


def test_a_missing_column_names_file_and_column(tmp_path):
    data = tmp_path / "data"
    (data / "tickets").mkdir(parents=True)
    (data / "tickets" / "2025.csv").write_text("ticket_id,unit_id,opened_at\nt1,a,2025-01-01\n")
    with pytest.raises(ContractError) as error:
        inventory(data)
    assert str(data / "tickets" / "2025.csv") in str(error.value)
    assert "first_response_at" in str(error.value)


def test_parquet_and_folders_are_read(tmp_path):
    import polars as pl

    data = tmp_path / "data"
    (data / "kpis").mkdir(parents=True)
    pl.DataFrame(
        {
            "unit_id": ["a", "b"],
            "period_start": ["2025-01-01", "2025-02-01"],
            "metric": ["nps", "nps"],
            "value": [1.0, 2.0],
        }
    ).write_parquet(data / "kpis" / "part1.parquet")
    found = inventory(data)
    assert found.units == {"a", "b"} and found.kpi_metrics == {"nps"}


def test_each_file_lands_whole_or_not_at_all(tmp_path):
    """A file that fails half-way (customer ids and no salt to hash them with) leaves none of its
    rows, rejections or record of loading, and the file landed before it stays landed."""
    data = tmp_path / "data"
    data.mkdir()
    header = ORDERS.splitlines()[0]
    (data / "orders_1.csv").write_text(
        f"{header}\no1,shop_a,2025-06-01 10:00,,12.5,completed,false,,\no2,shop_a,oops,,3,completed,false,,\n"
    )
    (data / "orders_2.csv").write_text(
        f"{header}\no3,shop_a,2025-06-02 10:00,,4,completed,false,C3,Cy\no4,shop_a,oops,,3,completed,false,,\n"
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(ContractError, match="orders_2.csv: customer_id must be pseudonymised"):
        land_dataset(
            con,
            "orders",
            sorted(data.glob("*.csv")),
            load_id="L1",
            loaded_at=datetime(2025, 7, 1, tzinfo=UTC),
            timezone="Europe/London",
            salt=None,
        )
    assert con.execute("select order_id from raw.orders").fetchall() == [("o1",)]
    assert con.execute("select source_file, source_row from raw.rejected_rows").fetchall() == [
        (str(data / "orders_1.csv"), 2)
    ]
    assert con.execute("select source_file, rows_loaded, rows_rejected from raw.loaded_files").fetchall() == [
        (str(data / "orders_1.csv"), 1, 1)
    ]


def test_a_timestamp_lands_when_its_year_in_the_business_timezone_is_1970_to_2100(tmp_path):
    """The bounds are years of the business's own calendar (Asia/Tokyo, UTC+9 since 1951, here):
    an instant in 1969 in UTC but in 1970 there lands; one in 2100 in UTC but 2101 there does not."""
    path = tmp_path / "data" / "orders.csv"
    path.parent.mkdir()
    rows = {
        "in_1970_there": "1969-12-31 20:00:00+00:00",  # 1970-01-01 05:00 in Tokyo
        "before_1970_there": "1969-12-31 14:59:59+00:00",  # 1969-12-31 23:59:59 there
        "first_instant": "1970-01-01 00:00:00",  # naive: Tokyo's own clock
        "last_instant": "2100-12-31 23:59:59",
        "in_2101_there": "2100-12-31 15:00:00+00:00",  # 2101-01-01 00:00 there
        "in_2101": "2101-01-01 00:00:00",
    }
    path.write_text(
        "order_id,unit_id,ordered_at,fulfilled_at,amount,status,has_error,customer_id\n"
        + "".join(f"{order},shop_a,{at},,1,completed,false,\n" for order, at in rows.items())
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    land_dataset(
        con,
        "orders",
        [path],
        load_id="L1",
        loaded_at=datetime(2025, 7, 1, tzinfo=UTC),
        timezone="Asia/Tokyo",
        salt="pepper",
    )
    landed = {order for (order,) in con.execute("select order_id from raw.orders").fetchall()}
    assert landed == {"in_1970_there", "first_instant", "last_instant"}
    reasons = dict(
        con.execute("select json_extract_string(record, '$.order_id'), reason from raw.rejected_rows").fetchall()
    )
    assert set(reasons) == {"before_1970_there", "in_2101_there", "in_2101"}
    assert all("years 1970-2100" in reason for reason in reasons.values())
