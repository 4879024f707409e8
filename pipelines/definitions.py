"""The Dagster code location: every asset, the nightly job and its schedule.

Read top to bottom: ingest -> transform (dbt, metrics layer) -> effects -> claims -> money
-> strategy -> transform (dbt, results layer) -> publish. See docs/architecture.md.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job, in_process_executor

from pipelines.defs.claims import claim_check_results, claim_health_checks
from pipelines.defs.effects import effect_estimates
from pipelines.defs.ingest import initiative_register, raw_datasets
from pipelines.defs.money import money
from pipelines.defs.quality import raw_quality_checks, staging_quality_checks
from pipelines.defs.strategy import strategy
from pipelines.defs.publish import publish_asset, release_lock_of_failed_run
from pipelines.defs.transform import dbt_metrics_layer, dbt_resource, dbt_results_layer
from pipelines.resources import settings_from_environment

runs = publish_asset(upstream=[*dbt_results_layer.keys, *dbt_metrics_layer.keys])

# One process: DuckDB has one writer, and on two cores in-process is the faster executor.
nightly_job = define_asset_job(
    "nightly",
    selection=AssetSelection.all() | AssetSelection.all_asset_checks(),
    executor_def=in_process_executor,
    description="Land the inputs, build metrics, estimate effects, build the marts, publish.",
)

nightly_schedule = ScheduleDefinition(
    name="nightly_at_2am",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    description="Runs the nightly job at 02:00 (the machine's timezone).",
)

defs = Definitions(
    assets=[
        initiative_register,
        *raw_datasets,
        dbt_metrics_layer,
        effect_estimates,
        claim_check_results,
        money,
        strategy,
        dbt_results_layer,
        runs,
    ],
    asset_checks=[claim_health_checks, raw_quality_checks, staging_quality_checks],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=[release_lock_of_failed_run],
    resources={"settings": settings_from_environment(), "dbt": dbt_resource()},
)
