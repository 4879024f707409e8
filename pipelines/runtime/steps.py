"""The one way a Python step is wired into Dagster: it names what it reads once, and returns what it writes.

    @python_step(
        group="money",
        reads=["python.initiative_effects", "marts.metric_series"],
        writes=["initiative_roi", "initiative_roi_periods", "initiative_metric_money"],
    )
    def money(context, run, inputs):
        frames = compute_money(..., inputs["python.initiative_effects"], inputs["marts.metric_series"])
        return Outputs(frames)

From that one declaration the helper derives the Dagster assets (``python/<table>`` for each
table written, in ``group``, described by the table's yml, roi_ledger/tables.py), their
dependencies (``<schema>/<table>`` of each table read, plus ``after``: assets that must succeed
first although the step does not read them), reads each input as a polars frame when the step
first asks for it, writes each output with ``replace_table`` (which holds a published table to
its declared columns and types) and reports each as materialized with its row count, or with
the metadata the step returns for it.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl
from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.runtime.resources import RunResource
from pipelines.runtime.warehouse import PYTHON, Warehouse, replace_table
from roi_ledger.tables import published_tables


@dataclass
class Outputs:
    """What a step writes: a frame per table (``python.<table>``), and for any table the
    metadata to report instead of its row count."""

    frames: dict[str, pl.DataFrame]
    metadata: dict[str, dict] = field(default_factory=dict)


class Inputs(Mapping[str, pl.DataFrame]):
    """The tables a step declared it reads (``schema.table``), each read once, when first asked for."""

    def __init__(self, warehouse: Warehouse, tables: Sequence[str]):
        self._warehouse, self._tables, self._frames = warehouse, tuple(tables), {}

    def __getitem__(self, table: str) -> pl.DataFrame:
        if table not in self._tables:
            raise KeyError(f"{table} is not among the tables this step declares it reads: {list(self._tables)}")
        if table not in self._frames:
            with self._warehouse.connect() as con:
                self._frames[table] = con.sql(f"select * from {table}").pl()
        return self._frames[table]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


def asset_key(table: str) -> AssetKey:
    """The asset that builds ``schema.table``: dbt's models and the Python steps' tables alike."""
    return AssetKey(table.split("."))


def step_specs(
    group: str, writes: Sequence[str], reads: Sequence[str], after: Sequence[str] = (), internal: Mapping[str, str] = {}
) -> list[AssetSpec]:
    """The assets of a step writing ``writes``: described by their yml (or by ``internal``, for a
    table the step keeps for itself and no mart publishes), depending on ``reads`` and ``after``."""
    declared = published_tables()
    deps = [asset_key(table) for table in (*reads, *after)]
    return [
        AssetSpec(
            [PYTHON, table],
            group_name=group,
            description=internal[table] if table in internal else f"{declared[table].description} (marts.{table})",
            deps=deps,
        )
        for table in writes
    ]


def python_step(
    *,
    group: str,
    reads: Sequence[str],
    writes: Sequence[str],
    after: Sequence[str] = (),
    internal: Mapping[str, str] = {},
) -> Callable:
    """Turn ``step(context, run, inputs) -> Outputs`` into a Dagster multi-asset (see the module)."""

    def decorate(step: Callable[[AssetExecutionContext, RunResource, Inputs], Outputs]):
        @multi_asset(
            name=step.__name__,
            specs=step_specs(group, writes, reads, after, internal),
            description=step.__doc__,
        )
        def asset(context: AssetExecutionContext, run: RunResource):
            outputs = step(context, run, Inputs(run.warehouse, reads))
            if set(outputs.frames) != set(writes):
                raise ValueError(
                    f"{step.__name__} declares it writes {list(writes)}; it returned {list(outputs.frames)}"
                )
            with run.warehouse.connect() as con:
                for table in writes:
                    replace_table(con, f"{PYTHON}.{table}", outputs.frames[table])
            for table in writes:
                metadata = outputs.metadata.get(table, {"rows": outputs.frames[table].height})
                yield MaterializeResult(asset_key=AssetKey([PYTHON, table]), metadata=metadata)

        return asset

    return decorate
