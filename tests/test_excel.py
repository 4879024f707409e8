"""Excel as Excel writes it: date and date-and-time cells, formulas (their saved values), a sheet
chosen by name and a header below a title — built cell by cell with xlsxwriter, which writes real
date cells (a number of days with a date format), as Excel does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from connectors.files import land_files
from connectors.landing import ensure_raw_schema
from connectors.readers import read_excel
from connectors.sources import load_sources, source_files
from roi_ledger.contract import ContractError

SALT = "a-salt-for-the-excel-tests-0001"
TITLE_ROWS = 2  # the header is on row 3, under a title and a blank row


def write_time_sheet(path: Path, *, title: bool) -> None:
    """Six time entries: four dated by date cells (Excel shows 31/01/2024), one by a text cell
    in that notation, one by text that is no date; hours are a formula over minutes."""
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("Notes").write(0, 0, "not this sheet")
    sheet = book.add_worksheet("Entries")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    moment = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    top = 0
    if title:
        sheet.write(0, 0, "Time sheet, January 2024")
        top = TITLE_ROWS
    for col, name in enumerate(["Ref", "Site", "Person", "Date", "Task", "Started", "Minutes", "Hours"]):
        sheet.write(top, col, name)
    for n in range(6):
        row = top + 1 + n
        sheet.write(row, 0, f"E-{n + 1}")
        sheet.write(row, 1, "shop_a")
        sheet.write(row, 2, f"person-{n % 2}")
        if n < 4:
            sheet.write_datetime(row, 3, datetime(2024, 1, 29) + timedelta(days=n), day)  # 29 Jan .. 1 Feb
        sheet.write_datetime(row, 5, datetime(2024, 1, 29 + min(n, 2), 8, 30), moment)
        sheet.write(row, 4, "invoicing")
        sheet.write_number(row, 6, 30 * (n + 1))
        sheet.write_formula(row, 7, f"=G{row + 1}/60", None, 0.5 * (n + 1))  # the value Excel saves
    sheet.write(top + 5, 3, "31/01/2024")  # typed as text in the notation Excel shows
    sheet.write(top + 6, 3, "2024-31-01")  # no date in either notation
    book.close()


def test_a_sheet_under_a_title_reads_date_cells_as_iso_and_formulas_as_their_values(tmp_path):
    path = tmp_path / "time.xlsx"
    write_time_sheet(path, title=True)
    text = read_excel(path, "Entries", header_row=TITLE_ROWS + 1)
    assert text.columns == ["Ref", "Site", "Person", "Date", "Task", "Started", "Minutes", "Hours"]
    rows = next(text.batches).rows(named=True)
    assert [r["_source_row"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["Date"] for r in rows] == [
        "2024-01-29",
        "2024-01-30",
        "2024-01-31",
        "2024-02-01",
        "31/01/2024",
        "2024-31-01",
    ]
    assert [r["Started"] for r in rows[:3]] == ["2024-01-29 08:30:00", "2024-01-30 08:30:00", "2024-01-31 08:30:00"]
    assert [r["Hours"] for r in rows] == ["0.5", "1", "1.5", "2", "2.5", "3"]
    assert [r["Minutes"] for r in rows[:2]] == ["30", "60"]  # numbers are numbers, not days since 1900


def test_a_missing_sheet_is_refused_naming_the_sheets_there_are(tmp_path):
    path = tmp_path / "time.xlsx"
    write_time_sheet(path, title=False)
    with pytest.raises(ContractError, match=r"no sheet named 'January' \(its sheets: Notes, Entries\)"):
        read_excel(path, "January")


def land(folder: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_raw_schema(con)
    con.execute("set TimeZone = 'Europe/London'")
    for name, source in load_sources(folder).items():
        land_files(
            con,
            name,
            source,
            source.dataset,
            source_files(folder, source),
            load_id="night-1",
            loaded_at=datetime(2024, 2, 2, tzinfo=UTC),
            salt=SALT,
        )
    return con


SOURCE = """
sources:
  time:
    dataset: hours
    path: time.xlsx
    sheet: Entries
{header}    columns:
      entry_id: Ref
      unit_id: Site
      employee_id: Person
      work_date: {{column: Date, format: "%d/%m/%Y"}}
      activity: Task
      hours: Hours
"""


def check_landed(con: duckdb.DuckDBPyConnection) -> None:
    loaded = con.execute("select entry_id, work_date, hours from raw.hours order by entry_id").fetchall()
    assert loaded == [
        ("E-1", date(2024, 1, 29), 0.5),
        ("E-2", date(2024, 1, 30), 1.0),
        ("E-3", date(2024, 1, 31), 1.5),
        ("E-4", date(2024, 2, 1), 2.0),
        ("E-5", date(2024, 1, 31), 2.5),  # the text cell, read in the declared format
    ]
    [(row, reason)] = con.execute("select source_row, reason from raw.rejected_rows").fetchall()
    assert row == 6
    assert reason == (
        'work_date: cannot read "2024-31-01" as a date (YYYY-MM-DD, years 1970-2100) '
        "or in the format %d/%m/%Y (like 31/01/2024)"
    )


def test_date_cells_land_as_dates_beside_a_declared_format_for_text_cells(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_time_sheet(folder / "time.xlsx", title=False)
    (folder / "sources.yml").write_text(SOURCE.format(header=""))
    check_landed(land(folder))


def test_a_sources_header_row_reaches_the_excel_reader(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_time_sheet(folder / "time.xlsx", title=True)
    (folder / "sources.yml").write_text(SOURCE.format(header=f"    header_row: {TITLE_ROWS + 1}\n"))
    check_landed(land(folder))
