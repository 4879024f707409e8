"""Where a run writes, and how its work becomes the warehouse people read.

The warehouse an analyst queries is never opened for writing. A run builds into a private copy
beside it (``.<name>.build``) and publishes it with an atomic rename when everything succeeded,
so readers never block the nightly run and a failed run leaves the last good results in place.
One run at a time builds a warehouse (``pipelines.runtime.run_lock``). See docs/architecture.md.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.runtime.run_lock import Holder, RunLock
from pipelines.runtime.settings import MEMORY_LIMIT_VAR, read_settings
from roi_ledger.tables import conform, published_tables

# The schema the Python steps write to, between the two dbt layers (dbt's source `python`): named
# for what wrote them, apart from dbt's `intermediate` models.
PYTHON = "python"


def out_of_memory_hint(message: str) -> str | None:
    """What to do when a step failed with DuckDB's out-of-memory error (else None)."""
    if "Out of Memory Error" not in message:
        return None
    return (
        f"DuckDB needed more than its memory limit ({MEMORY_LIMIT_VAR}={read_settings().duckdb_memory_limit}): "
        "set it higher, e.g. 4GB, and run again (docs/performance.md, Memory)"
    )


# Linux's ioctl that makes a file share another's blocks (<linux/fs.h>: _IOW(0x94, 9, int)).
_FICLONE = 0x40049409
# What the ioctl answers when this filesystem, or this pair of files, cannot share blocks.
_CANNOT_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}


def clone_or_copy(source: Path, target: Path) -> bool:
    """Make ``target`` a copy of ``source``; True when it is a copy-on-write clone.

    On a filesystem that clones files (XFS, btrfs, bcachefs; Linux's ``FICLONE``) the copy shares
    every block with ``source`` and takes no space and no time; a block is copied only when one of
    the two files writes it. Elsewhere (ext4, tmpfs, another OS) the bytes are copied."""
    if sys.platform.startswith("linux"):
        import fcntl

        with open(source, "rb") as original, open(target, "wb") as clone:
            try:
                fcntl.ioctl(clone.fileno(), _FICLONE, original.fileno())
                return True
            except OSError as error:
                if error.errno not in _CANNOT_CLONE:
                    raise
    shutil.copyfile(source, target)
    return False


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Write ``frame`` as ``schema.table``, replacing what was there (its polars schema kept). A
    table of ``python`` that a mart publishes is first held to the columns and types its yml
    declares (``roi_ledger.tables.conform``): a step whose frame differs fails here, naming the
    table and the column, every night, instead of a mart's contract failing later in dbt."""
    schema, name = table.split(".")
    declared = published_tables().get(name)
    if schema == PYTHON and declared is not None and declared.published_from_python:
        frame = conform(name, frame)
    con.execute(f"create schema if not exists {schema}")
    con.register("frame", frame.to_arrow())
    try:
        con.execute(f"create or replace table {table} as select * from frame")
    finally:
        con.unregister("frame")


# What the Python steps' tables were called before each took its mart's name. A warehouse
# built before keeps them (each build starts from the published file); dropped, so that no
# analyst reads a copy that no longer changes.
RENAMED_TABLES = (
    "effect_estimates",
    "claim_check_results",
    "claim_grades",
    "claim_grade_reasons",
    "money_initiative_roi",
    "money_initiative_roi_periods",
    "money_initiative_metric_money",
    "strategy_objective_progress",
    "strategy_objective_contributions",
    "strategy_initiative_alignment",
    "strategy_portfolio_priorities",
    "strategy_rollout_phases",
)


def drop_renamed_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what an older version left under names no step writes any more: the tables above, and
    every table the Python steps wrote to ``intermediate`` before they had a schema of their own
    (``python``); a mart's name is never one of dbt's ``int_`` models."""
    moved = (*published_tables(), "effect_fingerprints", "claim_evidence", "claim_check_memo")
    for name in RENAMED_TABLES:
        con.execute(f"drop table if exists intermediate.{name}")
    for name in moved:
        con.execute(f"drop table if exists intermediate.{name}")


UNIT_HOURLY_COST = "intermediate.int_unit_hourly_cost"  # each unit's loaded hourly cost, built by dbt


def unit_hourly_costs(frame: pl.DataFrame) -> dict[str, float]:
    """Each unit's loaded hourly cost from ``UNIT_HOURLY_COST`` read as a frame."""
    return dict(frame.select("unit_id", "hourly_cost").iter_rows())


