"""Every published table as its one declaration has it: the marts' yml (``dbt_project/models/marts/*.yml``).

A mart's yml gives its name, description, columns in order with their ``data_type`` and
descriptions, and its tests; dbt enforces it as the model's contract. Everything else that
knows a table's shape reads it from here: the Python steps' frames are conformed to it before
they are written (``conform``), the Dagster assets take their descriptions from it, and
``pipelines/runtime/project.py`` generates the dbt sources and the republishing models of the tables
marked ``meta: {published_from: python}`` from it. ``marts.runs``, which the publish step
writes itself, is declared in the same folder as a source (``runs.yml``). See docs/warehouse.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
import yaml

MARTS_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts"

# Each dbt data_type the marts use, as the polars type a Python step's frame has for it.
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "varchar": pl.String(),
    "json": pl.String(),
    "bigint": pl.Int64(),
    "integer": pl.Int32(),
    "double": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "timestamptz": pl.Datetime("us", "UTC"),
}


class TableShapeError(ValueError):
    """A frame's columns or types are not the ones its table declares."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    description: str


@dataclass(frozen=True)
class Table:
    """One published table as declared in ``declared_in``."""

    name: str
    description: str
    columns: tuple[Column, ...]
    declared_in: Path
    # A Python step writes it as python.<name> (``meta: {published_from: python}``) ...
    published_from_python: bool
    # ... and the mart's own SQL adds these columns (``meta: {dbt_adds_columns: [...]}``); without
    # any, dbt republishes the table as it is, by a model pipelines/runtime/project.py generates.
    dbt_adds_columns: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def republished_as_is(self) -> bool:
        return self.published_from_python and not self.dbt_adds_columns

    @property
    def python_columns(self) -> tuple[Column, ...]:
        """The columns of the frame the Python step writes, in the table's order."""
        return tuple(column for column in self.columns if column.name not in self.dbt_adds_columns)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of the frame the Python step writes, in the table's column order."""
        return {column.name: POLARS_TYPES[column.data_type] for column in self.python_columns}

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _table(entry: dict, declared_in: Path) -> Table:
    columns = []
    for column in entry.get("columns", []):
        data_type = column.get("data_type")
        if data_type not in POLARS_TYPES:
            raise TableShapeError(
                f"{declared_in.name}: {entry['name']}.{column['name']} has data_type {data_type!r}; "
                f"declare one of {sorted(POLARS_TYPES)} (roi_ledger/tables.py)"
            )
        columns.append(Column(column["name"], data_type, _text(column.get("description"))))
    meta = (entry.get("config") or {}).get("meta") or {}
    return Table(
        name=entry["name"],
        description=_text(entry.get("description")),
        columns=tuple(columns),
        declared_in=declared_in,
        published_from_python=meta.get("published_from") == "python",
        dbt_adds_columns=tuple(meta.get("dbt_adds_columns", ())),
    )


@cache
def published_tables(marts_dir: Path = MARTS_DIR) -> dict[str, Table]:
    """Every model of the marts' yml files, and the tables they declare as sources in ``marts``."""
    tables: dict[str, Table] = {}
    for path in sorted(marts_dir.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = list(document.get("models", []))
        for source in document.get("sources", []):
            if source.get("schema", source["name"]) == "marts":
                entries.extend(source.get("tables", []))
        for entry in entries:
            tables[entry["name"]] = _table(entry, path)
    return tables


def table(name: str) -> Table:
    try:
        return published_tables()[name]
    except KeyError:
        raise KeyError(f"no published table {name!r} is declared in {MARTS_DIR}/*.yml") from None


def schema(name: str) -> dict[str, pl.DataType]:
    """The polars schema of published table ``name``, as its yml declares it."""
    return table(name).schema


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in the column order its table declares; a column that is all null without a
    type takes the declared one. Raises ``TableShapeError`` naming the table and column when a
    column is missing, extra or of another type."""
    declared = table(name)
    missing = [c for c in declared.schema if c not in frame.columns]
    extra = [c for c in frame.columns if c not in declared.schema]
    if missing or extra:
        raise TableShapeError(
            f"{name}: the frame lacks columns {missing} and has undeclared columns {extra} "
            f"(declared in {declared.declared_in.name})"
        )
    for column in declared.python_columns:
        actual, dtype = frame.schema[column.name], POLARS_TYPES[column.data_type]
        if actual == pl.Null:
            frame = frame.with_columns(pl.col(column.name).cast(dtype))
        elif actual != dtype:
            raise TableShapeError(
                f"{name}.{column.name} is {actual} in the frame but declared {column.data_type} ({dtype}) "
                f"in {declared.declared_in.name}"
            )
    return frame.select(list(declared.schema))
