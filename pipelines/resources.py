"""The one resource every step shares: this run's context and its warehouse.

Whoever launches the nightly job gives it run config (``run_config``): the data directory,
the register, the warehouse and the as-of date. ``roi run`` passes its flags; the schedule
passes the date of its tick; a launch from the Dagster UI that leaves them out gets the
code location's ``ROI_DATA_DIR``, ``ROI_CONFIG`` and ``ROI_WAREHOUSE`` and, for an empty as-of
date, the last complete day before the run started. The resource then resolves the run's
context once (``roi_ledger.run_context``): no step reads the clock, the environment or the
register file again.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr

from pipelines.warehouse import Warehouse
from roi_ledger.run_context import RunContext, resolve_run_context

RESOURCE_KEY = "run"
# Personal identifiers are hashed with this secret before they land. A secret, so it is read
# from the environment and never passed as run config (which Dagster stores and shows).
SALT_VAR = "ROI_PSEUDONYM_SALT"


class RunResource(ConfigurableResource):
    """Where a run reads and writes, and as of which day."""

    data_dir: str
    config_path: str
    warehouse_path: str
    as_of: str = ""  # YYYY-MM-DD; empty: the last complete day before the run started

    _context: RunContext | None = PrivateAttr(default=None)
    _salt: str | None = PrivateAttr(default=None)
    _sources: dict | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._context = resolve_run_context(
            Path(self.config_path),
            Path(self.data_dir),
            as_of=date.fromisoformat(self.as_of) if self.as_of else None,
            started_at=run_started_at(context),
        )
        self._salt = os.environ.get(SALT_VAR) or None  # an empty salt is no salt

    @property
    def context(self) -> RunContext:
        if self._context is None:
            raise RuntimeError("the run resource is resolved when a run starts (setup_for_execution)")
        return self._context

    @property
    def sources(self) -> dict:
        """Where each dataset comes from: the data folder's sources.yml (connectors.sources)."""
        if self._sources is None:
            from connectors.sources import load_sources

            self._sources = load_sources(self.context.data_dir)
        return self._sources

    @property
    def salt(self) -> str | None:
        return self._salt

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(Path(self.warehouse_path).expanduser().resolve())


def run_started_at(context: InitResourceContext) -> datetime:
    """When Dagster started this run (the same for every step, whichever process runs it)."""
    record = context.instance.get_run_record_by_id(context.run_id) if context.instance and context.run_id else None
    if record is not None and record.start_time:
        return datetime.fromtimestamp(record.start_time, UTC)
    return datetime.now(UTC)


def run_config(*, data_dir: Path, config_path: Path, warehouse: Path, as_of: date | None) -> dict[str, Any]:
    """The nightly job's run config for one business (absolute paths)."""
    config = {
        "data_dir": str(data_dir.expanduser().resolve()),
        "config_path": str(config_path.expanduser().resolve()),
        "warehouse_path": str(warehouse.expanduser().resolve()),
        "as_of": as_of.isoformat() if as_of else "",
    }
    return {"resources": {RESOURCE_KEY: {"config": config}}}


def resource_from_environment() -> RunResource:
    """The resource a launch without run config gets: the code location's environment."""
    return RunResource(
        data_dir=EnvVar("ROI_DATA_DIR"),
        config_path=EnvVar("ROI_CONFIG"),
        warehouse_path=EnvVar("ROI_WAREHOUSE"),
    )