@dataclass(frozen=True)
class Warehouse:
    """The published DuckDB file and the files a run keeps beside it."""

    path: Path  # absolute: dbt's profile resolves relative paths from where dbt runs

    @property
    def build_file(self) -> Path:
        """The private file a run writes to before publishing."""
        return self.path.with_name(f".{self.path.name}.build")

    @property
    def build_journal(self) -> Path:
        """DuckDB's write-ahead log of the build file."""
        return self.build_file.with_name(f"{self.build_file.name}.wal")

    @property
    def build_spill(self) -> Path:
        """Where DuckDB spills what does not fit in its memory limit (its default temp_directory)."""
        return self.build_file.with_name(f"{self.build_file.name}.tmp")

    @property
    def run_lock(self) -> RunLock:
        """Held by the run building this warehouse, from ``start_build`` to ``publish``."""
        return RunLock(self.path.with_name(f".{self.path.name}.lock"))

    @property
    def dbt_target(self) -> Path:
        """Where dbt writes its run artifacts (compiled SQL, run results) for this warehouse."""
        return self.path.with_name(f".{self.path.name}.dbt")

    @property
    def run_log(self) -> Path:
        """Where ``roi run`` writes dbt's and Dagster's output."""
        return self.path.with_name(f"{self.path.name}.run.log")

    @property
    def report_file(self) -> Path:
        """The morning report of the last published run (roi_ledger.report.html)."""
        return self.path.with_name(f"{self.path.stem}-report.html")

    @property
    def signoff_log(self) -> Path:
        """The append-only log of people's decisions on claims (roi_ledger.oversight.signoff): an
        input of every run, kept beside the warehouse and never rewritten by a run."""
        return self.path.with_name(f"{self.path.stem}-signoffs.jsonl")

    @property
    def parquet_dir(self) -> Path:
        """The published marts as Parquet, one file per table, for tools that do not read DuckDB."""
        return self.path.with_name(f"{self.path.stem}-parquet")

    def export_parquet(self, run_id: str) -> Path:
        """Write every table of ``marts`` in the build file as Parquet into a folder of this run's,
        beside the published one (``publish_parquet`` swaps it in once the warehouse is published)."""
        staging = self.path.with_name(f".{self.parquet_dir.name}.{run_id}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with self.connect() as con:
            tables = [
                t
                for (t,) in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
                ).fetchall()
            ]
            for table in tables:
                target = str(staging / f"{table}.parquet").replace("'", "''")
                con.execute(f"copy (select * from marts.{table}) to '{target}' (format parquet)")
        return staging

    def publish_parquet(self, staging: Path) -> None:
        """Put this run's Parquet folder in place of the last one: the old one is moved aside first,
        so a reader sees a whole folder, the old or the new."""
        old = self.path.with_name(f".{self.parquet_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if self.parquet_dir.exists():
            os.replace(self.parquet_dir, old)
        os.replace(staging, self.parquet_dir)
        shutil.rmtree(old, ignore_errors=True)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the build file (the run's only writer)."""
        con = duckdb.connect(str(self.build_file))
        limit = read_settings().duckdb_memory_limit  # validated: digits and a unit (docs/performance.md)
        con.execute(f"set memory_limit = '{limit}'")
        try:
            yield con
        finally:
            con.close()

    def start_build(self, run_id: str, run_finished: Callable[[str], bool] = lambda _: False) -> Holder | None:
        """Take the run lock, then start the build file from the last published warehouse (or
        empty): a clone that shares its blocks where the filesystem can (``clone_or_copy``), so
        the run's extra disk is what it writes, else a copy. Returns the holder of a stale lock
        taken over, if any."""
        self.build_file.parent.mkdir(parents=True, exist_ok=True)
        taken_over = self.run_lock.acquire(run_id, run_finished)
        self.remove_unpublished()  # what a killed run left
        if self.path.exists():
            clone_or_copy(self.path, self.build_file)
        return taken_over

    def remove_unpublished(self) -> None:
        """Remove what a run writes before it publishes: the build file, DuckDB's journal and spill
        beside it, the Parquet export and the morning report not yet swapped in. Called by the
        next run for a killed run's, and by a failed run for its own (``roi run``); the caller
        holds the run lock. The journal matters most: replayed into a fresh copy of the published
        file it would publish the dead run's writes (a "ghost" row in marts.runs), or fail every
        later run once the published file has changed ("Failure while replaying WAL")."""
        for leftover in (self.build_file, self.build_journal):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(self.build_spill, ignore_errors=True)  # what DuckDB spilled past its memory limit
        for leftover in self.path.parent.glob(f".{self.parquet_dir.name}.*"):  # a Parquet export not swapped in
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.path.parent.glob(f".{self.report_file.name}.*"):  # and its unpublished report
            leftover.unlink(missing_ok=True)
        if not self.path.exists():  # dbt's artifacts of a build never published describe nothing
            shutil.rmtree(self.dbt_target, ignore_errors=True)

    def published_run(self) -> str:
        """What is published, in words: the warehouse with the date and run of its last publish
        (``marts.runs``), or that none has been published yet."""
        if not self.path.exists():
            return f"no warehouse has been published yet at {self.path}"
        try:
            with duckdb.connect(str(self.path), read_only=True) as con:
                last = con.execute("select run_id, ended_at from marts.runs order by ended_at desc limit 1").fetchone()
        except duckdb.Error:  # busy, or a file no run of ours published
            last = None
        if last is None:
            return f"the warehouse {self.path} is unchanged"
        run_id, ended_at = last
        return f"the warehouse {self.path} published on {ended_at:%Y-%m-%d %H:%M %Z} (run {run_id}) is unchanged"

    def publish(self, run_id: str) -> None:
        """Replace the published warehouse with the build by an atomic rename (no second copy
        is left on disk; the next run starts its build from the published file), and release
        the lock."""
        with self.connect() as con:
            con.execute("checkpoint")
        os.replace(self.build_file, self.path)
        self.run_lock.release(run_id)
