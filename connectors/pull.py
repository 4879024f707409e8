"""Pull records from a SQL database or a REST API with dlt, incrementally (docs/sources.md).

dlt does the talking — ``sql_database.sql_table`` for a table, ``rest_api`` for an HTTP API, with
its paginators, retries (429 with Retry-After, 5xx, timeouts) and incremental cursors. ROI Ledger
keeps the cursor itself, in ``raw.source_cursors`` of the warehouse being built, so that it moves
only when the night's results are published: a failed run leaves it where it was, and the next
night asks again. The records pulled are landed like a file's (``connectors.landing``): mapped,
typed, checked, identifiers hashed, each rejected record kept with its reason.

Secrets come from environment variables (``{env: NAME}`` in the sources file,
``connection_env`` for a database) and are scrubbed from every message.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

import duckdb

from connectors.landing import Load, Mapping, land_staged, last_cursor, remember_cursor, stage
from connectors.readers import flatten, records_frame
from connectors.sources import RestApiSource, SqlSource, resolve_secrets, secrets_in
from roi_ledger.contract import DATASETS, ContractError


class PullError(RuntimeError):
    """A source could not be read (the server refused, the database is down): the run stops and
    the published warehouse stays as it was."""


def pull(source_name: str, source: SqlSource | RestApiSource, *, cursor: str | None, limit: int | None = None):
    """The source's records since ``cursor`` (all of them on a first pull), as text columns with
    their position, and the cursor to remember (the largest cursor value seen)."""
    logging.getLogger("dlt").setLevel(logging.WARNING)
    secrets = secrets_in(source.model_dump(by_alias=True))
    if isinstance(source, SqlSource):
        secret = os.environ.get(source.connection_env)
        if secret:
            secrets.append(secret)
    where = f"source {source_name!r}"
    try:
        records = (
            _sql_records(source, cursor, where)
            if isinstance(source, SqlSource)
            else _api_records(source, cursor, where)
        )
        rows = [flatten(record) for record in islice(records, limit)]
    except ContractError:
        raise
    except Exception as exc:  # dlt and the drivers raise many types; the message is what matters
        raise PullError(f"{where}: {_scrub(_root_message(exc), secrets)}") from None
    field = source.cursor
    newest = max((r[field] for r in rows if field and r.get(field) is not None), key=_order, default=None)
    return records_frame(rows, list(range(1, len(rows) + 1))), newest


def _root_message(exc: BaseException) -> str:
    """The first error in ``exc``'s chain, in its own words (a driver's or a server's), without
    its class name: an owner reads it."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return str(exc).strip() or "the source did not answer (no reason given)"


def _scrub(message: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def _order(value: str):
    """Cursor values compare as instants where they are timestamps (offsets differ), else as numbers, else as text."""
    parsed = _typed(value)
    if isinstance(parsed, datetime):
        return (0, parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), "")
    if isinstance(parsed, (int, float)):
        return (1, datetime.min.replace(tzinfo=UTC), parsed)
    return (2, datetime.min.replace(tzinfo=UTC), str(parsed))


