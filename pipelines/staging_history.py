"""Whether a night may keep the staging tables incrementally, written to ``raw.run_context``.

Each staging table holds the latest version of every record up to the run's as-of date. On DuckDB
a night recomputes only the records it may have changed (dbt_project/macros/staging_history.sql):
those with a row landed by this run and those dated between the last published run's as-of date
and this one's. That is exact only if the tables are what the last published run left, built by
the same code in the same timezone from the same raw rows. So the run records, beside its as-of
date, the one the tables were built for (``previous_as_of``) and a digest of what else they
depend on (``history_digest``), and rebuilds them in full (``rebuild_history``) when the digest
is not the last published run's: a first run, new code or libraries, a new business timezone, an
erasure of a person's rows since (``roi forget``).
"""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines.run_inputs import project_version
from roi_ledger.fingerprint import digest

RUN_CONTEXT_COLUMNS = "as_of date, run_id varchar, previous_as_of date, history_digest varchar, rebuild_history boolean"


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
    rebuild = previous is None or previous[1] != current
    con.execute(f"create or replace table raw.run_context ({RUN_CONTEXT_COLUMNS})")
    con.execute(
        "insert into raw.run_context values (?, ?, ?, ?, ?)",
        [as_of, run_id, previous[0] if previous else None, current, rebuild],
    )
    return rebuild


def rebuild_history(con: duckdb.DuckDBPyConnection) -> bool:
    """What this run's ``write_run_context`` decided."""
    return bool(con.execute("select rebuild_history from raw.run_context").fetchone()[0])
