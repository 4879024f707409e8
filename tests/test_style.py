"""The linters hold the code's style, so `./dev test` (and CI) fails on a finding.

sqlfluff checks the dbt models against .sqlfluff; ruff checks the Python against pyproject.toml.
A failure shows the linter's own report: run the same command to see it, or its fix to apply it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.runtime.project import dbt_env

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def lint_warehouse(path: Path) -> Path:
    """An empty warehouse the dbt templater compiles against: int_metric_values_capped asks the
    register, while it compiles, which metrics each initiative claims (claimed_cap_shares)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.register_initiative_metrics (initiative_id varchar, metric varchar)")
        con.execute(
            "create table raw.register_claim_thresholds (initiative_id varchar, threshold varchar, value double)"
        )
    return path


def run_linter(*command: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} found:\n{done.stdout}\n{done.stderr}", pytrace=False)


def test_the_dbt_models_follow_the_sql_style(tmp_path):
    env = dbt_env(lint_warehouse(tmp_path / "lint.duckdb"))
    env["DBT_TARGET_PATH"] = str(tmp_path / "target")  # the repository's dbt_project/target stays as it is
    run_linter(str(BIN / "sqlfluff"), "lint", "dbt_project", "--processes", "1", env=env)


def test_the_python_is_formatted_by_ruff():
    run_linter(str(BIN / "ruff"), "format", "--check", ".")


def test_the_python_passes_ruff_check():
    run_linter(str(BIN / "ruff"), "check", ".")
