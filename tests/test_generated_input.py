"""Generated bad input (Hypothesis): files of every dataset, in both formats, mixing good rows
with rows that break the contract in every way we know, landed into a real DuckDB database.

For every file: rows in = loaded + rejected (none lost, none invented; a row with every field
empty is a blank line, no record), no traceback, and
every row that carries a known-bad value is rejected with a reason naming that field. Each
run of the suite lands well over a thousand bad rows (BAD_ROWS counts them; see
docs/reliability.md)."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.files import land_dataset
from connectors.sources import FilesSource
from roi_ledger.contract import DATASETS, ColumnType

SALT = "a-salt-for-generated-input-tests"
EXAMPLES = 18  # per dataset and format

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
    ColumnType.TEXT: st.sampled_from(["\t\t", "a\x00b", "line\nbreak", "tab\tbed", "lone\rreturn", "crlf\r\nin"]),
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


# How a delimited file may be written: each line's end, which fields are quoted, the encoding,
# and a second file's header (with its byte-order mark) pasted in the middle, as `cat` does.
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"])


@st.composite
def layouts(draw, count: int):
    """How to write ``count`` rows: per line its end and whether every field is quoted; the
    encoding; where a pasted header goes (None: nowhere)."""
    lines = [(draw(LINE_ENDS), draw(st.booleans())) for _ in range(count + 1)]
    pasted = draw(st.none() | st.integers(1, count))
    return lines, draw(ENCODINGS), pasted


def _field(value: str, quote_all: bool) -> str:
    if quote_all or any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_delimited(path: Path, columns: list[str], rows: list[dict], layout) -> int:
    """Write ``rows`` as ``layout`` says; the number of records written (a pasted header is one)."""
    lines, encoding, pasted = layout
    header = ",".join(columns)
    out = []
    for number, (end, quote_all) in enumerate(lines):
        if number == 0:
            out.append(header + end)
            continue
        if pasted == number:
            out.append("\ufeff" + header + end)
        out.append(",".join(_field(rows[number - 1][c], quote_all) for c in columns) + end)
    text = "".join(out)
    if encoding == "cp1252":
        text = text.encode("cp1252", errors="replace").decode("cp1252")
    path.write_bytes(text.encode(encoding, errors="replace"))
    return len(rows) + (pasted is not None)


def land_generated(dataset_name: str, generated, suffix: str, layout=None):
    dataset = DATASETS[dataset_name]
    frame = pl.DataFrame([row for row, _ in generated], schema=dict.fromkeys(dataset.column_names, pl.String))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{dataset_name}{suffix}"
        source = None
        if layout is not None:
            write_delimited(path, dataset.column_names, [row for row, _ in generated], layout)
            source = FilesSource(dataset=dataset_name, path=path.name, encoding=layout[1])
        elif suffix == ".parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path)
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
                source=source,
            )
            reasons = dict(con.execute("select source_row, reason from raw.rejected_rows").fetchall())
        finally:
            con.close()
    return load, reasons


def is_blank(row: dict) -> bool:
    """A row with every field empty is a blank line: no record (docs/data-contract.md)."""
    return all(value.strip(" ") == "" for value in row.values())


def line_ends(value: str) -> int:
    return len(re.findall(r"\r\n|\r|\n", value))


def check_every_row_accounted_for(dataset_name: str, generated, suffix: str, layout=None) -> None:
    load, reasons = land_generated(dataset_name, generated, suffix, layout)
    pasted = layout[2] if layout else None
    records = sum(not is_blank(row) for row, _ in generated) + (pasted is not None)
    assert load.rows_read == records
    assert load.rows_loaded + load.rows_unchanged + load.rows_rejected == records  # nothing folded
    number = 0  # the row's line after the header (CSV: a quoted line break makes a record two lines)
    for position, (row, broken) in enumerate(generated, start=1):
        number += 1
        if position == pasted:  # the pasted header: a record with no readable time, rejected
            assert number in reasons, "a header pasted mid-file landed"
            number += 1
        lines = 1 + (sum(line_ends(value) for value in row.values()) if suffix == ".csv" else 0)
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


def generated_layout_test(dataset_name: str):
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test(data):
        generated = data.draw(rows(dataset_name))
        layout = data.draw(layouts(len(generated)))
        check_every_row_accounted_for(dataset_name, generated, ".csv", layout)

    return test


for _name in DATASETS:
    for _suffix in (".csv", ".parquet"):
        globals()[f"test_generated_{_name}_{_suffix[1:]}_rows_are_loaded_or_rejected_with_the_field"] = generated_test(
            _name, _suffix
        )
    globals()[f"test_generated_{_name}_csv_every_line_end_quoting_and_encoding"] = generated_layout_test(_name)


def test_the_suite_lands_over_two_thousand_bad_rows():
    """Runs last in this module (pytest keeps definition order): the generated tests above
    together landed at least two thousand rows that break the contract, in every dataset and
    both formats."""
    if len(BAD_ROWS) < len(DATASETS) * 2:
        pytest.skip("counts the bad rows of the whole module: run all of tests/test_generated_input.py")
    print(f"bad rows landed: {sum(BAD_ROWS.values())} {BAD_ROWS}")
    assert all(count > 0 for count in BAD_ROWS.values()), BAD_ROWS
    assert sum(BAD_ROWS.values()) >= 2000, BAD_ROWS
