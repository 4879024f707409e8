"""The one place that knows where the dbt project is, and prepares its manifest at set-up.

Dagster reads the dbt models from ``target/manifest.json``. It is built once at set-up
(``./dev setup`` runs ``python -m pipelines.project``, which runs ``dbt parse`` when a model,
macro or the project file changed since), not when the code location is imported; under
``dagster dev`` it is rebuilt on change, as dagster-dbt's ``prepare_if_dev`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.settings import BUILD_WAREHOUSE_VAR, MEMORY_LIMIT_VAR, read_settings

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# What the pipeline runs: dbt through a launcher that dies with the run (pipelines/dbt_child.py).
DBT_CHILD_EXECUTABLE = str(Path(sys.executable).with_name("roi-dbt"))
PARSE_WAREHOUSE = Path("/tmp/roi_ledger_parse.duckdb")  # what dbt parse is told (it connects to nothing)
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_env(build_file: Path) -> dict[str, str]:
    """The environment dbt's duckdb profile reads: the file to build into and DuckDB's memory
    limit (``ROI_DUCKDB_MEMORY_LIMIT``, else its default: ``pipelines.settings``)."""
    limit = read_settings().duckdb_memory_limit
    return {**os.environ, BUILD_WAREHOUSE_VAR: str(build_file), MEMORY_LIMIT_VAR: limit}


class DbtProjectNotPrepared(RuntimeError):
    """The dbt manifest is missing or older than the models."""


def manifest_is_stale(manifest: Path = MANIFEST) -> bool:
    """True on a fresh clone, or when a model, macro or the project file changed since."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [
        DBT_PROJECT_DIR / "dbt_project.yml",
        *DBT_PROJECT_DIR.glob("models/**/*"),
        *DBT_PROJECT_DIR.glob("macros/**/*"),
    ]
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


def prepare() -> None:
    """Build the manifest if it is stale (``dbt parse``: seconds; connects to nothing)."""
    if not manifest_is_stale():
        return
    env = dbt_env(read_settings().build_warehouse or PARSE_WAREHOUSE)
    subprocess.run(
        [
            DBT_EXECUTABLE,
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        check=True,
        env=env,
    )


@cache
def dbt_project() -> DbtProject:
    if os.environ.get("DAGSTER_IS_DEV_CLI"):  # `dagster dev`: models may be edited as it runs
        prepare()
    if manifest_is_stale():
        raise DbtProjectNotPrepared(
            f"{MANIFEST} is missing or older than the dbt models: run ./dev setup "
            "(or .venv/bin/python -m pipelines.project) to prepare the dbt project"
        )
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


if __name__ == "__main__":
    prepare()
