"""Shared fixtures: warehouses are built once per session, through the product's own path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines import cli


@pytest.fixture(autouse=True, scope="session")
def _salt(tmp_path_factory) -> None:
    import os

    os.environ.setdefault("ROI_PSEUDONYM_SALT", "test-salt-of-the-suite-0123456789")


RunPipeline = Callable[..., Path]


def run_pipeline(root: Path, *, register: dict, datasets: dict[str, object], as_of: date) -> Path:
    """Write a register and data files under ``root`` and run ``roi run`` on them.

    ``datasets`` maps a dataset name to a polars frame (written as CSV). Returns the published
    warehouse path; fails the test if the run fails.
    """
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in datasets.items():
        frame.write_csv(data / f"{name}.csv")
    config = root / "initiatives.yml"
    config.write_text(yaml.safe_dump(register, sort_keys=False))
    warehouse = root / "warehouse.duckdb"
    code = cli.run(data, config, warehouse, as_of)
    assert code == cli.EXIT_OK, f"roi run exited with {code}"
    return warehouse


def query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).pl()
