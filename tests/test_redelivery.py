"""Exports as tools deliver them again: re-exported with other columns changed, renamed by the
browser, delivered once as CSV and again as Excel, an older export arriving on a later night.
Each record counts once and the later *export*'s version is the one kept — decided from the
export's content and the file's own time, never from its name (docs/data-contract.md)."""

from __future__ import annotations

import csv
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from connectors.files import land_files
from connectors.landing import VERSION_ORDER, ensure_raw_schema
from connectors.sources import load_sources, source_files

EXPORTS = Path(__file__).parent / "exports"
SALT = "a-salt-for-the-redelivery-tests-01"
MACROS = Path(__file__).parents[1] / "dbt_project" / "macros" / "staging_history.sql"


def night(con, folder: Path, source_name: str, n: int):
    """Land what the folder holds for ``source_name`` as night ``n`` would."""
    ensure_raw_schema(con)
    con.execute("set TimeZone = 'Europe/London'")
    source = load_sources(folder)[source_name]
    return land_files(
        con,
        source_name,
        source,
        source.dataset,
        source_files(folder, source),
        load_id=f"night-{n}",
        loaded_at=datetime(2024, 2, n, tzinfo=UTC),
        salt=SALT,
    )


def latest(con, dataset: str, key: str) -> dict:
    """Each record's current version as staging keeps it (``VERSION_ORDER``)."""
    rows = con.execute(
        f"select * from raw.{dataset} qualify row_number() over (partition by {key} order by {VERSION_ORDER}) = 1"
    ).pl()
    return {row[key]: row for row in rows.to_dicts()}


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def set_modified(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.fixture
def harvest(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(EXPORTS / "harvest_time_report.csv", folder / "harvest_time_report.csv")
    (folder / "sources.yml").write_text('sources:\n  time: {preset: harvest, path: "harvest_*"}\n')
    return folder


def test_a_harvest_report_exported_again_after_invoicing_counts_each_entry_once(harvest):
    con = duckdb.connect()
    [first] = night(con, harvest, "time", 1)
    entries = con.execute("select count(*) from raw.hours").fetchone()[0]
    assert first.rows_loaded == entries == 3
    # invoiced since: Invoiced? and Billable Amount change; neither is loaded, nor part of an entry's identity
    rows = read_rows(harvest / "harvest_time_report.csv")
    for row in rows:
        row.update({"Invoiced?": "Yes", "Billable Amount": "123.00", "Billable Rate": "60"})
    write_rows(harvest / "harvest_time_report_invoiced.csv", rows)
    [_, again] = night(con, harvest, "time", 2)
    assert (again.rows_loaded, again.rows_unchanged, again.rows_rejected) == (0, 3, 1)
    assert con.execute("select count(distinct entry_id) from raw.hours").fetchone()[0] == entries


def test_a_revised_cost_rate_is_a_new_version_of_the_same_entry(harvest):
    con = duckdb.connect()
    night(con, harvest, "time", 1)
    rows = read_rows(harvest / "harvest_time_report.csv")
    rows[2]["Cost Rate"] = "40.0"  # the third entry's rate, revised
    (harvest / "harvest_time_report.csv").unlink()
    write_rows(harvest / "harvest_time_report_revised.csv", rows)
    [again] = night(con, harvest, "time", 2)
    assert (again.rows_loaded, again.rows_unchanged) == (1, 2)
    current = latest(con, "hours", "entry_id")
    assert len(current) == 3 and sorted(r["hourly_cost"] for r in current.values()) == [38.5, 38.5, 40.0]


def write_harvest_workbook(path: Path, rows: list[dict]) -> None:
    """The same entries as Excel writes them: dates as date cells, numbers as numbers."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Time")
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    for column, name in enumerate(rows[0]):
        sheet.write_string(0, column, name)
    for line, row in enumerate(rows, start=1):
        for column, (name, value) in enumerate(row.items()):
            if name == "Date":
                sheet.write_datetime(line, column, datetime.fromisoformat(value), dates)
            elif name in ("Hours", "Cost Rate") and value.lstrip("-").replace(".", "").isdigit():
                sheet.write_number(line, column, float(value))
            else:
                sheet.write_string(line, column, value)
    book.close()


def test_entries_delivered_as_csv_then_as_excel_count_once(harvest):
    con = duckdb.connect()
    night(con, harvest, "time", 1)
    rows = read_rows(harvest / "harvest_time_report.csv")
    for row in rows:
        row["Hours"] = f"{float(row['Hours']):.2f}" if row["Hours"] else row["Hours"]  # 2.50 in the CSV, 2.5 in Excel
    write_harvest_workbook(harvest / "harvest_time_report.xlsx", rows)
    [_, excel] = night(con, harvest, "time", 2)
    assert (excel.rows_loaded, excel.rows_unchanged, excel.rows_rejected) == (0, 3, 1)
    assert con.execute("select count(*) from raw.hours").fetchone()[0] == 3


SHOPIFY_SOURCES = 'sources:\n  shop: {preset: shopify, path: "orders_export_*.csv"}\n'


def shopify_exports(folder: Path) -> tuple[Path, Path]:
    """Shopify's first download, and the second one the browser saved as "orders_export_1 (1).csv"
    (which sorts before it by name) an hour later, after order #1001 was refunded."""
    folder.mkdir()
    (folder / "sources.yml").write_text(SHOPIFY_SOURCES)
    first, second = folder / "orders_export_1.csv", folder / "orders_export_1 (1).csv"
    shutil.copy(EXPORTS / "shopify_orders_export.csv", first)
    rows = read_rows(first)
    rows[0]["Financial Status"] = "refunded"
    write_rows(second, rows)
    set_modified(first, datetime(2024, 1, 10, 9, tzinfo=UTC))
    set_modified(second, datetime(2024, 1, 10, 10, tzinfo=UTC))
    return first, second


def test_the_later_download_wins_although_its_name_sorts_first(tmp_path):
    folder = tmp_path / "data"
    shopify_exports(folder)
    con = duckdb.connect()
    loads = night(con, folder, "shop", 1)
    assert [Path(load.source_file).name for load in loads] == ["orders_export_1 (1).csv", "orders_export_1.csv"]
    assert latest(con, "orders", "order_id")["#1001"]["status"] == "refunded"


def test_an_older_export_delivered_on_a_later_night_does_not_undo_the_refund(tmp_path):
    folder = tmp_path / "data"
    first, second = shopify_exports(folder)
    held = tmp_path / "held back"
    held.mkdir()
    shutil.move(first, held / first.name)
    con = duckdb.connect()
    night(con, folder, "shop", 1)  # only the later export
    shutil.move(held / first.name, folder / "orders_export_1 - old.csv")
    set_modified(folder / "orders_export_1 - old.csv", datetime(2024, 1, 10, 9, tzinfo=UTC))
    [_, older] = night(con, folder, "shop", 2)
    assert older.rows_loaded == 1  # #1001 as it was: kept as an older version
    assert latest(con, "orders", "order_id")["#1001"]["status"] == "refunded"


def test_an_export_of_todays_changes_wins_over_yesterdays_full_export(tmp_path):
    """Today's export of the orders changed today holds only an old order, refunded: its records are
    older than the full export's newest, but the export is the later one (its file's time)."""
    folder = tmp_path / "data"
    first, second = shopify_exports(folder)
    write_rows(second, [row for row in read_rows(second) if row["Name"] == "#1001"])
    set_modified(first, datetime(2024, 1, 9, 23, tzinfo=UTC))
    con = duckdb.connect()
    night(con, folder, "shop", 1)
    orders = latest(con, "orders", "order_id")
    assert orders["#1001"]["status"] == "refunded" and len(orders) > 1


def test_equal_file_times_leave_it_to_the_newest_record(tmp_path):
    """Files copied together (the same modification time): the export holding newer records is the later."""
    folder = tmp_path / "data"
    first, second = shopify_exports(folder)
    rows = read_rows(second)
    new_order = {"Name": "#1099", "Created at": "2024-01-09 12:00:00 +0000", "Fulfilled at": "", "Id": "5521001099"}
    rows.append({**rows[0], **new_order})
    write_rows(second, rows)
    for path in (first, second):
        set_modified(path, datetime(2024, 1, 10, 9, tzinfo=UTC))
    second.rename(folder / "orders_export_0.csv")  # lands first by name
    con = duckdb.connect()
    night(con, folder, "shop", 1)
    assert latest(con, "orders", "order_id")["#1001"]["status"] == "refunded"


def test_staging_orders_versions_as_the_landing_does():
    macro = MACROS.read_text()
    body = macro[macro.index("macro latest_version_first") :].split("%}", 1)[1].split("{%", 1)[0]
    assert " ".join(body.replace("-", "").split()) == " ".join(VERSION_ORDER.split())
