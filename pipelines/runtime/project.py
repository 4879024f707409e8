"""The one place that knows where the dbt project is, and prepares its manifest at set-up.

Dagster reads the dbt models from ``target/manifest.json``. It is built once at set-up
(``./dev setup`` runs ``python -m pipelines.runtime.project``, which runs ``dbt parse`` when a model,
macro or the project file changed since), not when the code location is imported; under
``dagster dev`` it is rebuilt on change, as dagster-dbt's ``prepare_if_dev`` does.

Before parsing, it generates what the marts' yml already says (roi_ledger/tables.py): the dbt
sources of the tables the Python steps write, and one model per table dbt republishes as it is
(``{{ publish_python_table() }}``), in ``models/marts/published_from_python/`` (not in git).
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import yaml
from dagster_dbt import DbtProject

from pipelines.runtime.settings import BUILD_WAREHOUSE_VAR, MEMORY_LIMIT_VAR, read_settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# What the pipeline runs: dbt through a launcher that dies with the run (pipelines/runtime/dbt_child.py).
DBT_CHILD_EXECUTABLE = str(Path(sys.executable).with_name("roi-dbt"))
PARSE_WAREHOUSE = Path("/tmp/roi_ledger_parse.duckdb")  # what dbt parse is told (it connects to nothing)
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
GENERATED_DIR = DBT_PROJECT_DIR / "models" / "marts" / "published_from_python"
GENERATED_SOURCES = "_python__sources.yml"
SOURCES_DESCRIPTION = (
    "Written by ROI Ledger's Python steps between the two dbt layers, each table under the name of the mart that "
    "publishes it: the effect estimates (roi_ledger.effects), the claim checks and grades (roi_ledger.claims), the "
    "money (roi_ledger.money), the strategy views (roi_ledger.strategy) and the oversight tables "
    "(roi_ledger.oversight). The Dagster assets that write them are keyed python/<table>."
)


def dbt_env(build_file: Path) -> dict[str, str]:
    """The environment dbt's duckdb profile reads: the file to build into and DuckDB's memory
    limit (``ROI_DUCKDB_MEMORY_LIMIT``, else its default: ``pipelines.runtime.settings``)."""
    limit = read_settings().duckdb_memory_limit
    return {**os.environ, BUILD_WAREHOUSE_VAR: str(build_file), MEMORY_LIMIT_VAR: limit}


class DbtProjectNotPrepared(RuntimeError):
    """The dbt manifest is missing or older than the models."""


def manifest_is_stale(manifest: Path = MANIFEST) -> bool:
    """True on a fresh clone, or when a model, macro or the project file changed since."""
    if not manifest.exists() or not GENERATED_DIR.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [
        DBT_PROJECT_DIR / "dbt_project.yml",
        *DBT_PROJECT_DIR.glob("models/**/*"),
        *DBT_PROJECT_DIR.glob("macros/**/*"),
    ]
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


def _header(declared_in: str) -> str:
    return f"generated from dbt_project/models/marts/{declared_in} by pipelines/runtime/project.py: do not edit"


def generated_files() -> dict[str, str]:
    """What ``GENERATED_DIR`` holds, by file name: the sources yml and one model per republished table."""
    from roi_ledger.tables import published_tables

    written = [t for t in published_tables().values() if t.published_from_python]
    sources = {
        "version": 2,
        "sources": [
            {
                "name": "python",
                "schema": "python",
                "description": SOURCES_DESCRIPTION,
                "tables": [
                    {"name": t.name, "description": f"See marts.{t.name} ({t.declared_in.name})."} for t in written
                ],
            }
        ],
    }
    files = {GENERATED_SOURCES: f"# {_header('*.yml')}\n" + yaml.safe_dump(sources, sort_keys=False, width=120)}
    for t in written:
        if t.republished_as_is:
            files[f"{t.name}.sql"] = f"-- {_header(t.declared_in.name)}\n{{{{ publish_python_table() }}}}\n"
    return files


def write_generated_files(folder: Path = GENERATED_DIR) -> bool:
    """Bring ``folder`` to ``generated_files()``, touching only what differs (so an unchanged
    yml leaves the manifest fresh). True when anything changed."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = generated_files()
    changed = False
    for path in folder.iterdir():
        if path.name not in wanted:
            path.unlink()
            changed = True
    for name, text in wanted.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed = True
    return changed


def prepare() -> None:
    """Generate the republishing models and build the manifest if it is stale (``dbt parse``:
    seconds; connects to nothing)."""
    write_generated_files()
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
            "(or .venv/bin/python -m pipelines.runtime.project) to prepare the dbt project"
        )
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


if __name__ == "__main__":
    prepare()
