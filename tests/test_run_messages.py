"""What a failed run says, and what it leaves: through ``roi``'s command line on a real data folder
(the demo business, small), every failure is said for people — the file, line or field and the
fix, never a Python class path, an engine's error name or a stack trace (those are in the run's
log) — and the warehouse folder is left as it was, but for the log, with a sentence on what is
published."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.commands import main as roi_main
from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK, EXIT_RUN_FAILED
from pipelines.runtime.failure import own_message
from pipelines.runtime.warehouse import Warehouse
from roi_ledger.demo import generate_demo_business

pytestmark = pytest.mark.e2e

SCALE = 0.02  # the demo business, few records: a run costs its fixed part (imports, dbt)
# What no owner may read: Python's class paths and exception names, Dagster's internals, DuckDB's
# and polars' error names, stack traces.
FORBIDDEN = (
    re.compile(r"\broi_ledger\.|\bconnectors\.|\bpipelines\.[a-z]|\bdagster[._]|_core\b"),
    re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b"),  # ContractError, ComputeError, BinderException
    re.compile(r"\b(?:Binder|Catalog|Parser|Conversion|Invalid Input|Out of Memory) Error\b"),
    re.compile(r"Traceback|Stack Trace|File \"/"),
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate_demo_business(tmp_path_factory.mktemp("demo"), seed=7, scale=SCALE)


@pytest.fixture(scope="module")
def published(demo, tmp_path_factory):
    """A folder with a warehouse published by a run that succeeded."""
    root = tmp_path_factory.mktemp("published")
    shutil.copytree(demo.root, root, dirs_exist_ok=True)
    code, _ = roi(run_args(root))
    assert code == EXIT_OK
    return root


@pytest.fixture
def folder(demo, tmp_path) -> Path:
    """A copy of the demo's data folder and register, with no warehouse yet."""
    shutil.copytree(demo.root, tmp_path, dirs_exist_ok=True)
    (tmp_path / "wh").mkdir()
    return tmp_path


def run_args(root: Path) -> list[str]:
    return ["run", "--data", str(root / "data"), "--config", str(root / "initiatives.yml")] + [
        "--warehouse",
        str(root / "wh" / "warehouse.duckdb"),
        "--as-of",
        "2026-11-22",
    ]


def roi(args: list[str], capfd=None) -> tuple[int, str]:
    """``roi args`` in this process; its exit code and everything it printed (both streams:
    the progress lines go to the terminal's standard error)."""
    code = roi_main(args)
    if capfd is None:
        return code, ""
    out, err = capfd.readouterr()
    return code, out + err


def assert_for_people(text: str) -> None:
    for pattern in FORBIDDEN:
        found = pattern.search(text)
        assert found is None, f"{found.group(0)!r} in what the owner reads:\n{text}"


def listing(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_size for path in folder.iterdir()}


def assert_left_as_it_was(before: dict[str, int], after: Path) -> None:
    """Nothing of the failed run is left beside the warehouse but its log, which the message names."""
    log = Warehouse(after / "warehouse.duckdb").run_log.name
    assert set(listing(after)) - {log} == set(before) - {log}


def test_a_file_that_cannot_be_read_is_named_and_leaves_nothing_behind(folder, capfd):
    (folder / "data" / "orders.parquet").write_bytes(b"PAR1 not parquet at all")
    code, said = roi(run_args(folder), capfd)
    assert code == EXIT_INVALID_INPUT
    assert_for_people(said)
    assert "orders.parquet: cannot read the file as Parquet" in said and "export it again" in said
    assert "no warehouse has been published yet" in said and "is unchanged" not in said
    assert_left_as_it_was({}, folder / "wh")
    code, said = roi(["validate", "--data", str(folder / "data"), "--config", str(folder / "initiatives.yml")], capfd)
    assert code == EXIT_INVALID_INPUT and "orders.parquet" in said
    assert_for_people(said)


def test_a_mapping_duckdb_cannot_bind_names_the_column_and_the_missing_field(folder, capfd):
    (folder / "data" / "sources.yml").write_text(
        "sources:\n"
        "  tickets: {dataset: tickets, path: tickets.csv, columns: {unit_id: {sql: nosuchcolumn}}}\n"
        "  orders: {dataset: orders, path: orders.parquet}\n"
        "  hours: {dataset: hours, path: 'hours/*.csv'}\n"
        "  defects: {dataset: defects, path: defects.csv}\n"
        "  kpis: {dataset: kpis, path: kpis.csv}\n"
    )
    for args in (
        run_args(folder),
        ["validate", "--data", str(folder / "data"), "--config", str(folder / "initiatives.yml")],
    ):
        code, said = roi(args, capfd)
        assert code == EXIT_INVALID_INPUT
        assert_for_people(said)
        assert "tickets.csv: the mapping of unit_id in sources.yml cannot be evaluated" in said
        assert 'no field "nosuchcolumn"' in said and '"opened_at"' in said  # the fields it has
    assert_left_as_it_was({}, folder / "wh")


