"""Keeping last night's results where their inputs have not changed.

The effects step fingerprints each initiative's inputs (``roi_ledger.fingerprint``) and stores the
fingerprints beside its results (``intermediate.effect_fingerprints``); the claims step stores
them beside each claim's placebo replays (``intermediate.claim_evidence``). A run starts its
build from the last published warehouse, so those results and fingerprints are in the build
file: an initiative whose fingerprint is the one stored keeps its rows, and only the others are
computed again.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.warehouse import INTERMEDIATE
from roi_ledger.register import Register

FINGERPRINT_SCHEMA = {"initiative_id": pl.String, "fingerprint": pl.String, "computed_by_run": pl.String}


def stored_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame | None:
    """``intermediate.<table>`` as the last run left it (None in a new warehouse)."""
    if not _exists(con, table):
        return None
    return con.sql(f"select * from {INTERMEDIATE}.{table}").pl()


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [INTERMEDIATE, table],
        ).fetchone()[0]
    )


def unchanged_since_last_run(
    con: duckdb.DuckDBPyConnection, table: str, fingerprints: dict[str, str]
) -> dict[str, str]:
    """The initiatives whose fingerprint is the one ``intermediate.<table>`` stores, each with the
    run that computed its results (a new warehouse, or one built before fingerprints: none)."""
    if not _exists(con, table):
        return {}
    rows = con.execute(f"select initiative_id, fingerprint, computed_by_run from {INTERMEDIATE}.{table}").fetchall()
    return {i: computed_by for i, f, computed_by in rows if fingerprints.get(i) == f}


def kept_rows(con: duckdb.DuckDBPyConnection, table: str, kept: dict[str, str], *, like: pl.DataFrame) -> pl.DataFrame:
    """The last run's rows of ``intermediate.<table>`` for the ``kept`` initiatives, shaped like ``like``."""
    if not kept:
        return like.clear()
    rows = con.execute(
        f"select * from {INTERMEDIATE}.{table} where initiative_id in (select unnest(?))", [sorted(kept)]
    ).pl()
    return rows.select(like.columns).cast(dict(like.schema))


def in_register_order(register: Register, *frames: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``frames`` by initiative in the register's order (one initiative's rows as they were)."""
    order = {i.id: n for n, i in enumerate(register.initiatives)}
    rows = pl.concat(frames)
    return rows.sort(
        pl.col("initiative_id").replace_strict(order, default=len(order), return_dtype=pl.Int64), maintain_order=True
    )


def fingerprint_frame(fingerprints: dict[str, str], kept: dict[str, str], run_id: str) -> pl.DataFrame:
    """The table of fingerprints a step stores: each with the run that computed its results."""
    return pl.DataFrame(
        [
            {"initiative_id": i, "fingerprint": f, "computed_by_run": kept.get(i, run_id)}
            for i, f in fingerprints.items()
        ],
        schema=FINGERPRINT_SCHEMA,
    )
