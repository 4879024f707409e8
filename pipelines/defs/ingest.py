"""Ingest: check the inputs, then land the register and every dataset into ``raw``."""


import os
from datetime import datetime, timezone

from dagster import AssetExecutionContext, AssetKey, AssetSpec, DagsterInstance, MaterializeResult, asset, multi_asset

from connectors.files import discover_files, ensure_raw_schema, land_dataset
from pipelines.resources import RoiSettings
from roi_ledger.contract import DATASETS
from roi_ledger.inputs import register_tables, validate_inputs

GROUP = "ingest"
SALT_VAR = "ROI_PSEUDONYM_SALT"
REGISTER_TABLES = (
    "register_business",
    "register_objectives",
    "register_initiatives",
    "register_initiative_units",
    "register_initiative_metrics",
    "register_costs",
)


@multi_asset(
    specs=[
        AssetSpec(["raw", table], group_name=GROUP, description=f"The initiative register: {table.removeprefix('register_').replace('_', ' ')}.")
        for table in REGISTER_TABLES
    ],
)
def initiative_register(context: AssetExecutionContext, settings: RoiSettings):
    """Validate register and data first (nothing is written if they fail), start the build
    file from the last published warehouse, and write the register as tables."""
    inputs = validate_inputs(settings.config, settings.data)
    stale = settings.start_build(context.run_id, run_finished=lambda run_id: run_has_finished(context.instance, run_id))
    if stale is not None:
        context.log.warning(f"took over the lock of {stale.describe()}, which is no longer running")
    with settings.connect() as con:
        ensure_raw_schema(con)
        for name, frame in register_tables(inputs.register).items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create or replace table raw.{name} as select * from frame")
            con.unregister("frame")
            yield MaterializeResult(asset_key=AssetKey(["raw", name]), metadata={"rows": frame.height})
    context.log.info(
        f"register {settings.config}: {len(inputs.register.initiatives)} initiatives, "
        f"{len(inputs.register.objectives)} objectives"
    )


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
        description=f"{dataset.description} Append-only; rows that break the contract go to raw.rejected_rows.",
        metadata={"columns": ", ".join(dataset.column_names)},
    )
    def _land(context: AssetExecutionContext, settings: RoiSettings) -> MaterializeResult:
        files = discover_files(settings.data).get(name, [])
        register = settings.register()
        with settings.connect() as con:
            ensure_raw_schema(con)
            loads = land_dataset(
                con,
                name,
                files,
                load_id=context.run_id,
                loaded_at=datetime.now(timezone.utc),
                timezone=register.business.timezone,
                salt=os.environ.get(SALT_VAR) or None,  # an empty salt is no salt
            )
        for load in loads:
            state = "already loaded, skipped" if load.skipped else f"{load.rows_loaded} loaded, {load.rows_rejected} rejected"
            context.log.info(f"{load.source_file}: {state}")
        return MaterializeResult(
            metadata={
                "files": len(files),
                "files_skipped": sum(load.skipped for load in loads),
                "rows_loaded": sum(load.rows_loaded for load in loads),
                "rows_rejected": sum(load.rows_rejected for load in loads),
            }
        )

    return _land


raw_datasets = [raw_dataset_asset(name) for name in DATASETS]
