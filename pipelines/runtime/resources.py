"""The one resource every step shares: this run's context and its warehouse.

Whoever launches the nightly job gives it run config (``run_config``): the data directory,
the register, the warehouse and the as-of date. The schedule passes the date of its tick; a
launch from the Dagster UI that leaves them out gets the code location's ``ROI_DATA_DIR``,
``ROI_CONFIG`` and ``ROI_WAREHOUSE`` (``pipelines.runtime.settings``) and, for an empty as-of date, the
last complete day before the run started. The resource then resolves the run's context once
(``resolve_run``: the register, the catalogue and the sources file parsed, the date fixed). ``roi
run`` resolves it itself before the run, to check the inputs and whether anything changed, and
hands it over (``RunResource.resolved``). Either way no step reads the clock, the environment,
the register or the sources file again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext, ResourceDefinition
from pydantic import PrivateAttr

from pipelines.runtime.settings import read_settings, variable
from pipelines.runtime.warehouse import Warehouse
from roi_ledger.run_context import RunContext, resolve_run_context

RESOURCE_KEY = "run"


def resolve_run(config_path: Path, data_dir: Path, *, as_of: date | None, started_at: datetime) -> RunContext:
    """The run's context with its sources: the register, its catalogue and the data folder's
    sources file each parsed once (``RegisterError``, ``CatalogueError`` or ``ContractError``
    name what cannot be used)."""
    from connectors.sources import load_sources

    context = resolve_run_context(config_path, data_dir, as_of=as_of, started_at=started_at)
    return replace(context, sources=load_sources(context.data_dir))


class RunResource(ConfigurableResource):
    """Where a run reads and writes, and as of which day."""

    data_dir: str
    config_path: str
    warehouse_path: str
    as_of: str = ""  # YYYY-MM-DD; empty: the last complete day before the run started

    _context: RunContext | None = PrivateAttr(default=None)
    # The salt is a secret: read from the environment, never part of the run config.
    _salt: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._context = resolve_run(
            Path(self.config_path),
            Path(self.data_dir),
            as_of=date.fromisoformat(self.as_of) if self.as_of else None,
            started_at=run_started_at(context),
        )
        self._salt = read_settings().salt

    @classmethod
    def resolved(cls, context: RunContext, warehouse: Warehouse, salt: str | None) -> ResourceDefinition:
        """The resource of a run whose launcher resolved its context already (``roi run``): the
        run reads neither the register nor the sources file again."""
        resource = cls(
            data_dir=str(context.data_dir),
            config_path=str(context.config_path),
            warehouse_path=str(warehouse.path),
            as_of=context.as_of.isoformat(),
        )
        resource._context, resource._salt = context, salt
        # as it is: Dagster would otherwise build a fresh copy from the fields and resolve again
        return ResourceDefinition.hardcoded_resource(resource)

    @property
    def context(self) -> RunContext:
        if self._context is None:
            raise RuntimeError("the run resource is resolved when a run starts (setup_for_execution)")
        return self._context

    @property
    def sources(self) -> Mapping[str, Any]:
        """Where each dataset comes from: the data folder's sources.yml (connectors.sources)."""
        return self.context.sources

    @property
    def salt(self) -> str | None:
        return self._salt

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(Path(self.warehouse_path).expanduser().resolve())


def run_started_at(context: InitResourceContext | None) -> datetime:
    """When Dagster started this run (the same for every step, whichever process runs it); now,
    without a run (``roi run`` resolving its run's context before starting it)."""
    record = (
        context.instance.get_run_record_by_id(context.run_id)
        if context is not None and context.instance and context.run_id
        else None
    )
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
        data_dir=EnvVar(variable("data_dir")),
        config_path=EnvVar(variable("config")),
        warehouse_path=EnvVar(variable("warehouse")),
    )
