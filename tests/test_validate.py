"""``roi validate`` tells the truth: through the command line on real files in a data folder, it
says how many rows would be rejected, shows the failing values that are not personal, reports
every problem in one pass and exits 2 — never "ok" — when a file would be half rejected or more,
a blocking check would fail the night, a source matches no file or cannot be read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from connectors.dry_run import HIDDEN, REJECTED_SHARE_LIMIT, shown_value
from pipelines.commands import main as roi_main
from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK

EXPORTS = Path(__file__).parent / "exports"
SALT = "a-salt-for-the-validate-tests-01"
SOURCES = {
    "shop": {"preset": "shopify", "path": "shopify_orders_export.csv"},
    "support": {"preset": "zendesk", "path": "zendesk_tickets.csv"},
    "time": {"preset": "harvest", "path": "harvest_*.csv"},
}
HOURS_HEADER = "entry_id,unit_id,employee_id,work_date,activity,hours,hourly_cost\n"


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ROI_PSEUDONYM_SALT", SALT)
    data = tmp_path / "data"
    shutil.copytree(EXPORTS, data)
    (data / "clockify_detailed.csv").unlink()
    (tmp_path / "initiatives.yml").write_text(
        yaml.safe_dump(
            {"business": {"name": "A shop", "currency": "GBP", "timezone": "Europe/London"}, "initiatives": []}
        )
    )
    return data


def write_sources(data: Path, extra: dict | None = None) -> None:
    (data / "sources.yml").write_text(yaml.safe_dump({"sources": SOURCES | (extra or {})}))


def validate(data: Path, capsys) -> tuple[int, str, str]:
    code = roi_main(["validate", "--data", str(data), "--config", str(data.parent / "initiatives.yml")])
    out, err = capsys.readouterr()
    return code, out, err


def test_exports_with_a_few_rejected_rows_are_ok_and_the_summary_counts_them(folder, capsys):
    write_sources(folder)
    code, out, err = validate(folder, capsys)
    # each export has 4 records, one of them rejected (tests/test_sources.py says which)
    assert f"{folder}: 3 sources, 3 files in 3 datasets" in out
    assert "13 rows read: 9 would load, 1 folded into an earlier row's record (line items), 3 would be rejected" in out
    assert "1 x hours -1.0 must be between 0 and 24 (rows 4)" in out
    assert out.rstrip().splitlines()[-1].startswith("ok: ")
    assert (code, err) == (EXIT_OK, "")


def test_every_problem_is_reported_in_one_pass_with_exit_2_and_no_ok(folder, capsys):
    # hours whose dates Excel wrote as text with a time: every row rejected
    (folder / "hours.csv").write_text(
        HOURS_HEADER + "".join(f"e{n},shop_a,p{n},2024-01-{n:02d} 00:00:00,packing,2,30\n" for n in range(1, 11))
    )
    # orders whose amount holds e-mail addresses and phone numbers: 3 of 4 rejected, values hidden
    (folder / "orders.csv").write_text(
        "order_id,unit_id,ordered_at,fulfilled_at,amount,status,has_error,customer_id\n"
        "o1,web,2024-01-02 10:00,,ann@example.com,completed,false,c1\n"
        "o2,web,2024-01-02 11:00,,+44 7700 900123,completed,false,c2\n"
        "o3,web,2024-01-02 12:00,,12.50,completed,false,c3\n"
        "o4,web,yesterday,,12.50,completed,false,c4\n"
    )
    # a ticket resolved before it was opened: rejected with its reason (it would fail the night's check)
    tickets = (folder / "zendesk_tickets.csv").read_text().splitlines()
    fields = tickets[1].split(",")
    fields[19] = "2024-01-04 09:00"  # Solved at, the day before Created at
    tickets[1] = ",".join(fields)
    (folder / "zendesk_tickets.csv").write_text("\n".join(tickets) + "\n")
    (folder / "defects.parquet").write_bytes(b"not a parquet file")
    write_sources(
        folder,
        {
            "sheet": {"dataset": "hours", "path": "hours.csv"},
            "till": {"dataset": "orders", "path": "orders.csv"},
            "log": {"dataset": "defects", "path": "defects.parquet"},
            "kpi_sheet": {"dataset": "kpis", "path": "exports/kpis_*.xlsx"},
        },
    )
    code, out, err = validate(folder, capsys)
    assert code == EXIT_INVALID_INPUT
    assert "ok" not in out.splitlines()[-1] and "\nok:" not in out
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 5, err
    # the failing values of a date are shown
    assert (
        f"{folder / 'hours.csv'} -> hours: 10 rows read: 0 would load, 10 would be rejected" in out
        and 'values "2024-01-01 00:00:00", "2024-01-02 00:00:00", "2024-01-03 00:00:00")' in out
    )
    assert f"{folder / 'hours.csv'}: every row would be rejected from hours" in err
    # personal values are not: an e-mail address and a phone number in amount are hidden
    assert "(an e-mail address, not kept)" in out and "example.com" not in out + err and "7700" not in out + err
    assert 'ordered_at: cannot read "…" as a timestamp' in out and 'values "yesterday"' in out
    assert f"{folder / 'orders.csv'}: 3 of 4 rows would be rejected from orders" in err
    assert "1 x resolved_at is before opened_at (rows 1)" in out
    assert "source 'kpi_sheet': its path 'exports/kpis_*.xlsx' matches no file" in err
    assert "defects.parquet: cannot read the file as Parquet" in err
    assert "roi_ledger." not in out + err and "Traceback" not in out + err


def test_half_rejected_is_the_limit(folder, capsys):
    rows = [f"e{n},shop_a,p{n},2024-01-{n:02d},packing,{25 if n <= 2 else 2},30\n" for n in range(1, 5)]
    (folder / "hours.csv").write_text(HOURS_HEADER + "".join(rows))
    write_sources(folder, {"sheet": {"dataset": "hours", "path": "hours.csv"}})
    code, out, err = validate(folder, capsys)
    assert REJECTED_SHARE_LIMIT == 0.5
    assert code == EXIT_INVALID_INPUT and f"{folder / 'hours.csv'}: 2 of 4 rows would be rejected" in err
    (folder / "hours.csv").write_text(HOURS_HEADER + "".join(rows[1:]))  # 1 of 3
    assert validate(folder, capsys)[0] == EXIT_OK


@pytest.mark.parametrize(
    ("dataset", "column", "value", "shown"),
    [
        ("orders", "ordered_at", "31/01/2024 09:00", "31/01/2024 09:00"),
        ("orders", "amount", "12,50 €", "12,50 €"),
        ("orders", "status", "paid_ish", "paid_ish"),
        ("hours", "work_date", "20240131", "20240131"),
        ("orders", "amount", "bob@example.com", HIDDEN),
        ("orders", "amount", "07700 900123", HIDDEN),
        ("orders", "customer_id", "c-1", HIDDEN),
        ("hours", "employee_id", "Ann Example", HIDDEN),
        ("orders", "status", "x" * 41, HIDDEN),
        ("orders", None, "anything", HIDDEN),
    ],
)
def test_a_value_is_shown_unless_it_is_personal(dataset, column, value, shown):
    assert shown_value(dataset, column, value) == shown
