"""The same dbt models on Apache Spark: a consultant who outgrows one machine moves the warehouse
to Spark (dbt-spark) without rewriting a model.

The demo's nightly run (``demo_run``) built its warehouse on DuckDB. Here its landed data
(``raw``) and what the Python steps wrote (``python``'s effect, money and claim tables)
are copied into Spark, running in this process in local mode, and dbt builds the metrics layer
(staging, intermediate, the metric series and catalogue) and the money marts on Spark with the
vars the nightly run passed. Every row of every one of those models must match DuckDB's:
text, dates and counts exactly, numbers to a relative 1e-9 (the two engines sum floats in
different orders).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.defs.transform import METRICS_LAYER
from pipelines.runtime.project import DBT_PROJECT_DIR, MANIFEST, dbt_env
from pipelines.runtime.settings import BUILD_WAREHOUSE_VAR
from pipelines.runtime.warehouse import Warehouse

pytestmark = pytest.mark.e2e

MONEY_MARTS = [
    "initiative_metric_money",
    "initiative_roi",
    "initiative_roi_periods",
    "portfolio_roi",
    "initiative_roi_history",
]
METRIC_MODELS = [
    "metric_series",
    "metric_catalogue",
    "int_metric_values",
    "int_metric_values_capped",
    "int_unit_hourly_cost",
    "int_kpi_series",
]
RELATIVE_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """A local Spark session with its catalogue in a temporary folder; dbt-spark's ``session``
    method (profiles.yml, target ``spark``) picks it up."""
    from pyspark.sql import SparkSession

    root = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("roi-ledger-tests")
        .config("spark.sql.warehouse.dir", str(root / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={root / 'derby'}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .enableHiveSupport()
        .getOrCreate()
    )
    yield session
    session.stop()


def dbt_sources() -> dict[str, list[str]]:
    """The tables dbt reads and does not build, by schema (``raw``, ``python``); not
    ``marts.runs``, declared as a source that no model reads (the publish step writes it)."""
    manifest = json.loads(MANIFEST.read_text())
    sources: dict[str, list[str]] = {}
    for source_id, source in manifest["sources"].items():
        if manifest["child_map"].get(source_id):
            sources.setdefault(source["schema"], []).append(source["name"])
    return sources


def copy_tables(warehouse: Path, schema: str, tables: list[str], spark, folder: Path) -> None:
    """Tables of ``schema`` from the DuckDB file into a Spark database of the same name (through
    Parquet, which both read natively)."""
    spark.sql(f"create database if not exists {schema}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in tables:
            path = folder / f"{schema}.{table}.parquet"
            con.execute(f"copy (select * from {schema}.{table}) to '{path}' (format parquet)")
            spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable(f"{schema}.{table}")


@pytest.fixture(scope="module")
def on_spark(demo_run, spark, tmp_path_factory):
    """The demo's metrics layer and money marts built by dbt on Spark."""
    from dbt.cli.main import dbtRunner

    _, warehouse, _ = demo_run
    folder = tmp_path_factory.mktemp("spark_data")
    for schema, tables in dbt_sources().items():
        copy_tables(warehouse, schema, tables, spark, folder)
    nightly = json.loads((Warehouse(warehouse).dbt_target / "run_results.json").read_text())["args"]["vars"]
    with pytest.MonkeyPatch.context() as env:  # the profile's duckdb target, for this invocation only
        for name, value in dbt_env(Path(os.environ.get(BUILD_WAREHOUSE_VAR, folder / "unused.duckdb"))).items():
            env.setenv(name, value)
        result = dbtRunner().invoke(
            [
                "run",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target",
                "spark",
                "--target-path",
                str(folder / "dbt"),
                "--log-path",
                str(folder / "dbt"),
                "--vars",
                json.dumps(nightly),
                "--select",
                METRICS_LAYER,
                *MONEY_MARTS,
            ]
        )
    failed = [r.node.name for r in (result.result or []) if r.status not in ("success", "pass")]
    assert result.success, f"dbt on Spark failed: {failed or result.exception}"
    return warehouse, spark


def schema_of(model: str) -> str:
    return "intermediate" if model.startswith("int_") else "marts"


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """Both engines' rows in one shape: numbers as float, text, dates and flags as they are,
    sorted by every column that is not a float, then by the floats (a float can be part of a
    row's identity: the capped series' cap share)."""
    frame = frame.with_columns(
        pl.col(pl.Decimal, pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt32, pl.UInt64).cast(pl.Float64)
    )
    frame = frame.with_columns(pl.col(pl.Datetime).dt.replace_time_zone(None).dt.cast_time_unit("us"))
    keys = [c for c, t in frame.schema.items() if t != pl.Float64]
    floats = [c for c, t in frame.schema.items() if t == pl.Float64]
    return frame.select(sorted(frame.columns)).sort(keys + floats, nulls_last=True)


@pytest.mark.parametrize("model", METRIC_MODELS + MONEY_MARTS)
def test_spark_builds_the_same_rows_as_duckdb(on_spark, model):
    warehouse, spark = on_spark
    with duckdb.connect(str(warehouse), read_only=True) as con:
        expected = con.sql(f"select * from {schema_of(model)}.{model}").pl()
    actual = pl.from_arrow(spark.sql(f"select * from {schema_of(model)}.{model}").toArrow())
    assert expected.height > 0
    assert set(actual.columns) == set(expected.columns)
    assert_frame_equal(
        comparable(actual), comparable(expected), check_dtypes=False, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12
    )