def _typed(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


def _sql_records(source: SqlSource, cursor: str | None, where: str) -> Iterator[dict]:
    import dlt
    from dlt.sources.sql_database import sql_table

    credentials = os.environ.get(source.connection_env)
    if not credentials:
        raise ContractError(
            f"{where}: the environment variable {source.connection_env} (the connection string) is not set"
        )
    incremental = None
    if source.cursor:
        start = _typed(cursor)
        if isinstance(start, datetime) and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        incremental = (
            dlt.sources.incremental(source.cursor, initial_value=start)
            if start is not None
            else dlt.sources.incremental(source.cursor)
        )
    table = sql_table(
        credentials=credentials,
        table=source.table,
        schema=source.schema_,
        incremental=incremental,
        backend="sqlalchemy",
    )
    for item in table:
        for record in item if isinstance(item, list) else [item]:
            yield {k: (v.isoformat() if isinstance(v, (datetime, date)) else v) for k, v in dict(record).items()}


def _unix(value) -> int:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def _api_records(source: RestApiSource, cursor: str | None, where: str) -> Iterator[dict]:
    from dlt.sources.rest_api import rest_api_source

    client = resolve_secrets(copy.deepcopy(source.client), where)
    if source.base_url:
        client["base_url"] = source.base_url
    if not client.get("base_url"):
        raise ContractError(f"{where}: base_url is missing (the address of the business's account at the service)")
    resource = resolve_secrets(copy.deepcopy(source.resource), where)
    endpoint = resource.setdefault("endpoint", {})
    start = cursor or source.initial_value
    if source.cursor and source.cursor_param and start is not None:
        param = {"type": "incremental", "cursor_path": source.cursor, "initial_value": start}
        if source.cursor_format == "unix":
            param["convert"] = _unix
        endpoint.setdefault("params", {})[source.cursor_param] = param

    def resource_named(name: str, selector: str | None) -> dict:
        spec = copy.deepcopy(resource)
        spec["name"] = name
        if selector:
            spec["endpoint"]["data_selector"] = selector
        return spec

    resources = [resource_named("records", None)]
    side = source.sideload
    if side:
        side_resource = resource_named("sideload", side["data_selector"])
        side_resource["endpoint"].get("params", {}).pop(source.cursor_param, None)
        if start is not None and source.cursor_param:
            value = _unix(start) if source.cursor_format == "unix" else start
            side_resource["endpoint"].setdefault("params", {})[source.cursor_param] = value
        resources.append(side_resource)
    api = rest_api_source({"client": client, "resources": resources})
    extra: dict[str, dict] = {}
    if side:
        for item in api.resources["sideload"]:
            for record in item if isinstance(item, list) else [item]:
                extra[str(record.get(side["key"]))] = record
    for item in api.resources["records"]:
        for record in item if isinstance(item, list) else [item]:
            record = dict(record)
            if side:
                record[side["prefix"]] = extra.get(str(record.get(side["joins"])), {})
            yield record


def origin_of(source_name: str, source: SqlSource | RestApiSource) -> str:
    if isinstance(source, SqlSource):
        return f"{source_name}: table {'.'.join(filter(None, [source.schema_, source.table]))}"
    return f"{source_name}: {source.resource.get('endpoint', {}).get('path', '')}"


def land_pulled(
    con: duckdb.DuckDBPyConnection,
    source_name: str,
    source: SqlSource | RestApiSource,
    *,
    load_id: str,
    loaded_at: datetime,
    salt: str | None,
    limit: int | None = None,
) -> Load:
    """Pull what is new since the source's cursor and land it (inside the caller's transaction),
    moving the cursor in the same transaction."""
    frame, newest = pull(source_name, source, cursor=last_cursor(con, source_name), limit=limit)
    origin = origin_of(source_name, source)
    if frame.height == 0:
        return Load(source_name, source.dataset, origin, None, 0, 0)
    columns = [c for c in frame.columns if c != "_source_row"]
    # An API leaves out what a record does not have (no customer: no customer__id): a field the
    # mapping names and no record carries is an empty column, not a broken mapping.
    named = {spec.column for spec in source.columns.values() if spec.column}
    for spec in source.columns.values():
        if spec.sql:  # the words of the expression outside its string literals
            named |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"'[^']*'", "", spec.sql)))
    have = {c.lower() for c in columns}
    columns += list({n.lower(): n for n in sorted(named) if n.lower() not in have}.values())
    stage(con, columns, [frame])
    load = land_staged(
        con,
        DATASETS[source.dataset],
        columns,
        Mapping.of(source),
        source=source_name,
        origin=origin,
        where=f"source {source_name!r}",
        malformed=[],
        load_id=load_id,
        loaded_at=loaded_at,
        salt=salt,
    )
    if newest is not None:
        remember_cursor(con, source_name, source.cursor, newest, load_id=load_id, loaded_at=loaded_at)
    return load
