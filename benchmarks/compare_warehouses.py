"""Compare the published marts of two warehouses, table by table and column by column.

    .venv/bin/python benchmarks/compare_warehouses.py BEFORE.duckdb AFTER.duckdb [--tolerance 1e-9]

For a change that should not move the numbers (a refactor), run the demo before and after
(``roi demo --out DIR``) and compare: each table is "identical", "equal within the tolerance"
(numbers that differ only in their last digits: DuckDB sums floating-point values in the order
its threads meet them, so two runs of the same code can differ by ~1e-16 relative; a p-value
far in the tail magnifies that: two demo runs of unchanged code gave p-values of about 1e-59 that
differ by 2.5e-8 relative, so compare a refactor's demo with ``--tolerance 1e-7``) or lists
the columns that differ, with an example. Columns that describe the run rather than the
results (run ids, timestamps, paths) are not compared. Exit code 1 when anything differs
beyond the tolerance.
"""

from __future__ import annotations

import argparse
import sys

import duckdb
import polars as pl

# When things were recorded (a recovered run records the business cases at its own start), and
# the digest of a run's inputs (it covers the data folder's path and the code: two runs of the same
# data from two folders, or before and after a refactor, always differ in it).
RUN_COLUMNS = {
    "inputs_fingerprint",
    "run_id",
    "started_at",
    "ended_at",
    "input_files",
    "register_file",
    "data_dir",
    "recorded_at",
    "registered_at",
    "last_edit_at",
    "signed_run_id",
}


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.sql("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    return {name for (name,) in rows}


def compare_table(before: pl.DataFrame, after: pl.DataFrame, tolerance: float) -> list[str]:
    """What differs between two versions of one table (empty when equal within ``tolerance``)."""
    problems = []
    added, removed = set(after.columns) - set(before.columns), set(before.columns) - set(after.columns)
    if added or removed:
        problems.append(f"columns added {sorted(added)}, removed {sorted(removed)}")
    columns = [c for c in before.columns if c in after.columns and c not in RUN_COLUMNS]
    if before.height != after.height:
        return [*problems, f"{before.height} rows before, {after.height} after"]
    numeric = [c for c in columns if before[c].dtype.is_float()]
    keys = [c for c in columns if c not in numeric]
    before, after = before.sort(keys, nulls_last=True), after.sort(keys, nulls_last=True)
    for column in columns:
        old, new = before[column], after[column]
        if column in numeric:
            pair = pl.DataFrame({"old": old, "new": new})
            worst = (
                pair.select(
                    (
                        (pl.col("old") - pl.col("new")).abs()
                        / pl.max_horizontal(pl.col("old").abs(), pl.col("new").abs(), pl.lit(1e-300))
                    )
                    .fill_nan(None)
                    .max()
                ).item()
                or 0.0
            )
            nulls_moved = int((old.is_null() != new.is_null()).sum())
            if nulls_moved or worst > tolerance:
                problems.append(f"{column}: relative difference up to {worst:.3g}, {nulls_moved} nulls moved")
        elif not old.equals(new):
            changed = old.cast(pl.String).fill_null("∅") != new.cast(pl.String).fill_null("∅")
            example = f"{old.filter(changed)[0]!r} -> {new.filter(changed)[0]!r}"
            problems.append(f"{column}: {int(changed.sum())} rows differ, e.g. {example}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="largest relative difference of equal numbers")
    args = parser.parse_args(argv)
    with duckdb.connect(args.before, read_only=True) as old, duckdb.connect(args.after, read_only=True) as new:
        names_before, names_after = tables(old), tables(new)
        different = False
        for name in sorted(names_before | names_after):
            if name not in names_after or name not in names_before:
                print(f"{name}: only {'before' if name in names_before else 'after'}")
                continue
            before, after = old.sql(f"select * from marts.{name}").pl(), new.sql(f"select * from marts.{name}").pl()
            problems = compare_table(before, after, args.tolerance)
            if not problems:
                print(
                    f"{name}: {'identical' if before.equals(after) else f'equal within {args.tolerance:g}'} "
                    f"({before.height} rows)"
                )
            for problem in problems:
                different = True
                print(f"{name}: {problem}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
