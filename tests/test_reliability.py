"""Nothing lost, nothing let in (docs/reliability.md): a killed run's leftovers, impossible
values, files that are not what they seem, messages that keep personal data out, the salt."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import duckdb
import polars as pl
import pytest

from connectors.files import discover_files, inventory, land_dataset, read_file
from pipelines.runtime.warehouse import Warehouse
from roi_ledger.contract import DATASETS, ContractError
from roi_ledger.privacy import SaltError, check_salt_strength, check_same_salt, salt_fingerprint
from roi_ledger.register import RegisterError, load_register

SALT = "a-salt-for-the-reliability-tests"
ORDER_HEADER = "order_id,unit_id,ordered_at,fulfilled_at,amount,status,has_error,customer_id"
GOOD_ORDER = "o1,shop_a,2025-06-01 10:00,2025-06-01 11:30,12.5,completed,false,C1"


def land(con, dataset: str, files: list[Path]):
    return land_dataset(
        con, dataset, files, load_id="run-1", loaded_at=datetime(2026, 1, 1, tzinfo=UTC), timezone="UTC", salt=SALT
    )


def rejected(con) -> dict[int, str]:
    return dict(con.execute("select source_row, reason from raw.rejected_rows order by 1").fetchall())


# --- a killed run leaves nothing that the next run takes in ----------------------------------


def test_a_killed_runs_journal_is_not_replayed_into_the_next_build(tmp_path):
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("create schema marts; create table marts.runs (run_id varchar)")
        con.execute("insert into marts.runs values ('published-run')")
    warehouse.start_build("dead-run")
    # the dead run writes its row and is killed before a checkpoint: its journal stays behind
    script = (
        "import duckdb, os; con = duckdb.connect(os.environ['BUILD']); "
        "con.execute(\"insert into marts.runs values ('ghost')\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script], env={**os.environ, "BUILD": str(warehouse.build_file)}, check=True)
    assert warehouse.build_journal.exists()
    warehouse.run_lock.path.unlink()  # its holder is gone (the takeover rules are tested in test_run_lock)
    warehouse.start_build("next-run")
    assert not warehouse.build_journal.exists()
    with warehouse.connect() as con:
        assert con.execute("select run_id from marts.runs").fetchall() == [("published-run",)]


@pytest.mark.parametrize("sigterm", ["default", "ignored", "blocked"])
def test_dbt_started_by_the_pipeline_dies_with_the_run(tmp_path, sigterm):
    """Also when the run's process ignores or blocks SIGTERM (both are inherited by dbt)."""
    launcher = Path(sys.executable).with_name("roi-dbt")
    assert launcher.exists(), "roi-dbt is installed with the project (pyproject [project.scripts])"
    setup = {
        "default": "",
        "ignored": "signal.signal(signal.SIGTERM, signal.SIG_IGN); ",
        "blocked": "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}); ",
    }[sigterm]
    parent = (
        f"import os, signal, subprocess, sys, time; {setup}"
        "env = {**os.environ, 'ROI_DBT_TARGET': '/bin/sleep', 'ROI_DBT_PARENT_PID': str(os.getpid())}; "
        f"child = subprocess.Popen([{str(launcher)!r}, '60'], env=env); print(child.pid, flush=True); time.sleep(60)"
    )
    run = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    child = int(run.stdout.readline())
    time.sleep(0.5)  # the launcher has become sleep
    assert Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"/bin/sleep")
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        state = Path(f"/proc/{child}/stat").read_text().split()[2] if Path(f"/proc/{child}/stat").exists() else "X"
        if state == "Z":  # dead, waiting for init to reap it
            break
        time.sleep(0.1)
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"


def test_the_dbt_launcher_gives_dbts_version_without_starting_dbt():
    launcher = Path(sys.executable).with_name("roi-dbt")
    answer = subprocess.run([str(launcher), "--version"], capture_output=True, text=True, check=True).stdout
    # the first version in it is dbt-core's, which is what dagster-dbt reads; dbt, which asks PyPI for the
    # latest release, was not started
    assert re.search(r"(\d+\.\d+\.\d+)", answer).group(1) == metadata.version("dbt-core")
    assert f"duckdb: {metadata.version('dbt-duckdb')}" in answer and "latest" not in answer