def test_an_internal_error_is_one_sentence_and_its_trace_is_in_the_log(folder, capfd, monkeypatch):
    def broken(con):
        raise RuntimeError("an internal fault")

    monkeypatch.setattr("pipelines.defs.ingest.drop_renamed_tables", broken)
    code, said = roi(run_args(folder), capfd)
    assert code == EXIT_RUN_FAILED
    assert_for_people(said)
    log = Warehouse(folder / "wh" / "warehouse.duckdb").run_log
    [sentence] = [line for line in said.splitlines() if line.startswith("run failed")]
    assert sentence == (
        'run failed in step "wrote the register" on an internal error (not your data): no warehouse has been '
        f"published yet at {folder / 'wh' / 'warehouse.duckdb'}; the full log, with every error, is {log}"
    )
    assert "an internal fault" not in said
    assert "Traceback" in log.read_text() or "Stack Trace" in log.read_text()
    assert "RuntimeError: an internal fault" in log.read_text()
    assert_left_as_it_was({}, folder / "wh")


def test_a_failed_blocking_check_says_what_it_found_where_and_leaves_no_warehouse(folder, capfd):
    # every ticket's opening time in words: each row is rejected with its reason, and the night's
    # check that delivered tickets files land rows blocks (a per-record fault, such as a ticket
    # resolved before it was opened, is rejected at landing and no longer fails a night)
    tickets = folder / "data" / "tickets.csv"
    rows = list(csv.reader(tickets.open(newline="")))
    opened = rows[0].index("opened_at")
    for row in rows[1:]:
        row[opened] = "yesterday"
    with tickets.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    code, said = roi(run_args(folder), capfd)
    print(said)
    assert code == EXIT_RUN_FAILED
    assert_for_people(said)
    assert "a blocking check on raw.tickets failed" in said and "expectations/raw_tickets.yml" in said
    assert "no warehouse has been published yet" in said
    assert_left_as_it_was({}, folder / "wh")


def test_a_later_failed_run_leaves_the_published_warehouse_byte_identical_and_names_it(published, capfd):
    warehouse = published / "wh" / "warehouse.duckdb"
    before, content = listing(warehouse.parent), warehouse.read_bytes()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run_id, ended_at = con.execute("select run_id, ended_at from marts.runs").fetchone()
    orders = published / "data" / "orders.parquet"
    kept = orders.read_bytes()
    orders.write_bytes(b"PAR1 cut short")
    try:
        code, said = roi(run_args(published), capfd)
    finally:
        orders.write_bytes(kept)
    assert code == EXIT_INVALID_INPUT
    assert_for_people(said)
    assert warehouse.read_bytes() == content
    assert f"the warehouse {warehouse} published on {ended_at:%Y-%m-%d %H:%M} " in said
    assert f"(run {run_id}) is unchanged" in said
    assert_left_as_it_was(before, warehouse.parent)


def test_an_errors_own_text_is_shown_without_its_class_path():
    message = "roi_ledger.contract.ContractError: data/orders.csv: no column 'Name'\n"
    assert own_message(message, "ContractError") == "data/orders.csv: no column 'Name'"
    assert own_message("SaltError: the salt changed", "SaltError") == "the salt changed"


def test_explain_on_a_missing_or_foreign_file_says_what_it_is(tmp_path, capfd):
    foreign = tmp_path / "notes.duckdb"
    foreign.write_text("not a database")
    for path, expected in ((tmp_path / "none.duckdb", "no warehouse is published"), (foreign, "cannot be read")):
        code, said = roi(["explain", "pos_order_checks", "--warehouse", str(path)], capfd)
        assert code == EXIT_INVALID_INPUT
        assert expected in said and str(path) in said
        assert_for_people(said)


def test_a_run_failed_under_the_daemon_leaves_nothing_and_its_notice_is_in_words(tmp_path, monkeypatch):
    from dagster import ConfigurableResource, DagsterInstance, build_run_status_sensor_context, job, op

    from pipelines.defs import publish
    from pipelines.runtime.resources import RESOURCE_KEY, run_config

    class StandIn(ConfigurableResource):  # the run resource's config shape, without its set-up
        data_dir: str
        config_path: str
        warehouse_path: str
        as_of: str = ""

    @op(required_resource_keys={RESOURCE_KEY})
    def lands():
        from roi_ledger.contract import ContractError

        raise ContractError("data/orders.csv: dataset orders: required column(s) amount are missing")

    @job(resource_defs={RESOURCE_KEY: StandIn.configure_at_launch()})
    def nightly():
        lands()

    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    instance = DagsterInstance.ephemeral()
    config = run_config(data_dir=tmp_path, config_path=tmp_path / "r.yml", warehouse=warehouse.path, as_of=None)
    result = nightly.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
    warehouse.run_lock.acquire(result.run_id)
    for written in (warehouse.build_file, warehouse.build_journal):
        written.write_bytes(b"what the failed run wrote")
    sent = []
    monkeypatch.setattr(publish, "notify_failure", sent.append)
    context = build_run_status_sensor_context(
        sensor_name="release_lock_of_failed_run",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    publish.release_lock_of_failed_run(context)
    assert list(tmp_path.iterdir()) == []
    [notice] = sent
    assert (
        notice.reason == 'step "lands" failed: data/orders.csv: dataset orders: required column(s) amount are missing'
    )
    assert notice.published == f"no warehouse has been published yet at {warehouse.path}"
    assert_for_people(notice.text)
