"""The incremental layer's warehouse side (``roi_ledger.incremental`` says what is kept and why).

A run starts its build from the last published warehouse, so the last run's stored results are in
the build file: ``kept_results`` reads the one a step stores and compares it with this run's
fingerprints; the step writes ``KeptResults.table()`` back for the next run.

Two decisions are made for the run as a whole, each on one fingerprint:

- **the whole run** (``last_run_with_same_inputs``): a run whose inputs' fingerprint is the one the
  last published run recorded (``marts.runs.inputs_fingerprint``) would build the same warehouse
  again, so ``roi run`` says so and leaves the published warehouse as it is (``--force`` runs
  anyway). That lets a business poll often — run every hour, say, so that a late export is
  measured the hour it arrives — and pay for a build only when something changed. The fingerprint
  covers: ROI Ledger's code (``roi_ledger``, ``pipelines``, ``connectors``, the dbt project, the
  expectations) and the versions of the libraries that compute or check a number; the register as
  read and the metric catalogue; the run date; the sources file; every input file's content hash;
  and the warehouse's own ``raw`` state (the rows of every raw table, so a sign-off or an erasure
  made since is a change). A business with a database or API source is never skipped: only a pull
  can tell whether it has new rows.
- **the staging tables** (``write_run_context``), written to ``raw.run_context``. Each staging
  table holds the latest version of every record up to the run's as-of date. On DuckDB a night
  recomputes only the records it may have changed (dbt_project/macros/staging_history.sql): those
  with a row landed by this run and those dated between the last published run's as-of date and
  this one's. That is exact only if the tables are what the last published run left, built by the
  same code in the same timezone from the same raw rows. So the run records, beside its as-of
  date, the one the tables were built for (``previous_as_of``) and a digest of what else they
  depend on (``history_digest``), and rebuilds them in full (``rebuild_history``) when the digest
  is not the last published run's: a first run, new code or libraries, a new business timezone, an
  erasure of a person's rows since (``roi forget``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from connectors.files import file_hash
from connectors.sources import FilesSource, source_files
from pipelines.runtime.warehouse import PYTHON, Warehouse
from roi_ledger.incremental import FINGERPRINT, NUMERIC_LIBRARIES, KeptResults, digest, is_unchanged, source_digest
from roi_ledger.privacy import salt_fingerprint
from roi_ledger.run_context import RunContext

ROOT = Path(__file__).resolve().parents[2]
# The project's own files a run's results depend on.
PROJECT_PARTS = ("roi_ledger", "pipelines", "connectors", "dbt_project/models", "dbt_project/macros", "expectations")
PROJECT_FILES = ("dbt_project/dbt_project.yml", "dbt_project/profiles.yml")
SOURCE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".json", ".csv"}
LIBRARIES = (*NUMERIC_LIBRARIES, "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "great-expectations", "dlt")

RUN_CONTEXT_COLUMNS = "as_of date, run_id varchar, previous_as_of date, history_digest varchar, rebuild_history boolean"


# --- results kept per key, stored in ``python`` ---


def stored_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame | None:
    """``python.<table>`` as the last run left it (None in a new warehouse)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [PYTHON, table],
    ).fetchone()[0]
    return con.sql(f"select * from {PYTHON}.{table}").pl() if exists else None


def kept_results(
    con: duckdb.DuckDBPyConnection,
    table: str,
    fingerprints: Mapping[Hashable, str],
    *,
    key: Iterable[str] = ("initiative_id",),
    schema: Mapping[str, pl.DataType] | None = None,
    run_id: str,
) -> KeptResults:
    """This run's ``fingerprints`` against the results the last run stored in ``python.<table>``
    (``schema``: a stored row's columns; by default the key's alone)."""
    key = tuple(key)
    schema = schema if schema is not None else dict.fromkeys(key, pl.String)
    return KeptResults(key, schema, fingerprints, stored_table(con, table), run_id)


