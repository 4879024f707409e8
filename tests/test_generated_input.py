"""Generated bad input (Hypothesis): files of every dataset, in both formats, mixing good rows
with rows that break the contract in every way we know, landed into a real DuckDB database.

For every file: rows in = loaded + rejected (none lost, none invented; a row with every field
empty is a blank line, no record), no traceback, and
every row that carries a known-bad value is rejected with a reason naming that field. Each
run of the suite lands well over a thousand bad rows (BAD_ROWS counts them; see
docs/reliability.md)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.files import land_dataset
from roi_ledger.contract import DATASETS, ColumnType

SALT = "a-salt-for-generated-input-tests"
EXAMPLES = 12  # per dataset and format

GOOD = {
    ColumnType.TEXT: st.sampled_from(["a", "shop_1", "Shop One", "x-9", "ünit"]),
    ColumnType.TIMESTAMP: st.sampled_from(["2025-06-01 10:00", "2025-06-01T10:00:00Z", "2025-06-02 09:15:30+01:00"]),
    ColumnType.DATE: st.sampled_from(["2025-06-02", "2024-12-30"]),
    ColumnType.NUMBER: st.sampled_from(["0", "1", "2.5", "12"]),
    ColumnType.INTEGER: st.sampled_from(["1", "3", "5", "4.0"]),
    ColumnType.BOOLEAN: st.sampled_from(["true", "false", "yes", "0"]),
}
# Values every column of the type must refuse (whatever its own check says).
BAD = {
    ColumnType.TEXT: st.sampled_from(["\t\t", "a\x00b", "line\nbreak", "tab\tbed"]),
    ColumnType.TIMESTAMP: st.sampled_from(
        [
            "-infinity",
            "infinity",
            "epoch",
            "0001-01-01 10:00",
            "2025-06-01 24:00",
            "2025-06-01 10:00+25:00",
            "2025-13-01",
            "yesterday",
            "2025/13/01 10:00",
            "3000-01-01",
        ]
    ),
    ColumnType.DATE: st.sampled_from(
        ["0001-01-01", "2025-02-30", "epoch", "01/06/2025", "2025-06-01 10:00", "9999-12-31"]
    ),
    ColumnType.NUMBER: st.sampled_from(["NaN", "nan", "Inf", "-inf", "1e309", "twelve", "1,5", "--1"]),
    ColumnType.INTEGER: st.sampled_from(["NaN", "1e309", "2.5", "three"]),
    ColumnType.BOOLEAN: st.sampled_from(["maybe", "2", "ja", "TRUE!"]),
}
# Values that break a column's own check.
BAD_BY_CHECK = {
    ("orders", "status"): st.sampled_from(["done", "COMPLETED!"]),
    ("tickets", "csat"): st.sampled_from(["0", "6", "-1"]),
    ("hours", "hours"): st.sampled_from(["-1", "25"]),
    ("hours", "hourly_cost"): st.sampled_from(["-3"]),
    ("defects", "units_affected"): st.sampled_from(["-2"]),
    ("defects", "cost"): st.sampled_from(["-0.5"]),
    ("kpis", "metric"): st.sampled_from(["Staff Score", "9lives"]),
}
GOOD_BY_CHECK = {
    ("orders", "status"): st.sampled_from(["completed", "cancelled", "refunded"]),
    ("tickets", "csat"): st.sampled_from(["1", "5"]),
    ("hours", "hours"): st.sampled_from(["0", "7.5", "24"]),
    ("kpis", "metric"): st.sampled_from(["staff_satisfaction", "scrap_rate"]),
}
BAD_ROWS: dict[tuple[str, str], int] = {}  # (dataset, format) -> bad rows landed


@st.composite
def rows(draw, dataset_name: str):
    """Rows of text, each with the fields it breaks on purpose (empty for a good row)."""
    dataset = DATASETS[dataset_name]
    out = []
    for _ in range(draw(st.integers(1, 25))):
        row, broken = {}, set()
        for column in dataset.columns:
            key = (dataset_name, column.name)
            choice = draw(st.sampled_from(["good", "good", "good", "bad", "check", "empty"]))
            if choice == "bad":
                row[column.name], broken = draw(BAD[column.type]), broken | {column.name}
            elif choice == "check" and key in BAD_BY_CHECK:
                row[column.name], broken = draw(BAD_BY_CHECK[key]), broken | {column.name}
            elif choice == "empty" and not column.nullable:
                row[column.name], broken = "", broken | {column.name}
            else:
                row[column.name] = draw(GOOD_BY_CHECK.get(key, GOOD[column.type]))
        # keys unique within the file, so a row's outcome is its own
        row[dataset.key[0]] = row[dataset.key[0]] if dataset.key[0] in broken else f"k{len(out)}"
        out.append((row, broken))
    return out


def land_generated(dataset_name: str, generated, suffix: str):
    dataset = DATASETS[dataset_name]
    frame = pl.DataFrame([row for row, _ in generated], schema=dict.fromkeys(dataset.column_names, pl.String))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{dataset_name}{suffix}"
        frame.write_parquet(path) if suffix == ".parquet" else frame.write_csv(path)
        con = duckdb.connect()
        try:
            [load] = land_dataset(
                con,
                dataset_name,
                [path],
                load_id="gen",
                loaded_at=datetime(2026, 1, 1, tzinfo=UTC),
                timezone="Europe/London",
                salt=SALT,
            )
            reasons = dict(con.execute("select source_row, reason from raw.rejected_rows").fetchall())
        finally:
            con.close()
    return load, reasons


def is_blank(row: dict) -> bool:
    """A row with every field empty is a blank line: no record (docs/data-contract.md)."""
    return all(value.strip(" ") == "" for value in row.values())


def check_every_row_accounted_for(dataset_name: str, generated, suffix: str) -> None:
    load, reasons = land_generated(dataset_name, generated, suffix)
    assert load.rows_loaded + load.rows_rejected == sum(not is_blank(row) for row, _ in generated)
    number = 0  # the row's line after the header (CSV: a quoted line break makes a record two lines)
    for row, broken in generated:
        number += 1
        lines = 1 + (sum(value.count("\n") for value in row.values()) if suffix == ".csv" else 0)
        if broken and not is_blank(row):
            BAD_ROWS[dataset_name, suffix] = BAD_ROWS.get((dataset_name, suffix), 0) + 1
            assert number in reasons, f"row {number} breaks {sorted(broken)} but landed"
            assert any(reasons[number].startswith(field) or f"; {field}" in reasons[number] for field in broken), (
                reasons[number]
            )
        number += lines - 1
    for reason in reasons.values():
        assert any(c in reason for c in DATASETS[dataset_name].column_names), reason


def generated_test(dataset_name: str, suffix: str):
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(generated=rows(dataset_name))
    def test(generated):
        check_every_row_accounted_for(dataset_name, generated, suffix)

    return test


for _name in DATASETS:
    for _suffix in (".csv", ".parquet"):
        globals()[f"test_generated_{_name}_{_suffix[1:]}_rows_are_loaded_or_rejected_with_the_field"] = generated_test(
            _name, _suffix
        )


def test_the_suite_lands_over_a_thousand_bad_rows():
    """Runs last in this module (pytest keeps definition order): the generated tests above
    together landed at least a thousand rows that break the contract, in every dataset and
    both formats."""
    if len(BAD_ROWS) < len(DATASETS) * 2:
        pytest.skip("counts the bad rows of the whole module: run all of tests/test_generated_input.py")
    assert all(count > 0 for count in BAD_ROWS.values()), BAD_ROWS
    assert sum(BAD_ROWS.values()) >= 1000, BAD_ROWS
