"""Transform: dbt builds the warehouse in two layers with the Python estimators between them.

Layer ``metrics``: staging, intermediate and the metric series. Layer ``results``: the marts
built on the effect estimates. Each dbt model is a Dagster asset keyed ``[schema, name]``,
so the lineage reads like the warehouse.
"""


import json
import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.project import BUILD_WAREHOUSE_VAR, DBT_EXECUTABLE, dbt_project
from pipelines.resources import RoiSettings
from roi_ledger.catalogue import catalogue_entries

# Everything upstream of the metric series is the first layer.
METRICS_LAYER = "+metric_series +metric_catalogue"


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "transform"


TRANSLATOR = WarehouseTranslator()


def dbt_vars(settings: RoiSettings) -> dict[str, Any]:
    register = settings.register()
    return {
        "as_of": settings.as_of().isoformat(),
        "timezone": register.business.timezone,
        "metric_catalogue": catalogue_entries(register.catalogue, source=str(settings.config)),
    }


def run_dbt(context: AssetExecutionContext, dbt: DbtCliResource, settings: RoiSettings):
    os.environ[BUILD_WAREHOUSE_VAR] = str(settings.build_warehouse)
    args = ["build", "--vars", json.dumps(dbt_vars(settings))]
    # dbt's run artifacts go beside the build file, so two warehouses can build at once.
    yield from dbt.cli(args, context=context, target_path=settings.dbt_target).stream()


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    select=METRICS_LAYER,
    name="dbt_metrics_layer",
    dagster_dbt_translator=TRANSLATOR,
)
def dbt_metrics_layer(context: AssetExecutionContext, dbt: DbtCliResource, settings: RoiSettings):
    yield from run_dbt(context, dbt, settings)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    exclude=METRICS_LAYER,
    name="dbt_results_layer",
    dagster_dbt_translator=TRANSLATOR,
)
def dbt_results_layer(context: AssetExecutionContext, dbt: DbtCliResource, settings: RoiSettings):
    yield from run_dbt(context, dbt, settings)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project(),
        profiles_dir=str(dbt_project().profiles_dir),
        dbt_executable=DBT_EXECUTABLE,
    )