def stored_fingerprints(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Per initiative, the fingerprint ``python.<table>`` stores (this run's, once its step ran)."""
    stored = stored_table(con, table)
    return {} if stored is None else dict(stored.select("initiative_id", FINGERPRINT).iter_rows())


# --- the whole run ---


@cache
def project_version() -> str:
    """A digest of the project's files that shape a run's results and of its libraries' versions."""
    paths = [
        p for part in PROJECT_PARTS for p in (ROOT / part).rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file()
    ]
    paths += [ROOT / name for name in PROJECT_FILES if (ROOT / name).is_file()]
    return source_digest(ROOT, [p for p in paths if "__pycache__" not in p.parts], LIBRARIES)


def raw_state(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The number of rows of every ``raw`` table (the landed data, sign-offs, erasures, cursors)."""
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' and table_type = 'BASE TABLE'"
        ).fetchall()
    ]
    return {name: con.execute(f'select count(*) from raw."{name}"').fetchone()[0] for name in sorted(tables)}


def inputs_fingerprint(
    context: RunContext, sources: dict, files: Iterable[tuple[str, str, str]], raw: dict[str, int]
) -> str | None:
    """The fingerprint of a run with this context, ``sources``, input ``files`` (dataset, path,
    content hash) and ``raw`` state (``raw_state``); None when a source is pulled, not read from files."""
    if not all(isinstance(source, FilesSource) for source in sources.values()):
        return None
    return digest(
        project_version(),
        context.register_sha256,
        list(context.catalogue_entries),
        context.as_of,
        str(context.data_dir.resolve()),
        sources,
        sorted((dataset, str(Path(path).resolve()), content_hash) for dataset, path, content_hash in files),
        raw,
    )


def present_files(context: RunContext, sources: dict) -> list[tuple[str, str, str]]:
    """(dataset, path, content hash) of every input file in the data folder now."""
    return [
        (source.dataset, str(path), file_hash(path))
        for source in sources.values()
        if isinstance(source, FilesSource)
        for path in source_files(context.data_dir, source)
    ]


def last_run_with_same_inputs(warehouse: Warehouse, context: RunContext, salt: str | None) -> tuple[str, date] | None:
    """(run id, as-of date) of the last published run when a run with ``context`` (its register
    and sources as already parsed) would have the same inputs (``inputs_fingerprint``); None when
    anything differs, is unknown or is left to recover (a build file or a lock of a run that did
    not finish), or when ``salt`` is not the warehouse's (the run then stops with its own message)."""
    if not warehouse.path.exists() or warehouse.build_file.exists() or warehouse.run_lock.path.exists():
        return None
    sources = dict(context.sources)
    try:
        with duckdb.connect(str(warehouse.path), read_only=True) as con:
            last = con.execute(
                "select run_id, as_of, inputs_fingerprint from marts.runs order by ended_at desc limit 1"
            ).fetchone()
            recorded_salt = con.execute(
                "select fingerprint from raw.salt_fingerprint order by recorded_at limit 1"
            ).fetchone()
            raw = raw_state(con)
    except duckdb.Error:  # an older warehouse (no fingerprint yet), or one a writer holds
        return None
    if last is None or recorded_salt is None or salt is None or salt_fingerprint(salt) != recorded_salt[0]:
        return None
    now = inputs_fingerprint(context, sources, present_files(context, sources), raw)
    return (last[0], last[1]) if is_unchanged(now, last[2]) else None


# --- the staging tables ---


def history_digest(con: duckdb.DuckDBPyConnection, timezone: str) -> str:
    """What the staging tables depend on besides the raw rows and the dates."""
    erasures = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'erasures'"
    ).fetchone()[0]
    erased = con.execute("select count(*) from raw.erasures").fetchone()[0] if erasures else 0
    return digest(project_version(), timezone, erased)


def write_run_context(con: duckdb.DuckDBPyConnection, *, as_of: date, run_id: str, timezone: str) -> bool:
    """Replace ``raw.run_context`` with this run's row; whether the staging tables are rebuilt."""
    try:
        previous = con.execute("select as_of, history_digest from raw.run_context").fetchone()
    except duckdb.Error:  # a new warehouse, or one written before the history was recorded
        previous = None
    current = history_digest(con, timezone)
    rebuild = not is_unchanged(current, previous[1] if previous else None)
    con.execute(f"create or replace table raw.run_context ({RUN_CONTEXT_COLUMNS})")
    con.execute(
        "insert into raw.run_context values (?, ?, ?, ?, ?)",
        [as_of, run_id, previous[0] if previous else None, current, rebuild],
    )
    return rebuild


def rebuild_history(con: duckdb.DuckDBPyConnection) -> bool:
    """What this run's ``write_run_context`` decided."""
    return bool(con.execute("select rebuild_history from raw.run_context").fetchone()[0])
