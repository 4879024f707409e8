"""Publish: record the run in ``marts.runs`` and swap the build in as the published warehouse;
release the run lock of a run that failed instead."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from dagster import (
    AssetExecutionContext,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    RunFailureSensorContext,
    asset,
    run_failure_sensor,
)

from pipelines.defs.transform import dbt_metrics_layer, dbt_results_layer
from pipelines.runtime.failure import step_failures
from pipelines.runtime.incremental import inputs_fingerprint, present_files, raw_state
from pipelines.runtime.notify import Failure, notify_failure
from pipelines.runtime.resources import RESOURCE_KEY, RunResource
from pipelines.runtime.settings import SettingsError, read_settings
from pipelines.runtime.warehouse import Warehouse
from roi_ledger.tables import table

RUNS = table("runs")  # declared in dbt_project/models/marts/runs.yml
RUNS_KEY = "run_id"  # a run published again (after a recovery) replaces its row


def create_runs_table(con) -> None:
    """``marts.runs`` as runs.yml declares it, with its descriptions as DuckDB comments (as dbt's
    persist_docs gives the other marts); a column declared since is added to an older warehouse."""
    con.execute("create schema if not exists marts")
    columns = ", ".join(f"{c.name} {c.data_type}{' primary key' if c.name == RUNS_KEY else ''}" for c in RUNS.columns)
    con.execute(f"create table if not exists marts.runs ({columns})")
    for column in RUNS.columns:
        con.execute(f"alter table marts.runs add column if not exists {column.name} {column.data_type}")
    comments = {"table marts.runs": RUNS.description} | {
        f"column marts.runs.{c.name}": c.description for c in RUNS.columns
    }
    for target, comment in comments.items():
        con.execute(f"comment on {target} is '{comment.replace(chr(39), chr(39) * 2)}'")


def input_files(con, run: RunResource, run_id: str) -> pl.DataFrame:
    """The files in the data directory now, with their hashes and the rows each loaded."""
    present = pl.DataFrame(
        present_files(run.context, run.sources),
        schema={"dataset": pl.String, "source_file": pl.String, "content_hash": pl.String},
        orient="row",
    )
    con.register("present", present.to_arrow())
    try:
        return con.execute(
            """
            select p.dataset, p.source_file, p.content_hash,
                   coalesce(l.rows_loaded, 0) as rows_loaded,
                   coalesce(l.rows_rejected, 0) as rows_rejected,
                   coalesce(l.rows_unchanged, 0) as rows_unchanged,
                   coalesce(l.rows_folded, 0) as rows_folded,
                   coalesce(l._load_id = ?, false) as loaded_this_run
            from present as p
            left join raw.loaded_files as l using (dataset, content_hash)
            order by p.dataset, p.source_file
            """,
            [run_id],
        ).pl()
    finally:
        con.unregister("present")


@asset(key=["marts", "runs"], group_name="publish", deps=[*dbt_results_layer.keys, *dbt_metrics_layer.keys])
def runs(context: AssetExecutionContext, run: RunResource) -> MaterializeResult:
    """One row per successful run: as_of, timing, the register's hash and every input file
    with its hash and row counts. Written last, then the warehouse is published."""
    run_context = run.context
    with run.warehouse.connect() as con:
        create_runs_table(con)
        files = input_files(con, run, context.run_id)
        this_run = files.filter(files["loaded_this_run"])
        fingerprint = inputs_fingerprint(
            run_context, run.sources, files.select("dataset", "source_file", "content_hash").rows(), raw_state(con)
        )
        columns = RUNS.column_names
        con.execute(
            f"insert or replace into marts.runs ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [
                context.run_id,
                run_context.as_of,
                run_context.started_at,
                datetime.now(UTC),
                str(run_context.config_path),
                run_context.register_sha256,
                str(run_context.data_dir),
                json.dumps(files.to_dicts(), default=str),
                int(this_run["rows_loaded"].sum()),
                int(this_run["rows_rejected"].sum()),
                fingerprint,
                int(this_run["rows_unchanged"].sum()),
                int(this_run["rows_folded"].sum()),
            ],
        )
        report = morning_report(con)
    parquet = run.warehouse.export_parquet(context.run_id)
    pending_report = run.warehouse.report_file.with_name(f".{run.warehouse.report_file.name}.{context.run_id}")
    pending_report.write_text(report.html, encoding="utf-8")
    run.warehouse.publish(context.run_id)
    run.warehouse.publish_parquet(parquet)
    os.replace(pending_report, run.warehouse.report_file)  # the report of the warehouse now published
    context.log.info(
        f"published {run.warehouse.path}; morning report {run.warehouse.report_file}; "
        f"marts as Parquet in {run.warehouse.parquet_dir}"
    )
    return MaterializeResult(
        metadata={
            "warehouse": MetadataValue.path(str(run.warehouse.path)),
            "report": MetadataValue.url(run.warehouse.report_file.as_uri()),
            "report_charts": report.charts,
            "parquet": MetadataValue.path(str(run.warehouse.parquet_dir)),
            "as_of": str(run_context.as_of),
        }
    )


def morning_report(con):
    """The morning report from the build's marts, before it is published (roi_ledger.report.html)."""
    from pipelines.commands.explain import explain_claim
    from roi_ledger.report.html import MARTS, build_report

    tables = {name: con.sql(f"select * from marts.{name}").pl() for name in MARTS}
    business = con.execute("select name from raw.register_business").fetchone()[0]
    explanations = {i: explain_claim(con, i) for i in tables["initiative_roi"]["initiative_id"]}
    return build_report(tables, business, explanations)


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING)
def release_lock_of_failed_run(context: RunFailureSensorContext) -> None:
    """A failed run never publishes, so it does not release the warehouse's run lock itself:
    remove what it wrote unpublished and release the lock here, so the next run need not wait for
    the lock to go stale, and send the failure notice (``pipelines.runtime.notify``), its reasons
    said for people (``pipelines.runtime.failure``). Needs the Dagster daemon, which ``dagster dev`` starts; ``roi
    run`` releases the lock and sends the notice itself. The warehouse is the failed run's own,
    from its run config, else the code location's ``ROI_WAREHOUSE``."""
    failed = context.dagster_run
    config = failed.run_config.get("resources", {}).get(RESOURCE_KEY, {}).get("config", {})
    path = config.get("warehouse_path") or code_location_warehouse()
    store = Warehouse(Path(path).expanduser().resolve()) if path else None
    if store is not None:
        holder = store.run_lock.holder()
        if holder is not None and holder.run_id == failed.run_id:  # what it wrote, while its lock keeps others off
            store.remove_unpublished()
        if store.run_lock.release(failed.run_id):
            context.log.info(f"released the run lock of failed run {failed.run_id}")
    # and someone hears of it (pipelines/runtime/notify.py: e-mail and/or webhook from the environment)
    events = [entry.dagster_event for entry in context.instance.all_logs(failed.run_id) if entry.dagster_event]
    reason = "; ".join(failure.line for failure in step_failures(events)) or (
        context.failure_event.message if context.failure_event else "the run stopped"
    )
    published = store.published_run() if store is not None else ""
    notify_failure(Failure(reason, str(path or "(the code location's warehouse)"), failed.run_id, published))


def code_location_warehouse() -> Path | None:
    """``ROI_WAREHOUSE``; None when unset or when the settings cannot be read (the notice still goes)."""
    try:
        return read_settings().warehouse
    except SettingsError:
        return None


defs = Definitions(assets=[runs], sensors=[release_lock_of_failed_run])
