"""The nightly job and its schedule.

The schedule fixes the run's as-of date at its tick, in the business's timezone: the last
complete day before the tick (a 02:00 run measures up to yesterday). It passes that date and
the code location's ``ROI_DATA_DIR``, ``ROI_CONFIG`` and ``ROI_WAREHOUSE`` as run config, so the
run never reads the clock or the environment again. ``ROI_AS_OF`` is a flag default of
``roi run`` only: left set in the daemon's environment it would freeze every night on one day.

A consultant's code location sets ``ROI_BUSINESSES`` to a businesses file
(``pipelines/runtime/businesses.py``) instead: the job ``nightly_by_business`` then has one partition per
business, whose run config points at that business's data, register and warehouse, and the
schedule ``nightly_by_business_at_2am`` asks for one run per business each night, as of the day
before in that business's timezone. Each business is its own run, so one that fails stops no
other, and the run coordinator runs several at once (docs/performance.md#many-businesses).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dagster import (
    AssetSelection,
    Definitions,
    PartitionedConfig,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    StaticPartitionsDefinition,
    define_asset_job,
    in_process_executor,
    schedule,
)

from pipelines.runtime.businesses import Business, load_businesses
from pipelines.runtime.resources import run_config
from pipelines.runtime.settings import read_settings, variable
from roi_ledger.register import RegisterError, load_register
from roi_ledger.run_context import last_complete_day

CRON = "0 2 * * *"
FALLBACK_TIMEZONE = "UTC"
# The code location's settings a scheduled run's paths come from (pipelines.runtime.settings).
PATH_SETTINGS = ("data_dir", "config", "warehouse")

# One process: DuckDB has one writer, and on two cores in-process is the faster executor.
nightly_job = define_asset_job(
    "nightly",
    selection=AssetSelection.all() | AssetSelection.all_asset_checks(),
    executor_def=in_process_executor,
    description="Land the inputs, build metrics, estimate effects, build the marts, publish.",
)


def business_timezone() -> str:
    """The register's timezone (``ROI_CONFIG``), which the schedule ticks in; UTC when the
    code location has no readable register (the schedule then skips its ticks)."""
    config = read_settings().config
    return register_timezone(config) if config else FALLBACK_TIMEZONE


def register_timezone(config: Path) -> str:
    try:
        return load_register(config).business.timezone
    except RegisterError:
        return FALLBACK_TIMEZONE


def nightly_schedule(timezone: str):
    @schedule(
        name="nightly_at_2am",
        job=nightly_job,
        cron_schedule=CRON,
        execution_timezone=timezone,
        description=f"Runs the nightly job at 02:00 {timezone}, as of the day before.",
    )
    def nightly_at_2am(context: ScheduleEvaluationContext):
        settings = read_settings()
        missing = [variable(name) for name in PATH_SETTINGS if getattr(settings, name) is None]
        if missing:
            return SkipReason(f"set {', '.join(missing)} in the code location's environment")
        as_of = last_complete_day(context.scheduled_execution_time, timezone)
        return RunRequest(
            run_config=run_config(
                data_dir=settings.data_dir, config_path=settings.config, warehouse=settings.warehouse, as_of=as_of
            ),
            tags={"roi/as_of": as_of.isoformat()},
        )

    return nightly_at_2am


def business_run_config(business: Business, as_of: date | None = None) -> dict:
    return run_config(
        data_dir=business.data_dir, config_path=business.config_path, warehouse=business.warehouse, as_of=as_of
    )


def by_business_job(businesses: list[Business]):
    """The nightly job with one partition per business (its key the business's name)."""
    by_name = {b.name: b for b in businesses}
    partitions = StaticPartitionsDefinition([b.name for b in businesses])
    return define_asset_job(
        "nightly_by_business",
        selection=AssetSelection.all() | AssetSelection.all_asset_checks(),
        executor_def=in_process_executor,
        config=PartitionedConfig(
            partitions_def=partitions,
            run_config_for_partition_key_fn=lambda key: business_run_config(by_name[key]),
        ),
        description="The nightly job for one business of ROI_BUSINESSES (a partition per business).",
    )


def by_business_schedule(job, businesses: list[Business]):
    @schedule(
        name="nightly_by_business_at_2am",
        job=job,
        cron_schedule=CRON,
        execution_timezone=FALLBACK_TIMEZONE,
        description="Each night at 02:00 UTC, one run per business of ROI_BUSINESSES, as of its day before.",
    )
    def nightly_by_business_at_2am(context: ScheduleEvaluationContext):
        for business in businesses:
            as_of = last_complete_day(context.scheduled_execution_time, register_timezone(business.config_path))
            yield RunRequest(
                run_key=f"{business.name}:{as_of.isoformat()}",
                partition_key=business.name,
                run_config=business_run_config(business, as_of),
                tags={"roi/as_of": as_of.isoformat(), "roi/business": business.name},
            )

    return nightly_by_business_at_2am


def definitions() -> Definitions:
    jobs, schedules = [nightly_job], [nightly_schedule(business_timezone())]
    businesses_file = read_settings().businesses
    if businesses_file is not None:
        businesses = load_businesses(businesses_file)
        job = by_business_job(businesses)
        jobs.append(job)
        schedules.append(by_business_schedule(job, businesses))
    return Definitions(jobs=jobs, schedules=schedules)


defs = definitions()