# --- impossible values are rejected with the field named -------------------------------------


@pytest.mark.parametrize(
    ("ordered_at", "amount", "order_id", "field"),
    [
        ("-infinity", "1", "o1", "ordered_at"),
        ("epoch", "1", "o1", "ordered_at"),
        ("0001-01-01 10:00", "1", "o1", "ordered_at"),
        ("2025-06-01 10:00+25:00", "1", "o1", "ordered_at"),
        ("2025-06-01 24:00", "1", "o1", "ordered_at"),
        ("2025-06-01 10:00", "NaN", "o1", "amount"),
        ("2025-06-01 10:00", "Inf", "o1", "amount"),
        ("2025-06-01 10:00", "1e309", "o1", "amount"),
        ("2025-06-01 10:00", "1", "\t\t", "order_id"),
        ("2025-06-01 10:00", "1", "o\x001", "order_id"),
    ],
)
def test_an_impossible_value_is_rejected_naming_its_field(tmp_path, ordered_at, amount, order_id, field):
    path = tmp_path / "orders.csv"
    path.write_text(f"{ORDER_HEADER}\n{order_id},shop_a,{ordered_at},,{amount},completed,false,C1\n{GOOD_ORDER}\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        [load] = land(con, "orders", [path])
        assert (load.rows_loaded, load.rows_rejected) == (1, 1)
        assert rejected(con)[1].startswith(field)


def test_plausible_timestamps_still_land(tmp_path):
    path = tmp_path / "orders.csv"
    stamps = [
        "2025-06-01",
        "2025-06-01 10:00",
        "2025-06-01T10:00:00Z",
        "2025-06-01 10:00:00.123+02:00",
        "2025-06-01 23:59:59-08",
    ]
    rows = [f"o{i},shop_a,{s},,1,completed,false,C1" for i, s in enumerate(stamps)]
    path.write_text("\n".join([ORDER_HEADER, *rows]) + "\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        [load] = land(con, "orders", [path])
        assert (load.rows_loaded, load.rows_rejected) == (len(stamps), 0), rejected(con)


def test_a_blank_line_is_no_record_and_the_others_keep_their_line_numbers(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(f"{ORDER_HEADER}\n{GOOD_ORDER}\n\n,,,,,,,\no2,shop_a,never,,1,completed,false,C1\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        [load] = land(con, "orders", [path])
        assert (load.rows_loaded, load.rows_rejected) == (1, 1)
        assert list(rejected(con)) == [4]  # rows count every line after the header, blank ones too


def test_a_line_whose_only_value_is_a_tab_is_a_rejected_row_not_a_blank_one(tmp_path):
    # found by tests/test_generated_input.py: stripping every kind of whitespace took it for blank
    path = tmp_path / "kpis.csv"
    path.write_text("unit_id,period_start,metric,value\nu1,2025-06-02,score,1\n,,\t\t,\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        [load] = land(con, "kpis", [path])
        assert (load.rows_loaded, load.rows_rejected) == (1, 1)
        assert "metric contains a control character" in rejected(con)[2]


def test_the_later_file_of_one_run_wins_a_key_both_carry(tmp_path):
    folder = tmp_path / "data" / "orders"
    folder.mkdir(parents=True)
    (folder / "orders_2026-01.csv").write_text(f"{ORDER_HEADER}\n{GOOD_ORDER}\n")
    (folder / "orders_2026-02.csv").write_text(f"{ORDER_HEADER}\n{GOOD_ORDER.replace('12.5', '99')}\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        land(con, "orders", discover_files(tmp_path / "data")["orders"])
        # staging keeps the latest _loaded_at (then the latest row): the February file's version
        latest = con.execute(
            "select amount from raw.orders order by _loaded_at desc, _source_row desc limit 1"
        ).fetchone()[0]
        assert latest == 99


# --- files that are not what they seem ---------------------------------------------------------


def test_a_pipe_named_like_a_dataset_is_refused_not_skipped(tmp_path):
    os.mkfifo(tmp_path / "orders.csv")
    with pytest.raises(ContractError, match="not a regular file"):
        discover_files(tmp_path)


def test_a_link_to_a_file_outside_the_data_folder_is_never_read(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    secret = tmp_path / "elsewhere.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (data / "orders.csv").symlink_to(secret)
    with pytest.raises(ContractError, match="outside the data folder") as refused:
        discover_files(data)
    assert "root:x" not in str(refused.value)


@pytest.mark.parametrize(
    "content",
    [
        # CR-only line ends (old Mac files): read as lines, an e-mail in the amount rejected
        f"{ORDER_HEADER}\r{GOOD_ORDER.replace('C1', 'ann@example.com')}\r o2,shop_a,+44 7700 900123",
        # a stray quote
        f'{ORDER_HEADER}\n"o1,shop_a,2025-06-01 10:00,,1,completed,false,bob@example.com\no2,x,"y\n',
    ],
)
def test_an_unreadable_file_is_refused_without_quoting_its_content(tmp_path, content):
    path = tmp_path / "orders.csv"
    path.write_text(content)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        try:
            loads = land(con, "orders", [path])
        except ContractError as exc:
            message = str(exc)
            assert "@" not in message and "7700" not in message and str(path) in message
        else:  # read after all: then every line is accounted for, nothing is quoted in a log
            assert sum(load.rows_loaded + load.rows_rejected for load in loads) >= 1


def test_a_repeated_header_column_is_refused(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(f"{ORDER_HEADER},amount\n{GOOD_ORDER},13\n")
    with pytest.raises(ContractError, match="amount more than once"):
        read_file(path)


@pytest.mark.parametrize("column", [pl.Series("amount", [[1.0]]), pl.Series("amount", [b"\x00\x01"])])
def test_a_parquet_column_of_lists_or_bytes_is_refused_with_a_message(tmp_path, column):
    frame = pl.DataFrame({c: ["x"] for c in DATASETS["orders"].column_names}).with_columns(column)
    frame.write_parquet(tmp_path / "orders.parquet")
    with pytest.raises(ContractError, match="amount hold lists, structures or binary data"):
        inventory(tmp_path)


# --- the register refuses nonsense ----------------------------------------------------------------


def test_a_register_that_is_not_utf8_text_or_is_a_folder_is_refused_with_a_message(tmp_path):
    latin = tmp_path / "initiatives.yml"
    latin.write_bytes("business: {name: Caf\xe9, currency: EUR, timezone: UTC}\n".encode("latin-1"))
    with pytest.raises(RegisterError, match="not UTF-8"):
        load_register(latin)
    with pytest.raises(RegisterError, match="is a directory"):
        load_register(tmp_path)


# --- the salt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("salt", [" ", "a", "aaaaaaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabc", "short-but-mixed"])
def test_a_weak_salt_is_refused(salt):
    with pytest.raises(SaltError, match="too weak"):
        check_salt_strength(salt)


def test_the_warehouse_remembers_its_salt_by_fingerprint_and_refuses_another():
    check_salt_strength(SALT)
    fingerprint = salt_fingerprint(SALT)
    assert SALT not in fingerprint and len(fingerprint) == 64
    check_same_salt(SALT, fingerprint, "w.duckdb")
    check_same_salt(SALT, None, "w.duckdb")  # a new warehouse
    with pytest.raises(SaltError, match="second identity"):
        check_same_salt(SALT + "x", fingerprint, "w.duckdb")


def test_a_line_without_quotes_is_split_as_the_csv_module_splits_it():
    """``split_record`` splits quote-free lines itself; on any line, with any delimiter, it must
    give what Python's csv module gives (the reference), including line ends, stray carriage
    returns, NUL bytes and empty fields."""
    import csv
    import io
    import random

    from connectors.readers import split_record

    def reference(text, delimiter):
        try:
            return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False), [])
        except csv.Error:
            return None

    draw = random.Random(7)
    pieces = ["a", "é", " ", ",", ";", "\t", "|", '"', "\r", "\x00", '""']
    for _ in range(20_000):
        line = "".join(draw.choice(pieces) for _ in range(draw.randint(0, 9))) + draw.choice(
            ["\n", "\r\n", "", "\r\r\n", "\n\n"]
        )
        for delimiter in (",", ";", "\t", "|"):
            assert split_record(line, delimiter, '"') == reference(line, delimiter), (line, delimiter)


def test_a_file_read_in_plain_blocks_gives_what_reading_it_line_by_line_gives(tmp_path, monkeypatch):
    """Blocks of plain lines are split column-wise in polars (``readers._split_plain``), other
    blocks line by line; on random files — quotes, quoted line breaks, stray carriage returns,
    bytes that are not UTF-8, blank lines, lines a field short or long, a byte-order mark, no
    final line end, blocks cut anywhere — both must give the same records and malformed lines."""
    import random

    import polars as pl

    from connectors import readers

    def read(path, dialect, *, blocks: bool):
        with monkeypatch.context() as patch:
            if not blocks:
                patch.setattr(readers, "plain_text", lambda block, dialect: None)
            text = readers.read_csv(path, dialect)
            frames = list(text.batches)
        records = pl.concat(frames) if frames else None
        return text.columns, records, text.malformed

    draw = random.Random(11)
    clean = ["a", "é", " ", "1.5", "", "x y"]
    dirty = ['"', '"q,r"', "\r", "\x00", "\udcff"]
    plain_blocks = 0
    for case in range(300):
        delimiter = draw.choice([",", ";", "\t", "|"])
        width = draw.randint(1, 5)
        lines = ["\ufeff" * draw.choice([0, 1]) + delimiter.join(f"c{i}" for i in range(width))]
        for _ in range(draw.randint(0, 60)):
            fields = width + draw.choice([0] * 8 + [-1, 1])
            pieces = clean + (dirty if draw.random() < 0.05 else [])
            lines.append(
                delimiter.join(
                    "".join(draw.choice(pieces) for _ in range(draw.randint(0, 3))) for _ in range(max(fields, 0))
                )
            )
        ends = [draw.choice(["\n"] * 6 + ["\r\n", "\n\n", " \n"]) for _ in lines]
        content = "".join(line + end for line, end in zip(lines, ends))
        if draw.random() < 0.3:
            content = content.rstrip("\n")
        path = tmp_path / f"f{case}.csv"
        path.write_bytes(content.encode("utf-8", errors="surrogateescape"))
        dialect = readers.CsvDialect(delimiter=delimiter)
        monkeypatch.setattr(readers, "BLOCK_BYTES", draw.randint(1, 400))
        with path.open("rb") as handle:
            plain_blocks += sum(readers.plain_text(b, dialect) is not None for b in readers._blocks(handle))
        by_block, by_line = read(path, dialect, blocks=True), read(path, dialect, blocks=False)
        assert by_block[0] == by_line[0]
        assert (by_block[1] is None) == (by_line[1] is None) or (by_block[1].height == 0 and by_line[1] is None), (
            path.read_bytes()
        )
        if by_line[1] is not None:
            assert by_block[1].sort("_source_row").equals(by_line[1].sort("_source_row")), path.read_bytes()
        assert sorted(by_block[2], key=lambda m: m.row) == sorted(by_line[2], key=lambda m: m.row), path.read_bytes()
    assert plain_blocks > 500  # the column-wise path was exercised, not only the line-by-line one


# --- bad rows stay rows, and keep nothing personal ---------------------------------------------


def test_personal_data_in_the_wrong_column_is_rejected_without_keeping_it(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        f"{ORDER_HEADER}\n"
        "o1,shop_a,2025-06-01 10:00,,ann@example.com,completed,false,C1\n"  # an e-mail in the amount
        "o2,shop_a,2025-06-01 10:00,+44 7700 900123,1,completed,false,C1\n"  # a phone number in a time
        "o3,shop_a,2025-06-01 10:00,,1,completed,false,bob@example.com\n"  # where it belongs: hashed
        "55210010012345,shop_a,2025-06-01 10:00,,x,completed,false,C2\n"  # a long numeric key is an id
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        [load] = land(con, "orders", [path])
        assert (load.rows_loaded, load.rows_rejected) == (1, 3)
        reasons = rejected(con)
        assert reasons[1] == 'amount: cannot read "(an e-mail address, not kept)" as a finite number'
        assert reasons[2].startswith('fulfilled_at: cannot read "(a phone number, not kept)"')
        records = con.execute("select record::varchar from raw.rejected_rows order by source_row").fetchall()
        assert '"order_id":"55210010012345"' in records[2][0]
    stored = (tmp_path / "w.duckdb").read_bytes()
    assert b"ann@example" not in stored and b"7700" not in stored and b"bob@example" not in stored


def test_per_record_rules_reject_the_record_instead_of_failing_the_night(tmp_path):
    orders, tickets = tmp_path / "orders.csv", tmp_path / "tickets.csv"
    orders.write_text(
        f"{ORDER_HEADER}\n{GOOD_ORDER}\no2,shop_a,2025-06-01 10:00,,-5,completed,false,C1\n"
        "o3,shop_a,2025-06-01 10:00,,-5,refunded,false,C1\n"
        f"o4,{'u' * 5000},2025-06-01 10:00,,1,completed,false,C1\n"
    )
    tickets.write_text(
        "ticket_id,unit_id,opened_at,first_response_at,resolved_at,reopened,csat\n"
        "t1,desk,2025-06-02 10:00,2025-06-02 10:30,2025-06-02 12:00,false,5\n"
        "t2,desk,2025-06-02 10:00,2025-06-02 09:30,,false,\n"
        "t3,desk,2025-06-02 10:00,,2025-06-01 12:00,false,\n"
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        [load] = land(con, "orders", [orders])
        assert (load.rows_loaded, load.rows_rejected) == (2, 2)
        assert rejected(con) == {
            2: "amount is negative for a completed order (a refund booked as an order? give it status refunded)",
            4: "unit_id is longer than 200 characters (5000)",
        }
        assert (
            len(con.execute("select record::varchar from raw.rejected_rows where source_row = 4").fetchone()[0]) < 500
        )
        [load] = land(con, "tickets", [tickets])
        assert (load.rows_loaded, load.rows_rejected) == (1, 2)
        reasons = dict(
            con.execute("select source_row, reason from raw.rejected_rows where dataset = 'tickets'").fetchall()
        )
        assert reasons == {2: "first_response_at is before opened_at", 3: "resolved_at is before opened_at"}


def test_units_read_as_the_register_reads_them_and_invisible_characters_refused(tmp_path):
    """A full-width unit is the unit the register names (NFKC); an id with a zero-width space or a
    right-to-left mark would look like another and is rejected with its reason."""
    path = tmp_path / "orders.csv"
    path.write_text(
        f"{ORDER_HEADER}\n"
        "o1,ｓｈｏｐ_ａ,2025-06-01 10:00,,1,completed,false,C1\n"
        "o2,shop\u200b_a,2025-06-01 10:00,,1,completed,false,C1\n"
        "o3\u202e,shop_a,2025-06-01 10:00,,1,completed,false,C1\n"
        "o4,Café,2025-06-01 10:00,,1,completed,false,C1\n",
        encoding="utf-8",
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        [load] = land(con, "orders", [path])
        assert (load.rows_loaded, load.rows_rejected) == (2, 2)
        assert con.execute("select order_id, unit_id from raw.orders order by 1").fetchall() == [
            ("o1", "shop_a"),
            ("o4", "Café"),
        ]
        reasons = rejected(con)
        assert reasons[2].startswith("unit_id contains an invisible") and reasons[3].startswith("order_id contains")
