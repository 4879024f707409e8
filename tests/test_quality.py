"""Input quality: the suites, GX validation pushed down to DuckDB, and the blocking asset checks.

Great Expectations takes ~15 s to import; the first test that validates pays for it, the
others reuse it (one import per session).
"""

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from connectors.files import ensure_raw_schema
from roi_ledger.contract import DATASETS
from roi_ledger.quality import (
    Status,
    SuiteError,
    load_suite,
    load_suites,
    validate_suites,
    validate_table,
)
from roi_ledger.quality.gx_duckdb import DUCKDB_DIALECT, UPSTREAM_ISSUES, duckdb_datasource

AS_OF = date(2026, 3, 31)
SUITES = {s.name: s for s in load_suites()}

STG_TICKETS_COLUMNS = """
    ticket_id varchar, unit_id varchar,
    opened_at timestamp, first_response_at timestamp, resolved_at timestamp,
    opened_at_utc timestamp, first_response_at_utc timestamp, resolved_at_utc timestamp,
    reopened boolean, csat bigint, _source_file varchar, _loaded_at timestamptz
"""


def create_stg_tickets(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """staging.stg_tickets as a plain table; rows are (ticket_id, opened_at, first_response_at,
    resolved_at, csat, source_file) with local = UTC for simplicity."""
    con.execute("create schema if not exists staging")
    con.execute(f"create or replace table staging.stg_tickets ({STG_TICKETS_COLUMNS})")
    for ticket_id, opened, responded, resolved, csat, source in rows:
        con.execute(
            "insert into staging.stg_tickets values (?, 'shop_a', ?, ?, ?, ?, ?, ?, false, ?, ?, now())",
            [ticket_id, opened, responded, resolved, opened, responded, resolved, csat, source],
        )


CLEAN_TICKETS = [
    ("T1", "2026-03-20 09:00", "2026-03-20 09:30", "2026-03-20 12:00", 5, "tickets.csv"),
    ("T2", "2026-03-29 14:00", "2026-03-29 14:05", None, None, "tickets.csv"),
    ("T3", "2026-03-30 08:00", None, None, 4, "tickets.csv"),
]
BROKEN_TICKETS = [
    ("T1", "2026-02-01 09:00", "2026-02-01 09:30", "2026-02-01 12:00", 5, "tickets.csv"),
    ("T2", "2026-02-02 14:00", "2026-02-02 13:00", None, None, "tickets.csv"),  # answered before opened
    ("T3", "2026-02-03 08:00", None, None, 7, "tickets.csv"),  # csat out of range
    ("T3", "2026-02-03 08:00", None, None, 4, "tickets_2.csv"),  # duplicated key
    (None, "2026-02-04 08:00", None, None, 3, "tickets_2.csv"),  # null key
]  # and nothing newer than 2026-02-04: stale for an as_of of 2026-03-31


def warehouse_with(tmp_path: Path, tickets: list[tuple], name: str = "warehouse.duckdb") -> Path:
    path = tmp_path / name
    with duckdb.connect(str(path)) as con:
        ensure_raw_schema(con)  # every raw table, empty
        create_stg_tickets(con, tickets)
    return path


# --- suites (no GX) ---------------------------------------------------------------------------


def test_every_dataset_has_a_raw_and_a_staging_suite_with_critical_keys():
    for dataset in DATASETS.values():
        raw, staging = SUITES[f"raw_{dataset.name}"], SUITES[f"staging_{dataset.name}"]
        assert (raw.table, staging.table) == (f"raw.{dataset.name}", f"staging.stg_{dataset.name}")
        critical = {(s.expectation, s.columns) for s in staging.critical}
        for key in dataset.key:
            assert ("expect_column_values_to_not_be_null", (key,)) in critical
            assert ("expect_column_values_to_not_be_null", (key,)) in {(s.expectation, s.columns) for s in raw.critical}
        unique = (
            ("expect_column_values_to_be_unique", dataset.key)
            if len(dataset.key) == 1
            else ("expect_compound_columns_to_be_unique", dataset.key)
        )
        assert unique in critical, f"{staging.name}: the key must be unique and critical"
        # raw is append-only: keys repeat by design
        assert not any("unique" in s.expectation for s in raw.expectations)


def test_raw_suites_expect_the_contract_types():
    for dataset in DATASETS.values():
        suite = SUITES[f"raw_{dataset.name}"]
        expected = {c.name: c.type.value for c in dataset.columns}
        expected = {k: ("TIMESTAMP WITH TIME ZONE" if v == "TIMESTAMPTZ" else v) for k, v in expected.items()}
        typed = {
            s.kwargs["column"]: s.kwargs["type_"]
            for s in suite.expectations
            if s.expectation == "expect_column_values_to_be_of_type"
        }
        assert typed == expected, f"{suite.name} disagrees with roi_ledger/contract.py"


def test_a_suite_must_say_whether_each_expectation_is_critical(tmp_path):
    path = tmp_path / "staging_orders.yml"
    path.write_text(
        "name: staging_orders\ntable: staging.stg_orders\ndataset: orders\ndescription: x\n"
        "expectations:\n  - {expectation: expect_column_values_to_not_be_null, kwargs: {column: order_id}}\n"
    )
    with pytest.raises(SuiteError, match=r"expectations\.0\.critical"):
        load_suite(path)
    path.write_text(
        path.read_text()
        .replace("order_id}}", "order_id}, critical: true}")
        .replace("expect_column_values_to_not_be_null", "expect_column_values_to_match_regex")
    )
    with pytest.raises(SuiteError, match="regex expectations do not run on DuckDB"):
        load_suite(path)


def test_an_empty_table_without_files_is_not_applicable_without_running_gx(tmp_path):
    warehouse = warehouse_with(tmp_path, CLEAN_TICKETS)
    result = validate_table(warehouse, SUITES["raw_hours"], as_of=AS_OF, has_files=False)
    assert result.rows == 0 and result.not_applicable and not result.blocks
    assert {r.success for r in result.results} == {None}
    assert result.results[0].message == "raw.hours: not applicable (the table is empty: no hours files delivered)"


# --- validation with GX on DuckDB -------------------------------------------------------------


def test_planted_violations_fail_with_their_messages_and_flags(tmp_path):
    warehouse = warehouse_with(tmp_path, BROKEN_TICKETS)
    result = validate_table(warehouse, SUITES["staging_tickets"], as_of=AS_OF)
    failed = {(r.expectation, r.columns): r for r in result.results if r.success is False}
    assert set(failed) == {
        ("expect_column_values_to_not_be_null", ("ticket_id",)),
        ("expect_column_values_to_be_unique", ("ticket_id",)),
        ("expect_column_pair_values_a_to_be_greater_than_b", ("first_response_at_utc", "opened_at_utc")),
        ("expect_column_values_to_be_between", ("csat",)),
        ("expect_column_max_to_be_between", ("opened_at",)),
    }
    assert all(r.status is Status.FAILED for r in failed.values()), [r.message for r in failed.values()]

    null_key = failed["expect_column_values_to_not_be_null", ("ticket_id",)]
    assert null_key.critical and null_key.unexpected_count == 1
    assert null_key.message == "staging.stg_tickets.ticket_id: 1 null value (e.g. null at _source_file=tickets_2.csv)"

    duplicated = failed["expect_column_values_to_be_unique", ("ticket_id",)]
    assert duplicated.critical and duplicated.unexpected_count == 2
    assert duplicated.message.startswith(
        "staging.stg_tickets.ticket_id: 2 rows share a value with another row (e.g. T3"
    )

    order = failed["expect_column_pair_values_a_to_be_greater_than_b", ("first_response_at_utc", "opened_at_utc")]
    assert order.critical and order.unexpected_count == 1
    assert order.message == (
        "staging.stg_tickets (first_response_at_utc, opened_at_utc): 1 row where first_response_at_utc is "
        "not on or after opened_at_utc (e.g. 2026-02-02 13:00 vs 2026-02-02 14:00 at ticket_id=T2, "
        "_source_file=tickets.csv)"
    )

    csat = failed["expect_column_values_to_be_between", ("csat",)]
    assert not csat.critical and csat.unexpected_count == 1
    assert (
        csat.message
        == "staging.stg_tickets.csat: 1 value not between 1 and 5 (e.g. 7 at ticket_id=T3, _source_file=tickets.csv)"
    )

    stale = failed["expect_column_max_to_be_between", ("opened_at",)]
    assert not stale.critical and str(stale.observed_value).startswith("2026-02-04")
    assert stale.message == (
        "staging.stg_tickets.opened_at: latest value is 2026-02-04 08:00, expected >= 2026-03-24; "
        "the newest record should be at most 7 days before as_of 2026-03-31"
    )
    assert result.blocks


def test_a_clean_table_passes_and_the_file_is_free_for_a_writer_right_after(tmp_path):
    warehouse = warehouse_with(tmp_path, CLEAN_TICKETS)
    result = validate_table(warehouse, SUITES["staging_tickets"], as_of=AS_OF)
    assert [r.message for r in result.results if r.status is not Status.PASSED] == []
    assert not result.blocks
    assert result.results[1].message.startswith("staging.stg_tickets: ok (must have columns ticket_id")
    # DuckDB locks the file per process: another process can only write if GX let go of it.
    writer = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('create table main.after_validation as select 1')"
    done = subprocess.run([sys.executable, "-c", writer, str(warehouse)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_raw_checks_types_and_an_empty_landing_despite_files(tmp_path):
    warehouse = warehouse_with(tmp_path, CLEAN_TICKETS)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table raw.orders alter amount type varchar")  # drifted from the contract
        con.execute(
            "insert into raw.orders values ('o1', 'shop_a', '2026-03-30 10:00:00+00', null, '12.5', "
            "'completed', false, null, 'L1', 'orders.csv', 2, now(), null, null)"
        )
    results = validate_suites(
        warehouse, [SUITES["raw_orders"], SUITES["raw_tickets"]], as_of=AS_OF, datasets_with_files={"orders", "tickets"}
    )
    orders, tickets = results
    [drift] = [r for r in orders.results if r.success is False]
    assert drift.critical and drift.message == "raw.orders.amount: type is VARCHAR, expected DOUBLE"
    [empty] = [r for r in tickets.results if r.success is False]
    assert empty.critical and empty.expectation == "expect_table_row_count_to_be_between"
    assert empty.message == (
        "raw.tickets: 0 rows, expected >= 1; the data directory has tickets files: were all their rows "
        "rejected? (see raw.rejected_rows)"
    )
    assert all(r.status is Status.NOT_APPLICABLE for r in tickets.results if r is not empty)


def test_gx_still_needs_the_duckdb_workaround(tmp_path, monkeypatch):
    """Runs a trivial expectation on DuckDB WITHOUT the workaround. It fails today with GX's
    MetricResolutionError ("list index out of range"); when this test fails, upstream fixed the
    bug: delete roi_ledger.quality.gx_duckdb.register_duckdb_as_persisted_connection_dialect."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    without_duckdb = tuple(d for d in engine_module._PERSISTED_CONNECTION_DIALECTS if d != DUCKDB_DIALECT)
    monkeypatch.setattr(engine_module, "_PERSISTED_CONNECTION_DIALECTS", without_duckdb)
    warehouse = warehouse_with(tmp_path, CLEAN_TICKETS)
    with duckdb_datasource(warehouse, apply_workaround=False) as datasource:
        batch = (
            datasource.add_query_asset("t", query="select * from staging.stg_tickets")
            .add_batch_definition_whole_table("all")
            .get_batch()
        )
        result = batch.validate(
            gx.ExpectationSuite(name="canary", expectations=[gxe.ExpectTableRowCountToBeBetween(min_value=1)])
        )
    [outcome] = result.results
    errors = str(outcome.exception_info)
    assert not outcome.success and "list index out of range" in errors, (
        "Great Expectations now validates DuckDB through SQLAlchemy without the workaround "
        f"({', '.join(UPSTREAM_ISSUES)} fixed?): remove register_duckdb_as_persisted_connection_dialect "
        "from roi_ledger/quality/gx_duckdb.py, this test, and its section in docs/quality.md."
    )


# --- Dagster: a failing critical check blocks what is downstream ------------------------------


def test_a_failing_critical_check_stops_downstream_assets(tmp_path, monkeypatch):
    from dagster import (
        AssetCheckSeverity,
        AssetKey,
        AssetSpec,
        MaterializeResult,
        asset,
        materialize,
        multi_asset,
    )

    from pipelines.defs.quality import CRITICAL_CHECK, WARNING_CHECK, staging_quality_checks
    from pipelines.runtime.resources import RESOURCE_KEY, RunResource

    staging_keys = [AssetKey(["staging", f"stg_{name}"]) for name in DATASETS]
    summary_key = AssetKey(["marts", "ticket_summary"])

    def run(tickets: list[tuple], folder: str):
        @multi_asset(specs=[AssetSpec(key) for key in staging_keys])
        def staging_models(run: RunResource):
            """Stands in for dbt: stg_tickets from ``tickets``, the other models empty."""
            with run.warehouse.connect() as con:
                create_stg_tickets(con, tickets)
                for name in DATASETS:
                    if name != "tickets":
                        con.execute(f"create table staging.stg_{name} as select * from staging.stg_tickets where false")
            for key in staging_keys:
                yield MaterializeResult(asset_key=key)

        @asset(key=summary_key, deps=[AssetKey(["staging", "stg_tickets"])])
        def ticket_summary() -> None:
            pass

        root = tmp_path / folder
        (root / "data").mkdir(parents=True)  # a run resolves its sources (none here) when it starts
        (root / "initiatives.yml").write_text("business: {name: T, currency: EUR, timezone: UTC}\n")
        run = RunResource(
            data_dir=str(root / "data"),
            config_path=str(root / "initiatives.yml"),
            warehouse_path=str(root / "warehouse.duckdb"),
            as_of=AS_OF.isoformat(),
        )
        return materialize(
            [staging_models, ticket_summary, staging_quality_checks],
            resources={RESOURCE_KEY: run},
            raise_on_error=False,
        )

    result = run(BROKEN_TICKETS, "broken")
    assert not result.success
    evaluations = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    critical = evaluations["stg_tickets", CRITICAL_CHECK]
    assert not critical.passed and critical.severity == AssetCheckSeverity.ERROR
    assert "staging.stg_tickets.ticket_id: 1 null value" in critical.description
    warnings = evaluations["stg_tickets", WARNING_CHECK]
    assert not warnings.passed and warnings.severity == AssetCheckSeverity.WARN
    # the other tables are empty and no files were delivered: not applicable, passed
    assert evaluations["stg_orders", CRITICAL_CHECK].passed
    assert evaluations["stg_orders", CRITICAL_CHECK].metadata["not_applicable"].value is True
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey(["staging", "stg_tickets"]) in materialized and summary_key not in materialized
    # Dagster never started the downstream step ("Dependencies ... failed. Not executing.")
    assert "marts__ticket_summary" not in {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}

    # the same graph on clean tickets: every check passes and the summary is built
    result = run(CLEAN_TICKETS, "clean")
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    assert summary_key in {e.asset_key for e in result.get_asset_materialization_events()}
