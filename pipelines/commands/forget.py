"""``roi forget``: erase a customer's or an employee's rows from the warehouse (docs/privacy.md).

People's identifiers are stored only as ``sha256(salt || id)``. Given the identifier and the salt,
the erasure removes every row carrying that hash — from every table of every schema with a
``customer_id`` or ``employee_id`` column (raw, staging, intermediate), and from ``raw.rejected_rows`` —
then writes the warehouse afresh into a new file, so the deleted rows do not linger in the file's
free blocks, and publishes it like a run: under the run lock, by an atomic rename. A running night
holds that lock: the erasure waits its turn (``--wait`` seconds, default an hour), then starts from
the warehouse that night published. The erasure is
recorded in ``raw.erasures`` with its time, kind and row counts — never the identifier or its hash.
Files already loaded are never landed again (they are known by content), so the next run
rebuilds every result from what remains; an export that still holds the person would bring them
back, so remove them at the source as well.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import duckdb

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK
from pipelines.commands.validate import checked_settings
from pipelines.runtime.run_lock import POLL_SECONDS, WarehouseBusy
from pipelines.runtime.settings import SALT_VAR
from pipelines.runtime.warehouse import Warehouse
from roi_ledger.privacy import SaltError, check_salt_strength, check_same_salt

ID_COLUMNS = {"customer": "customer_id", "employee": "employee_id"}


def command(args: argparse.Namespace) -> int:
    """Erase people's rows from the warehouse; prints what was removed, never who."""
    customers, employees = args.customer, args.employee
    if not customers and not employees:
        sys.exit("roi forget: name at least one --customer or --employee")
    settings = checked_settings()
    if settings is None:
        return EXIT_INVALID_INPUT
    if not settings.salt:
        print(f"roi forget: set {SALT_VAR} to the salt the warehouse's identifiers were hashed with", file=sys.stderr)
        return EXIT_INVALID_INPUT
    store = Warehouse(Path(args.warehouse).expanduser().resolve())
    try:
        removed = forget_in_turn(store, args.wait, salt=settings.salt, customers=customers, employees=employees)
    except (SaltError, FileNotFoundError) as exc:
        print(f"roi forget: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except WarehouseBusy as exc:
        print(f"roi forget: waited {args.wait:.0f} s and the warehouse is still busy: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    people = len(customers) + len(employees)
    print(
        f"erased {sum(removed.values())} rows of {people} {'person' if people == 1 else 'people'} from {store.path} "
        "(recorded in raw.erasures):"
    )
    for table, n in sorted(removed.items()):
        print(f"  {table}: {n}")
    print("The next run rebuilds every result from what remains; remove them from the source exports too.")
    return EXIT_OK


def forget_in_turn(warehouse: Warehouse, wait_seconds: float, **people) -> dict[str, int]:
    """``forget``, once the run holding the warehouse (if any) has finished; ``WarehouseBusy`` when it
    still holds it after ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            return forget(warehouse, **people)
        except WarehouseBusy as busy:
            if time.monotonic() >= deadline:
                raise
            if not told:
                print(f"waiting for the warehouse (up to {wait_seconds:.0f} s): {busy}", flush=True)
                told = True
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def forget(warehouse: Warehouse, *, salt: str, customers: list[str], employees: list[str]) -> dict[str, int]:
    """Erase the people's rows; the rows removed per table (``schema.table``)."""
    check_salt_strength(salt)
    if not warehouse.path.is_file():
        raise FileNotFoundError(f"{warehouse.path}: no published warehouse")
    run_id = f"forget-{uuid4()}"
    warehouse.start_build(run_id)
    try:
        removed = _erase(warehouse, run_id, salt, {"customer": customers, "employee": employees})
        _rewrite(warehouse)
    except BaseException:
        warehouse.build_file.unlink(missing_ok=True)
        warehouse.run_lock.release(run_id)
        raise
    warehouse.publish(run_id)
    return removed


def _erase(warehouse: Warehouse, run_id: str, salt: str, people: dict[str, list[str]]) -> dict[str, int]:
    removed: dict[str, int] = {}
    with warehouse.connect() as con:
        recorded = con.execute("select fingerprint from raw.salt_fingerprint order by recorded_at limit 1").fetchone()
        check_same_salt(salt, recorded[0] if recorded else None, str(warehouse.path))  # another salt would erase no one
        con.execute(
            "create table if not exists raw.erasures "
            "(erased_at timestamptz, kind varchar, people bigint, rows_removed bigint, _load_id varchar)"
        )
        con.execute("begin transaction")
        for kind, ids in people.items():
            if not ids:
                continue
            column = ID_COLUMNS[kind]
            con.execute("create or replace temp table erased (hash varchar)")
            con.executemany("insert into erased select sha256(? || ?)", [[salt, person] for person in ids])
            tables = con.execute(
                """
                select c.table_schema, c.table_name from information_schema.columns as c
                join information_schema.tables as t using (table_schema, table_name)
                where c.column_name = ? and t.table_type = 'BASE TABLE' order by 1, 2
                """,
                [column],
            ).fetchall()
            total = 0
            for schema, table in tables:
                n = con.execute(
                    f'delete from "{schema}"."{table}" where {column} in (select hash from erased)'
                ).fetchone()[0]
                removed[f"{schema}.{table}"] = removed.get(f"{schema}.{table}", 0) + n
                total += n
            n = con.execute(
                "delete from raw.rejected_rows "
                f"where json_extract_string(record, '$.{column}') in (select hash from erased)"
            ).fetchone()[0]
            removed["raw.rejected_rows"] = removed.get("raw.rejected_rows", 0) + n
            total += n
            con.execute(
                "insert into raw.erasures values (?, ?, ?, ?, ?)", [datetime.now(UTC), kind, len(ids), total, run_id]
            )
            con.execute("drop table erased")
        con.execute("commit")
    return removed


def _rewrite(warehouse: Warehouse) -> None:
    """Copy the build into a new file (schemas, tables, views, their comments), leaving the deleted
    rows behind, and put it in the build's place."""
    fresh = warehouse.build_file.with_name(f"{warehouse.build_file.name}.fresh")
    fresh.unlink(missing_ok=True)
    with duckdb.connect(str(fresh)) as con:
        target = con.execute("select current_database()").fetchone()[0]
        con.execute(f"attach '{warehouse.build_file}' as source (read_only)")
        con.execute(f'copy from database source to "{target}"')
        comments = con.execute(
            """
            select 'table', schema_name, table_name, null, comment
            from duckdb_tables() where database_name = 'source' and comment is not null
            union all
            select 'column', schema_name, table_name, column_name, comment
            from duckdb_columns() where database_name = 'source' and comment is not null
            """
        ).fetchall()
        for kind, schema, table, column, comment in comments:
            target = f'"{schema}"."{table}"' + (f'."{column}"' if column else "")
            con.execute(f"comment on {kind} {target} is '{comment.replace(chr(39), chr(39) * 2)}'")
        con.execute("detach source")
        con.execute("checkpoint")
    fresh.replace(warehouse.build_file)
