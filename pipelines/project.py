"""The one place that knows where the dbt project is and makes sure its manifest exists."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# dbt's profile reads the file to build into from this variable (absolute paths only).
BUILD_WAREHOUSE_VAR = "ROI_BUILD_WAREHOUSE"


def _manifest_is_stale(manifest: Path) -> bool:
    """True on a fresh clone, or when a model, macro or the project file changed since."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", *DBT_PROJECT_DIR.glob("models/**/*"), *DBT_PROJECT_DIR.glob("macros/**/*")]
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


@cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if _manifest_is_stale(project.manifest_path):
        # Parsing takes seconds and connects to nothing.
        env = {**os.environ, BUILD_WAREHOUSE_VAR: os.environ.get(BUILD_WAREHOUSE_VAR, "/tmp/roi_ledger_parse.duckdb")}
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
            check=True,
            env=env,
        )
    return project
