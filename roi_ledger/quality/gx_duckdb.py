"""Great Expectations on a DuckDB file, validated in SQL: the workaround and the datasource.

Why a workaround: GX's SQL execution engine runs a query inside ``with engine.connect()`` and
fetches the rows after that block has closed the connection. Closing rolls the connection back,
and with duckdb-engine the rollback discards DuckDB's pending result, so every metric fails with
``MetricResolutionError: list index out of range``. GX already avoids this for SQLite, SQL
Server, BigQuery and Databricks by keeping one connection open for those dialects (the
``_PERSISTED_CONNECTION_DIALECTS`` tuple); DuckDB is not in it. Upstream:
great_expectations issues #10738 and #11579.

The workaround adds DuckDB to that tuple (:func:`register_duckdb_as_persisted_connection_dialect`).
``tests/test_quality.py::test_gx_still_needs_the_duckdb_workaround`` runs GX on DuckDB without it
and fails with a message saying so once upstream fixes the bug; then delete the shim.

A persisted connection keeps the DuckDB file open, and DuckDB allows one writer process: dbt (a
subprocess) and the next step could not open the build file. :func:`duckdb_datasource` therefore
disposes both engines GX creates when validation ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # GX takes ~15 s to import: only the functions below import it, lazily
    from great_expectations.datasource.fluent import SQLDatasource

UPSTREAM_ISSUES = (
    "https://github.com/great-expectations/great_expectations/issues/10738",
    "https://github.com/great-expectations/great_expectations/issues/11579",
)
DUCKDB_DIALECT = "duckdb"


class _DialectName(str):
    """A dialect name shaped like GX's ``GXSqlDialect`` members (it has no DuckDB member):
    GX compares the engine's dialect name to the tuple's entries (``==``) and checks
    connection strings with ``startswith(entry.value)``."""

    @property
    def value(self) -> str:
        return str(self)


def register_duckdb_as_persisted_connection_dialect() -> None:
    """Make GX keep one connection open for DuckDB, as it does for SQLite.

    Workaround for great_expectations#10738 and #11579 (see the module docstring). Must run
    before the datasource is created (the engine's pool is chosen then) and stay in place while
    validating (every query checks the tuple). Idempotent; a no-op once GX lists DuckDB itself.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    dialects = getattr(engine_module, "_PERSISTED_CONNECTION_DIALECTS", None)
    if dialects is None:
        raise RuntimeError(
            "great_expectations no longer has _PERSISTED_CONNECTION_DIALECTS: check whether "
            f"{', '.join(UPSTREAM_ISSUES)} are fixed and remove roi_ledger.quality.gx_duckdb's shim"
        )
    if any(dialect == DUCKDB_DIALECT for dialect in dialects):
        return
    engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DialectName(DUCKDB_DIALECT))


def connection_url(warehouse: Path) -> str:
    """A SQLAlchemy URL for duckdb-engine, with the path escaped."""
    from sqlalchemy import URL

    url = URL.create("duckdb", database=str(Path(warehouse).resolve()))
    return url.render_as_string(hide_password=False)


@contextmanager
def duckdb_datasource(warehouse: Path, *, apply_workaround: bool = True) -> Iterator[SQLDatasource]:
    """A GX SQL datasource over the DuckDB file, in an ephemeral context; the file is closed
    again (both engines disposed) when the block ends, also on error.

    ``apply_workaround=False`` is for the test that tells when upstream fixed the bug.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if apply_workaround:
        register_duckdb_as_persisted_connection_dialect()
    context = gx.get_context(mode="ephemeral")
    # tqdm bars on stderr would clutter the Dagster logs.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_sql(name="warehouse", connection_string=connection_url(warehouse))
    try:
        yield datasource
    finally:
        dispose(datasource)


def dispose(datasource: SQLDatasource) -> None:
    """Close every connection GX holds to the file.

    GX builds two engines: the datasource's (used to test the connection and list tables) and
    the execution engine's (used to validate, with the persisted connection). Both keep the
    DuckDB file open until disposed.
    """
    execution_engine = datasource.get_execution_engine()
    execution_engine.close()  # closes the persisted connection, disposes its engine
    datasource.get_engine().dispose()
