"""Ingest: check the inputs, then land the register and every dataset into ``raw``."""

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    asset,
    multi_asset,
    multi_asset_check,
)

from connectors.files import collect_names, land_files
from connectors.landing import counts_in_words, ensure_raw_schema, transaction
from connectors.pull import land_pulled
from connectors.sources import FilesSource, ignored_files, source_files
from pipelines.runtime.incremental import write_run_context
from pipelines.runtime.resources import RunResource
from pipelines.runtime.warehouse import drop_renamed_tables
from roi_ledger.contract import DATASETS, DataInventory
from roi_ledger.inputs import check_inputs, register_tables
from roi_ledger.oversight.business_case import snapshot_rows
from roi_ledger.privacy import check_salt_strength, check_same_salt, salt_fingerprint

GROUP = "ingest"
REGISTER_TABLES = {
    "register_business": "The business: currency, timezone, discount rate, confidence level, values.",
    "register_objectives": "The business objectives initiatives serve.",
    "register_initiatives": "One row per initiative: status, go-live, owner, expected benefit, feasibility.",
    "register_initiative_units": "The treated units (by phase) and declared comparison units of each initiative.",
    "register_initiative_metrics": "The metrics each initiative is measured on: its goals with the expected change, "
    "and its guardrails (role) with the margin they may worsen by.",
    "register_costs": "Every cost in the register, one-off or monthly.",
    "register_claim_thresholds": "Every claim-check threshold as it applies to the business and to each initiative.",
}
HISTORY_DESCRIPTION = (
    "Append-only: each initiative's business case (expected benefit and changes, metrics, rollout, comparison "
    "units) as each run found it, whenever it differs from the last one recorded (roi_ledger.oversight.business_case)."
)

RUN_CONTEXT_DESCRIPTION = (
    "One row: the run's last day of data (as_of) and run id, which the dbt models read, and whether the staging "
    "tables are kept incrementally from the as_of they were built for (pipelines.runtime.incremental)."
)


@multi_asset(
    specs=[
        *(
            AssetSpec(["raw", table], group_name=GROUP, description=description)
            for table, description in REGISTER_TABLES.items()
        ),
        AssetSpec(["raw", "register_history"], group_name=GROUP, description=HISTORY_DESCRIPTION),
        AssetSpec(["raw", "run_context"], group_name=GROUP, description=RUN_CONTEXT_DESCRIPTION),
    ],
)
def initiative_register(context: AssetExecutionContext, run: RunResource):
    """Start the build file from the last published warehouse and write the register as
    tables. Whether the register's units and metrics are in the data is checked once the data
    has landed in the build file (``register_matches_data``), before anything is built on it."""
    stale = run.warehouse.start_build(
        context.run_id, run_finished=lambda run_id: run_has_finished(context.instance, run_id)
    )
    if stale is not None:
        context.log.warning(f"took over the lock of {stale.describe()}, which is no longer running")
    for path, why in ignored_files(run.context.data_dir, run.sources):
        context.log.warning(f"{path}: not read ({why})")
    register = run.context.register
    with run.warehouse.connect() as con:
        ensure_raw_schema(con)
        drop_renamed_tables(con)
        if run.salt is not None:
            remember_salt(con, run.salt, str(run.warehouse.path))
        for name, frame in register_tables(register).items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create or replace table raw.{name} as select * from frame")
            con.unregister("frame")
            yield MaterializeResult(asset_key=AssetKey(["raw", name]), metadata={"rows": frame.height})
        rebuild = write_run_context(con, as_of=run.context.as_of, run_id=context.run_id, timezone=run.context.timezone)
        yield MaterializeResult(
            asset_key=AssetKey(["raw", "run_context"]),
            metadata={
                "as_of": run.context.as_of.isoformat(),
                "staging": "rebuilt in full" if rebuild else "kept incrementally",
            },
        )
        added = record_business_cases(
            con, register, run_id=context.run_id, recorded_at=run.context.started_at, as_of=run.context.as_of
        )
        yield MaterializeResult(asset_key=AssetKey(["raw", "register_history"]), metadata={"cases_recorded": added})
    context.log.info(
        f"register {run.context.config_path}: {len(register.initiatives)} initiatives, "
        f"{len(register.objectives)} objectives; as of {run.context.as_of}"
    )


def record_business_cases(con, register, *, run_id: str, recorded_at: datetime, as_of) -> int:
    """Append to ``raw.register_history`` every initiative whose business case changed since
    the last run recorded it; returns how many. Published with the run, so a failed run
    records nothing."""
    con.execute(
        "create table if not exists raw.register_history (initiative_id varchar, run_id varchar, "
        "recorded_at timestamptz, as_of date, first_go_live date, fingerprint varchar, business_case json)"
    )
    history = con.sql("select initiative_id, recorded_at, fingerprint from raw.register_history").pl()
    rows = snapshot_rows(register, history, run_id=run_id, recorded_at=recorded_at.astimezone(UTC), as_of=as_of)
    if rows.height:
        con.register("frame", rows.to_arrow())
        con.execute("insert into raw.register_history by name select * from frame")
        con.unregister("frame")
    return rows.height


