"""A defects table in a real PostgreSQL server, pulled incrementally over three nights with dlt's
sql_database source: each night reads only rows changed since the cursor, a corrected row replaces
its earlier version, and a failed night leaves the cursor where it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import sqlalchemy as sa

from connectors.landing import ensure_raw_schema, last_cursor
from connectors.pull import PullError, land_pulled
from connectors.sources import load_sources
from tests.postgres_server import PostgresServer

SALT = "a-salt-for-the-sql-tests-012345"


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


@pytest.fixture
def app_db(postgres, monkeypatch):
    engine = sa.create_engine(postgres.url)
    with engine.begin() as db:
        db.execute(sa.text("drop table if exists quality_issues cascade"))
        db.execute(
            sa.text(
                "create table quality_issues (id serial primary key, line text, found_at timestamptz, pieces int, "
                "repair_cost numeric(10, 2), inspector_email text, updated_at timestamptz not null)"
            )
        )
    monkeypatch.setenv("DEFECTS_DB_URL", postgres.url)
    yield engine
    engine.dispose()


def add(engine, *rows) -> None:
    with engine.begin() as db:
        for row in rows:
            db.execute(
                sa.text(
                    "insert into quality_issues (line, found_at, pieces, repair_cost, inspector_email, updated_at) "
                    "values (:line, :found_at, :pieces, :cost, :email, :updated_at)"
                ),
                row,
            )


def row(line, day, pieces, updated):
    start = datetime(2024, 6, 1, 8, tzinfo=UTC)
    return {
        "line": line,
        "found_at": start + timedelta(days=day),
        "pieces": pieces,
        "cost": 2.5 * pieces,
        "email": "inspector@example.com",
        "updated_at": start + timedelta(days=updated),
    }


def night(con, source, n):
    con.execute("begin transaction")
    load = land_pulled(
        con, "factory_db", source, load_id=f"night-{n}", loaded_at=datetime(2024, 7, n, tzinfo=UTC), salt=SALT
    )
    con.execute("commit")
    return load


def test_a_postgres_table_is_pulled_incrementally_over_three_nights(tmp_path, app_db):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sources.yml").write_text(
        "sources:\n  factory_db:\n    kind: sql\n    dataset: defects\n    connection_env: DEFECTS_DB_URL\n"
        "    table: quality_issues\n    cursor: updated_at\n"
        "    columns: {defect_id: id, unit_id: line, detected_at: found_at, units_affected: pieces, "
        "cost: repair_cost}\n"
    )
    source = load_sources(data)["factory_db"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_raw_schema(con)

    add(app_db, row("line_1", 0, 3, 0), row("line_2", 0, 1, 0), row("line_1", 1, -2, 1))
    first = night(con, source, 1)
    assert (first.rows_read, first.rows_loaded, first.rows_rejected) == (3, 2, 1)
    assert (
        con.execute("select reason from raw.rejected_rows")
        .fetchone()[0]
        .startswith("units_affected -2.0 must not be negative")
    )

    add(app_db, row("line_2", 2, 4, 2))
    with app_db.begin() as db:  # the inspector corrects yesterday's impossible count
        db.execute(
            sa.text("update quality_issues set pieces = 2, repair_cost = 5, updated_at = :t where id = 3"),
            {"t": datetime(2024, 6, 3, 9, tzinfo=UTC)},
        )
    second = night(con, source, 2)
    assert (second.rows_read, second.rows_loaded) == (2, 2)  # the new row and the corrected one

    third = night(con, source, 3)  # nothing new: the cursor's own row comes again, and changes nothing
    assert (third.rows_loaded, third.rows_unchanged) == (0, 1)
    latest = dict(
        con.execute(
            "select defect_id, units_affected from raw.defects qualify row_number() over (partition by defect_id "
            "order by _loaded_at desc) = 1"
        ).fetchall()
    )
    assert latest == {"1": 3.0, "2": 1.0, "3": 2.0, "4": 4.0}
    assert con.execute("select count(*) from raw.defects").fetchone()[0] == 4
    # no column the mapping leaves out reaches the warehouse (the inspector's e-mail)
    assert "@" not in str(con.execute("select * from raw.defects").fetchall())


def test_a_failed_pull_leaves_the_cursor_where_it_was(tmp_path, app_db, postgres, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sources.yml").write_text(
        "sources:\n  factory_db: {kind: sql, dataset: defects, connection_env: DEFECTS_DB_URL, table: quality_issues, "
        "cursor: updated_at,\n"
        "    columns: {defect_id: id, unit_id: line, detected_at: found_at, units_affected: pieces, "
        "cost: repair_cost}}\n"
    )
    source = load_sources(data)["factory_db"]
    con = duckdb.connect()
    ensure_raw_schema(con)
    add(app_db, row("line_1", 0, 3, 0))
    night(con, source, 1)
    before = last_cursor(con, "factory_db")
    wrong = postgres.url.replace("postgres@", "postgres:hunter2-secret@").replace(str(postgres.port), "1")
    monkeypatch.setenv("DEFECTS_DB_URL", wrong)
    with pytest.raises(PullError) as failed:
        night(con, source, 2)
    con.execute("rollback")
    assert "hunter2-secret" not in str(failed.value)
    assert last_cursor(con, "factory_db") == before


def test_a_query_is_pulled_as_a_view(tmp_path, app_db):
    add(app_db, row("line_1", 0, 3, 0), row("line_2", 1, 0, 1))
    with app_db.begin() as db:
        db.execute(
            sa.text(
                "create or replace view counted_issues as select id, line, found_at, pieces, updated_at "
                "from quality_issues where pieces > 0"
            )
        )
    data = tmp_path / "data"
    data.mkdir()
    (data / "sources.yml").write_text(
        "sources:\n  factory_db: {kind: sql, dataset: defects, connection_env: DEFECTS_DB_URL, table: counted_issues, "
        "cursor: updated_at,\n"
        "    columns: {defect_id: id, unit_id: line, detected_at: found_at, units_affected: pieces}}\n"
    )
    con = duckdb.connect()
    ensure_raw_schema(con)
    load = night(con, load_sources(data)["factory_db"], 1)
    assert (load.rows_loaded, load.rows_rejected) == (1, 0)
    assert con.execute("select unit_id, cost from raw.defects").fetchall() == [("line_1", None)]
