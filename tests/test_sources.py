"""Exports as they are: a sources file and a preset land Shopify, Zendesk, Harvest and Clockify
exports with their real column names and formats (tests/exports/), and a file with malformed
lines loads the rest, keeping each malformed line with its number."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from connectors.files import inventory, land_files
from connectors.landing import ensure_raw_schema
from connectors.sources import ignored_files, load_sources, source_files
from pipelines.commands.printing import print_source_report, print_top_rejections
from roi_ledger.contract import ContractError

EXPORTS = Path(__file__).parent / "exports"
SALT = "a-salt-for-the-sources-tests-01"
SOURCES = """
sources:
  shop: {preset: shopify, path: shopify_orders_export.csv}
  support: {preset: zendesk, path: zendesk_tickets.csv}
  time: {preset: harvest, path: "harvest_*.csv"}
  clockify: {preset: clockify, path: clockify_detailed.csv}
"""


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(EXPORTS, folder)
    (folder / "sources.yml").write_text(SOURCES)
    return folder


def land_all(con, folder: Path) -> dict:
    ensure_raw_schema(con)
    con.execute("set TimeZone = 'Europe/London'")
    loads = {}
    for name, source in load_sources(folder).items():
        loads[name] = land_files(
            con,
            name,
            source,
            source.dataset,
            source_files(folder, source),
            load_id="night-1",
            loaded_at=datetime(2024, 2, 1, tzinfo=UTC),
            salt=SALT,
        )
    return loads


def reasons(con, dataset: str) -> dict[int, str]:
    return dict(
        con.execute(
            "select source_row, reason from raw.rejected_rows where dataset = ? order by 1", [dataset]
        ).fetchall()
    )


def test_a_shopify_order_export_lands_one_record_per_order(data):
    con = duckdb.connect()
    [load] = land_all(con, data)["shop"]
    # five lines: four orders (the second line is a line item of #1001), one of them impossible
    assert (load.rows_loaded, load.rows_rejected, load.rows_folded) == (3, 1, 1)
    rows = con.execute(
        "select order_id, unit_id, ordered_at, fulfilled_at, amount, status, has_error, customer_id from raw.orders "
        "order by 1"
    ).fetchall()
    utc = UTC
    assert rows[0][:7] == (
        "#1001",
        "web",
        datetime(2024, 1, 1, 3, 20, tzinfo=utc),
        datetime(2024, 1, 2, 9, 0, tzinfo=utc),
        21.5,
        "completed",
        False,
    )
    assert rows[1][:2] == ("#1002", "Market Street") and rows[1][5] == "refunded"
    assert rows[2][5] == "cancelled" and rows[2][7] is None  # voided, no e-mail
    assert rows[0][7] != "ann@example.com" and len(rows[0][7]) == 64  # hashed
    assert reasons(con, "orders") == {5: "fulfilled_at is before ordered_at"}
    # nothing personal in the warehouse: no name, street or e-mail in any table
    dump = str(con.execute("select * from raw.orders").fetchall()) + str(
        con.execute("select * from raw.rejected_rows").fetchall()
    )
    assert "Example" not in dump and "@" not in dump and "High St" not in dump


def test_a_zendesk_ticket_export_lands_with_its_metrics_and_satisfaction_words(data):
    con = duckdb.connect()
    [load] = land_all(con, data)["support"]
    assert (load.rows_loaded, load.rows_rejected) == (3, 1)
    rows = con.execute(
        "select ticket_id, unit_id, first_response_at, resolved_at, reopened, csat from raw.tickets order by 1"
    ).fetchall()
    london = con.execute("select timestamptz '2024-01-05 10:50:00+00'").fetchone()[0]
    assert rows[0] == ("101", "Support", london, rows[0][3], False, 5)
    assert rows[1][4:] == (True, 1) and rows[2][3:] == (None, False, None)  # open, "Unoffered"
    assert reasons(con, "tickets") == {4: "reopened is empty"}  # Reopens "many"


def test_a_harvest_time_export_gets_ids_that_survive_an_overlapping_export(data):
    con = duckdb.connect()
    [load] = land_all(con, data)["time"]
    assert (load.rows_loaded, load.rows_rejected) == (3, 1)  # two identical entries are two entries
    assert reasons(con, "hours") == {4: "hours -1.0 must be between 0 and 24"}
    # next week's export overlaps this one: the rows already held change nothing
    lines = (data / "harvest_time_report.csv").read_text().splitlines()
    (data / "harvest_time_report_2.csv").write_text(
        "\n".join([*lines[:4], lines[1].replace("2024-01-08", "2024-01-15")]) + "\n"
    )
    source = load_sources(data)["time"]
    [_, second] = land_files(
        con,
        "time",
        source,
        "hours",
        source_files(data, source),
        load_id="night-2",
        loaded_at=datetime(2024, 2, 2, tzinfo=UTC),
        salt=SALT,
    )
    assert (second.rows_loaded, second.rows_unchanged) == (1, 3)
    assert (
        con.execute("select count(*) from raw.hours where _source_file like '%data/harvest_time_report%'").fetchone()[0]
        == 4
    )


def test_semicolons_decimal_commas_and_day_first_dates_are_read(data):
    con = duckdb.connect()
    [load] = land_all(con, data)["clockify"]
    assert (load.rows_loaded, load.rows_rejected) == (3, 0), reasons(con, "hours")
    rows = con.execute(
        "select work_date, activity, hours from raw.hours where _source_file like '%clockify%' order by 1"
    ).fetchall()
    assert [str(r[0]) for r in rows] == ["2024-01-05", "2024-01-15", "2024-01-16"]
    assert [r[1:] for r in rows] == [("Packing", 2.5), ("general", 1.25), ("Admin", 1.0)]


def test_a_file_with_one_percent_malformed_lines_loads_the_rest(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    header = "defect_id,unit_id,detected_at,units_affected,cost"
    lines, bad = [header], {}
    for n in range(1, 1001):
        if n % 100 == 37:
            lines.append(f'd{n},line_1,"2024-01-01 10:00,3,1.5')  # a quote that never closes
            bad[n] = "opens a quote that is never closed"
        elif n % 100 == 73:
            lines.append(f"d{n},line_1,2024-01-01 10:00,3,1.5,extra")
            bad[n] = "has 6 fields, the header has 5"
        else:
            lines.append(f'd{n},line_1,2024-01-01 10:00,{n % 7},"{n}.5"')
    (folder / "defects.csv").write_text("\n".join(lines) + "\n")
    con = duckdb.connect()
    [load] = land_all(con, folder)["defects"]
    assert (load.rows_loaded, load.rows_rejected) == (980, 20)
    kept = reasons(con, "defects")
    assert sorted(kept) == sorted(bad)
    assert all(bad[n] in kept[n] and f"line {n + 1}" in kept[n] for n in bad)
    # the malformed line's text is not kept (it may hold a name), its size is
    record = con.execute("select record from raw.rejected_rows where source_row = 37").fetchone()[0]
    assert "line_1" not in record and '"characters"' in record


def test_an_excel_workbook_is_read_through_a_source(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pl.DataFrame(
        {
            "Line": ["line_1", "line_2"],
            "Found": ["2024-03-01 08:00", "2024-03-02 09:30"],
            "Pieces": [3, 0],
            "Cost": [12.5, None],
            "Ref": ["D-1", "D-2"],
        }
    ).write_excel(folder / "quality log.xlsx", worksheet="defects")
    (folder / "sources.yml").write_text(
        "sources:\n  log:\n    dataset: defects\n    path: quality log.xlsx\n    sheet: defects\n"
        "    columns: {defect_id: Ref, unit_id: Line, detected_at: Found, units_affected: Pieces, cost: Cost}\n"
    )
    con = duckdb.connect()
    [load] = land_all(con, folder)["log"]
    assert (load.rows_loaded, load.rows_rejected) == (2, 0)
    assert con.execute("select defect_id, units_affected, cost from raw.defects order by 1").fetchall() == [
        ("D-1", 3.0, 12.5),
        ("D-2", 0.0, None),
    ]


def test_a_mapping_that_names_a_missing_field_refuses_the_file_naming_both(data):
    (data / "sources.yml").write_text("sources:\n  shop: {preset: shopify, path: zendesk_tickets.csv}\n")
    with pytest.raises(ContractError) as refused:
        inventory(data)
    message = str(refused.value)
    assert "zendesk_tickets.csv" in message and "order_id (from 'Name')" in message and "@" not in message


def test_a_sources_file_with_a_wrong_field_names_source_and_field(data):
    (data / "sources.yml").write_text(
        "sources:\n  shop: {preset: shopify, path: x.csv, columns: {amount: {column: Total, constant: 1}}}\n"
    )
    with pytest.raises(ContractError, match=r"sources.yml: sources.shop.columns.amount.*exactly one of"):
        load_sources(data)
    (data / "sources.yml").write_text("sources:\n  shop: {dataset: order, path: x.csv}\n")
    with pytest.raises(ContractError, match="unknown dataset 'order'"):
        load_sources(data)


def test_validate_reports_rejections_and_ignored_files(data, capsys, monkeypatch):
    monkeypatch.setenv("ROI_PSEUDONYM_SALT", SALT)
    (data / "notes.txt").write_text("remember the flour order\n")
    (data / "orders_old.csv").write_text("x\n")
    found = inventory(data)
    assert found.units >= {"web", "Market Street", "Support", "shop_a", "shop_b"}
    ignored = {p.name: why for p, why in ignored_files(data, load_sources(data))}
    assert ignored["orders_old.csv"] == "no source in sources.yml reads it"
    print_source_report(found, ignored_files(data, load_sources(data)), sampled=None)
    out = capsys.readouterr().out
    assert (
        "shopify_orders_export.csv -> orders: 5 rows read: 3 would load, "
        "1 folded into an earlier row's record (line items), 1 would be rejected"
    ) in out
    assert "1 x fulfilled_at is before ordered_at (rows 5)" in out
    assert "ignored:" in out and "orders_old.csv" in out


def test_without_a_sources_file_an_export_not_named_after_a_dataset_is_listed_as_ignored(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(EXPORTS / "shopify_orders_export.csv", folder / "orders_export.csv")
    [(path, why)] = ignored_files(folder, load_sources(folder))
    assert path.name == "orders_export.csv" and "not named after a dataset" in why


def test_a_failed_run_prints_its_most_frequent_rejection_reasons(tmp_path, capsys):
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as con:
        ensure_raw_schema(con)
        con.execute(
            "insert into raw.rejected_rows (_load_id, dataset, reason) values "
            "('run-9', 'orders', 'ordered_at: cannot read \"x@example.com\" as a timestamp; amount is empty'), "
            "('run-9', 'orders', 'ordered_at: cannot read \"soon\" as a timestamp'), "
            "('run-8', 'orders', 'status is empty')"
        )
    print_top_rejections(build, "run-9")
    err = capsys.readouterr().err
    assert '2 x orders: ordered_at: cannot read "…" as a timestamp' in err and "1 x orders: amount is empty" in err
    assert "status" not in err and "@" not in err  # this run's only, no value quoted


def test_json_lines_keep_their_line_numbers_and_nested_fields_flatten(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "defects.jsonl").write_text(
        '{"defect_id": "d1", "unit_id": "line_1", "detected_at": "2024-01-01T10:00:00Z", '
        '"units_affected": 2, "cost": null}\n'
        "\n"
        '{"defect_id": "d2", "unit_id": "line_1", "detected_at": "2024-01-02T10:00:00Z", "units_affected": 1\n'
        '{"defect_id": "d3", "unit_id": "line_2", "detected_at": "2024-01-03T10:00:00Z", '
        '"units_affected": 4, "cost": 9.5}\n'
    )
    con = duckdb.connect()
    [load] = land_all(con, folder)["defects"]
    assert (load.rows_loaded, load.rows_rejected) == (2, 1)
    assert reasons(con, "defects") == {3: "line 3 is not a JSON object"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  a: " + "[" * 10_000 + "]" * 10_000 + "\n", "nest"),
        ("sources:\n  a: {dataset: orders, path: x\n", "cannot be read as YAML at line"),
        ("sources:\n  a: " + "x" * 2_000_000 + "\n", "at most"),
    ],
)
def test_a_sources_file_too_deep_broken_or_big_is_refused_with_its_line(tmp_path, text, expected):
    (tmp_path / "sources.yml").write_text(text)
    with pytest.raises(ContractError) as refused:
        load_sources(tmp_path)
    assert expected in str(refused.value) and "sources.yml" in str(refused.value)
    assert "Error" not in str(refused.value)
