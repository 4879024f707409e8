"""Transform: dbt builds the warehouse in two layers with the Python steps between them.

Layer ``metrics``: staging, intermediate and the metric series, with what the Python steps read
besides (the capped series, the hourly costs). Layer ``results``: the marts built on what the
Python steps wrote. Each dbt model is a Dagster asset keyed ``[schema, name]`` and each source
``[source, table]``, so the lineage reads like the warehouse.
"""

import json
import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Definitions
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.runtime.dbt_child import PARENT_VAR
from pipelines.runtime.incremental import rebuild_history
from pipelines.runtime.project import DBT_CHILD_EXECUTABLE, dbt_env, dbt_project
from pipelines.runtime.resources import RunResource
from roi_ledger.run_context import RunContext

# Everything the Python steps read is the first layer.
METRICS_LAYER = "+metric_series +metric_catalogue +int_metric_values_capped +int_unit_hourly_cost"


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "transform"


TRANSLATOR = WarehouseTranslator()


def dbt_vars(run_context: RunContext) -> dict[str, Any]:
    """What the dbt models need to know of the business (dbt_project.yml documents each). The run
    date is not among them: the models read it from ``raw.run_context``, which the first step
    writes, so the vars stay the same from night to night and dbt keeps its partial parse."""
    return {
        "timezone": run_context.timezone,
        "metric_catalogue": list(run_context.catalogue_entries),
    }


def run_dbt(context: AssetExecutionContext, dbt: DbtCliResource, run: RunResource, *, full_refresh: bool = False):
    os.environ.update(dbt_env(run.warehouse.build_file))  # the build file, DuckDB's memory limit
    os.environ[PARENT_VAR] = str(os.getpid())  # dbt dies with this process (pipelines/runtime/dbt_child.py)
    args = ["build", "--vars", json.dumps(dbt_vars(run.context))] + (["--full-refresh"] if full_refresh else [])
    # dbt's run artifacts go beside the build file, so two warehouses can build at once.
    yield from dbt.cli(args, context=context, target_path=run.warehouse.dbt_target).stream()


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    select=METRICS_LAYER,
    name="dbt_metrics_layer",
    dagster_dbt_translator=TRANSLATOR,
)
def dbt_metrics_layer(context: AssetExecutionContext, dbt: DbtCliResource, run: RunResource):
    # The staging tables are kept incrementally unless the run found it cannot (pipelines.runtime.incremental).
    with run.warehouse.connect() as con:
        full_refresh = rebuild_history(con)
    context.log.info(
        "staging: " + ("rebuilt in full" if full_refresh else "only the records this night can have changed")
    )
    yield from run_dbt(context, dbt, run, full_refresh=full_refresh)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    exclude=METRICS_LAYER,
    name="dbt_results_layer",
    dagster_dbt_translator=TRANSLATOR,
)
def dbt_results_layer(context: AssetExecutionContext, dbt: DbtCliResource, run: RunResource):
    yield from run_dbt(context, dbt, run)


defs = Definitions(
    assets=[dbt_metrics_layer, dbt_results_layer],
    resources={
        "dbt": DbtCliResource(
            project_dir=dbt_project(),
            profiles_dir=str(dbt_project().profiles_dir),
            dbt_executable=DBT_CHILD_EXECUTABLE,
        )
    },
)
