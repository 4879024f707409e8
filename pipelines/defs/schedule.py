"""The nightly job and its schedule.

The schedule fixes the run's as-of date at its tick, in the business's timezone: the last
complete day before the tick (a 02:00 run measures up to yesterday). It passes that date and
the code location's ``ROI_DATA_DIR``, ``ROI_CONFIG`` and ``ROI_WAREHOUSE`` as run config, so the
run never reads the clock or the environment again. ``ROI_AS_OF`` is a flag default of
``roi run`` only: left set in the daemon's environment it would freeze every night on one day.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import (
    AssetSelection,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
)

from pipelines.resources import run_config
from roi_ledger.register import RegisterError, load_register
from roi_ledger.run_context import last_complete_day

CRON = "0 2 * * *"
FALLBACK_TIMEZONE = "UTC"
PATH_VARIABLES = {"data_dir": "ROI_DATA_DIR", "config_path": "ROI_CONFIG", "warehouse": "ROI_WAREHOUSE"}

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
    config = os.environ.get("ROI_CONFIG")
    if not config:
        return FALLBACK_TIMEZONE
    try:
        return load_register(Path(config)).business.timezone
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
        missing = [variable for variable in PATH_VARIABLES.values() if not os.environ.get(variable)]
        if missing:
            return SkipReason(f"set {', '.join(missing)} in the code location's environment")
        as_of = last_complete_day(context.scheduled_execution_time, timezone)
        paths = {name: Path(os.environ[variable]) for name, variable in PATH_VARIABLES.items()}
        return RunRequest(
            run_config=run_config(
                data_dir=paths["data_dir"], config_path=paths["config_path"], warehouse=paths["warehouse"], as_of=as_of
            ),
            tags={"roi/as_of": as_of.isoformat()},
        )

    return nightly_at_2am


defs = Definitions(jobs=[nightly_job], schedules=[nightly_schedule(business_timezone())])