def remember_salt(con, salt: str, warehouse: str) -> None:
    """Refuse a weak salt, or one other than the salt this warehouse's identifiers were hashed
    with; remember a new warehouse's (its fingerprint, never the salt: roi_ledger.privacy)."""
    check_salt_strength(salt)
    con.execute("create table if not exists raw.salt_fingerprint (fingerprint varchar, recorded_at timestamptz)")
    recorded = con.execute("select fingerprint from raw.salt_fingerprint order by recorded_at limit 1").fetchone()
    check_same_salt(salt, recorded[0] if recorded else None, warehouse)
    if recorded is None:
        con.execute("insert into raw.salt_fingerprint values (?, ?)", [salt_fingerprint(salt), datetime.now(UTC)])


def run_has_finished(instance: DagsterInstance, run_id: str) -> bool:
    """Whether Dagster knows ``run_id`` and it is over (a run from another instance is unknown)."""
    run = instance.get_run_by_id(run_id)
    return run is not None and run.is_finished


def raw_dataset_asset(name: str):
    dataset = DATASETS[name]

    @asset(
        key=["raw", name],
        group_name=GROUP,
        deps=[AssetKey(["raw", "register_initiatives"])],
        description=(
            f"{dataset.description} Landed from every source of the dataset (sources.yml); append-only; "
            "rows that break the contract go to raw.rejected_rows."
        ),
        metadata={"columns": ", ".join(dataset.column_names)},
    )
    def _land(context: AssetExecutionContext, run: RunResource) -> MaterializeResult:
        sources = {source_name: s for source_name, s in run.sources.items() if s.dataset == name}
        loaded_at = datetime.now(UTC)
        loads = []
        with run.warehouse.connect() as con:
            ensure_raw_schema(con)
            con.execute(f"set TimeZone = '{run.context.timezone}'")  # naive timestamps are business-local
            # each file and each pull lands whole or not at all (connectors.landing.transaction); a
            # failed run discards the build file, so nothing it landed is published
            for source_name, source in sources.items():
                if isinstance(source, FilesSource):
                    files = source_files(run.context.data_dir, source)
                    loads += land_files(
                        con,
                        source_name,
                        source,
                        name,
                        files,
                        load_id=context.run_id,
                        loaded_at=loaded_at,
                        salt=run.salt,
                    )
                else:
                    with transaction(con):
                        loads.append(
                            land_pulled(
                                con, source_name, source, load_id=context.run_id, loaded_at=loaded_at, salt=run.salt
                            )
                        )
        _log_loads(context, loads)
        return MaterializeResult(metadata=_landing_metadata(list(sources), loads))

    return _land


def _log_loads(context: AssetExecutionContext, loads: list) -> None:
    """One line per file or pull: what it landed, or that it was loaded before."""
    for load in loads:
        state = (
            "already loaded, skipped"
            if load.skipped
            else counts_in_words(load.rows_loaded, load.rows_unchanged, load.rows_folded, load.rows_rejected)
        )
        context.log.info(f"{load.source_file}: {state}")


def _landing_metadata(sources: list[str], loads: list) -> dict:
    """What a dataset's landing reports in the Dagster UI: every line read accounted for, in all
    and per source."""
    counts = ("rows_read", "rows_loaded", "rows_unchanged", "rows_folded", "rows_rejected")
    return {
        "sources": ", ".join(sources) or "none",
        "files": sum(1 for x in loads if x.content_hash is not None),
        "files_skipped": sum(load.skipped for load in loads),
        **{count: sum(getattr(load, count) for load in loads) for count in counts},
        "per_source": {
            source: {count: sum(getattr(x, count) for x in loads if x.source == source) for count in counts}
            for source in sources
        },
    }


@multi_asset_check(
    specs=[
        AssetCheckSpec(
            "register_matches_data",
            asset=AssetKey(["raw", name]),
            blocking=True,
            description="Every unit the register names is in the landed data, "
            "and every metric it measures is one the data can give.",
        )
        for name in DATASETS
    ],
)
def register_matches_data(context: AssetCheckExecutionContext, run: RunResource) -> Iterator[AssetCheckResult]:
    """The register against what ``raw`` holds once this run's files and pulls have landed in
    the build file — files, databases and APIs alike, and without reading any file a second
    time. Raises ``RegisterError`` naming the register's file, initiative and field: the steps
    after it do not run and nothing is published (the build file is discarded)."""
    with run.warehouse.connect() as con:
        found = collect_names(con, DataInventory())
    metrics = check_inputs(run.context, found)
    for name in DATASETS:
        yield AssetCheckResult(
            asset_key=AssetKey(["raw", name]),
            check_name="register_matches_data",
            passed=True,
            metadata={"units": len(found.units), "metrics": len(metrics)},
        )


defs = Definitions(
    assets=[initiative_register, *(raw_dataset_asset(name) for name in DATASETS)], asset_checks=[register_matches_data]
)
