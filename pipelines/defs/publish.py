"""Publish: record the run in ``marts.runs`` and swap the build in as the published warehouse;
release the run lock of a run that failed instead."""


import json
from datetime import datetime, timezone

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DefaultSensorStatus,
    MaterializeResult,
    RunFailureSensorContext,
    asset,
    run_failure_sensor,
)

from connectors.files import discover_files, file_hash
from pipelines.resources import RoiSettings
from roi_ledger.register import register_hash

RUNS_DDL = """
create table if not exists marts.runs (
    run_id varchar primary key,
    as_of date,
    started_at timestamptz,
    ended_at timestamptz,
    register_file varchar,
    register_hash varchar,
    data_dir varchar,
    input_files json,
    rows_loaded bigint,
    rows_rejected bigint
)
"""


def input_files(con, settings: RoiSettings, run_id: str) -> pl.DataFrame:
    """The files in the data directory now, with their hashes and the rows each loaded."""
    present = pl.DataFrame(
        [
            {"dataset": dataset, "source_file": str(path), "content_hash": file_hash(path)}
            for dataset, paths in discover_files(settings.data).items()
            for path in paths
        ],
        schema={"dataset": pl.String, "source_file": pl.String, "content_hash": pl.String},
    )
    con.register("present", present.to_arrow())
    try:
        return con.execute(
            """
            select p.dataset, p.source_file, p.content_hash,
                   coalesce(l.rows_loaded, 0) as rows_loaded,
                   coalesce(l.rows_rejected, 0) as rows_rejected,
                   coalesce(l._load_id = ?, false) as loaded_this_run
            from present as p
            left join raw.loaded_files as l using (dataset, content_hash)
            order by p.dataset, p.source_file
            """,
            [run_id],
        ).pl()
    finally:
        con.unregister("present")


def publish_asset(upstream: list[AssetKey]):
    @asset(key=["marts", "runs"], group_name="publish", deps=upstream)
    def runs(context: AssetExecutionContext, settings: RoiSettings) -> MaterializeResult:
        """One row per successful run: as_of, timing, the register's hash and every input file
        with its hash and row counts. Written last, then the warehouse is published."""
        record = context.instance.get_run_record_by_id(context.run_id)
        started = (record.start_time if record and record.start_time else None)
        started_at = datetime.fromtimestamp(started, timezone.utc) if started else None
        with settings.connect() as con:
            con.execute("create schema if not exists marts")
            con.execute(RUNS_DDL)
            files = input_files(con, settings, context.run_id)
            this_run = files.filter(files["loaded_this_run"])
            con.execute(
                "insert or replace into marts.runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    context.run_id,
                    settings.as_of(),
                    started_at,
                    datetime.now(timezone.utc),
                    str(settings.config),
                    register_hash(settings.config),
                    str(settings.data),
                    json.dumps(files.to_dicts(), default=str),
                    int(this_run["rows_loaded"].sum()),
                    int(this_run["rows_rejected"].sum()),
                ],
            )
        settings.publish(context.run_id)
        context.log.info(f"published {settings.warehouse}")
        return MaterializeResult(metadata={"warehouse": str(settings.warehouse)})

    return runs


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING)
def release_lock_of_failed_run(context: RunFailureSensorContext, settings: RoiSettings) -> None:
    """A failed run never publishes, so it does not release the warehouse's run lock itself:
    release it here, so the next run need not wait for the lock to go stale (needs the Dagster
    daemon, which ``dagster dev`` starts; ``roi run`` releases the lock itself)."""
    if settings.run_lock.release(context.dagster_run.run_id):
        context.log.info(f"released the run lock of failed run {context.dagster_run.run_id}")
