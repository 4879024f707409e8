"""Everything a run's results are computed from, as one fingerprint.

A run whose fingerprint is the one the last published run recorded (``marts.runs.inputs_fingerprint``)
would build the same warehouse again, so ``roi run`` says so and leaves the published warehouse as
it is (``--force`` runs anyway). That lets a business poll often — run every hour, say, so that a
late export is measured the hour it arrives — and pay for a build only when something changed.

The fingerprint covers: ROI Ledger's code (``roi_ledger``, ``pipelines``, ``connectors``, the dbt
project, the expectations) and the versions of the libraries that compute or check a number; the
register as read and the metric catalogue; the run date; the sources file; every input file's
content hash; and the warehouse's own ``raw`` state (the rows of every raw table, so a sign-off
or an erasure made since is a change). A business with a database or API source is never
skipped: only a pull can tell whether it has new rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path

import duckdb

from connectors.files import file_hash
from connectors.sources import FilesSource, source_files
from pipelines.warehouse import Warehouse
from roi_ledger.fingerprint import NUMERIC_LIBRARIES, digest, source_digest
from roi_ledger.privacy import salt_fingerprint
from roi_ledger.run_context import RunContext

ROOT = Path(__file__).resolve().parent.parent
# The project's own files a run's results depend on.
PROJECT_PARTS = ("roi_ledger", "pipelines", "connectors", "dbt_project/models", "dbt_project/macros", "expectations")
PROJECT_FILES = ("dbt_project/dbt_project.yml", "dbt_project/profiles.yml")
SOURCE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".json", ".csv"}
LIBRARIES = (*NUMERIC_LIBRARIES, "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "great-expectations", "dlt")


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
    if (
        last is None
        or last[2] is None
        or recorded_salt is None
        or salt is None
        or salt_fingerprint(salt) != recorded_salt[0]
    ):
        return None
    now = inputs_fingerprint(context, sources, present_files(context, sources), raw)
    return (last[0], last[1]) if now == last[2] else None
