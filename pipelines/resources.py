"""Where a run reads and writes: the one resource every asset shares.

The warehouse an analyst queries (``ROI_WAREHOUSE``) is never opened for writing. A run
builds into a private copy beside it and publishes it with an atomic rename when everything
succeeded, so readers never block the nightly run, and a failed run leaves the last good
results in place. One run at a time builds a warehouse (``pipelines.run_lock``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar

from pipelines.run_lock import Holder, RunLock
from roi_ledger.register import Register, load_register


class RoiSettings(ConfigurableResource):
    data_dir: str
    config_path: str
    warehouse_path: str

    @property
    def data(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def config(self) -> Path:
        return Path(self.config_path).expanduser().resolve()

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_path).expanduser().resolve()

    @property
    def build_warehouse(self) -> Path:
        """The private file a run writes to before publishing."""
        return self.warehouse.with_name(f".{self.warehouse.name}.build")

    @property
    def run_lock(self) -> RunLock:
        """Held by the run building this warehouse, from ``start_build`` to ``publish``."""
        return RunLock(self.warehouse.with_name(f".{self.warehouse.name}.lock"))

    @property
    def dbt_target(self) -> Path:
        """Where dbt writes its run artifacts (compiled SQL, run results) for this warehouse."""
        return self.warehouse.with_name(f".{self.warehouse.name}.dbt")

    def as_of(self) -> date:
        """The day data is cut off after (``ROI_AS_OF``, else today)."""
        value = os.environ.get("ROI_AS_OF")
        return date.fromisoformat(value) if value else date.today()

    def register(self) -> Register:
        return load_register(self.config)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the build file (the run's only writer)."""
        con = duckdb.connect(str(self.build_warehouse))
        try:
            yield con
        finally:
            con.close()

    def start_build(self, run_id: str, run_finished: Callable[[str], bool] = lambda _: False) -> Holder | None:
        """Take the run lock, then start the build file from the last published warehouse (or
        empty). Returns the holder of a stale lock taken over, if any."""
        self.build_warehouse.parent.mkdir(parents=True, exist_ok=True)
        taken_over = self.run_lock.acquire(run_id, run_finished)
        self.build_warehouse.unlink(missing_ok=True)
        if self.warehouse.exists():
            shutil.copyfile(self.warehouse, self.build_warehouse)
        return taken_over

    def publish(self, run_id: str) -> None:
        """Replace the published warehouse with the build by an atomic rename (no second copy
        is left on disk; the next run starts its build from the published file), and release
        the lock."""
        with self.connect() as con:
            con.execute("checkpoint")
        os.replace(self.build_warehouse, self.warehouse)
        self.run_lock.release(run_id)


def settings_from_environment() -> RoiSettings:
    return RoiSettings(
        data_dir=EnvVar("ROI_DATA_DIR"),
        config_path=EnvVar("ROI_CONFIG"),
        warehouse_path=EnvVar("ROI_WAREHOUSE"),
    )
