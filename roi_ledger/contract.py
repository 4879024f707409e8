"""Input data contract v1: the datasets a business hands to ROI Ledger, and their columns.

This module is the single declaration of the contract. The loader (``connectors.files``)
reads it to find, type and check files; the docs (``docs/data-contract.md``) describe it for
people. Only the columns named here are loaded: anything else in a file (a customer's name,
an e-mail address) never reaches the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class ColumnType(str, Enum):
    """How a text cell is turned into a typed value on the way into ``raw``."""

    TEXT = "VARCHAR"
    TIMESTAMP = "TIMESTAMPTZ"  # naive values are read in the business's timezone
    DATE = "DATE"
    NUMBER = "DOUBLE"
    INTEGER = "BIGINT"
    BOOLEAN = "BOOLEAN"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False
    # A SQL predicate on the typed value ``v`` that must hold when the value is present.
    check: str | None = None
    check_reason: str | None = None
    # Identifiers of people are replaced by a salted hash before they land.
    pseudonymise: bool = False


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # The column that places a record in time (its period).
    time_column: str
    # Row-level rules across columns: (SQL predicate on typed columns that must hold, reason).
    row_rules: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ORDERS = Dataset(
    name="orders",
    description="One row per customer order.",
    key=("order_id",),
    time_column="ordered_at",
    columns=(
        Column("order_id", ColumnType.TEXT),
        Column("unit_id", ColumnType.TEXT),
        Column("ordered_at", ColumnType.TIMESTAMP),
        Column("fulfilled_at", ColumnType.TIMESTAMP, nullable=True),
        Column("amount", ColumnType.NUMBER),
        Column(
            "status",
            ColumnType.TEXT,
            check="v in ('completed', 'cancelled', 'refunded')",
            check_reason="must be one of completed, cancelled, refunded",
        ),
        Column("has_error", ColumnType.BOOLEAN),
        Column("customer_id", ColumnType.TEXT, nullable=True, pseudonymise=True),
    ),
    row_rules=(
        ("fulfilled_at is null or fulfilled_at >= ordered_at", "fulfilled_at is before ordered_at"),
        (
            "status <> 'completed' or amount >= 0",
            "amount is negative for a completed order (a refund booked as an order? give it status refunded)",
        ),
    ),
)

TICKETS = Dataset(
    name="tickets",
    description="One row per customer support ticket.",
    key=("ticket_id",),
    time_column="opened_at",
    columns=(
        Column("ticket_id", ColumnType.TEXT),
        Column("unit_id", ColumnType.TEXT),
        Column("opened_at", ColumnType.TIMESTAMP),
        Column("first_response_at", ColumnType.TIMESTAMP, nullable=True),
        Column("resolved_at", ColumnType.TIMESTAMP, nullable=True),
        Column("reopened", ColumnType.BOOLEAN),
        Column(
            "csat",
            ColumnType.INTEGER,
            nullable=True,
            check="v between 1 and 5",
            check_reason="must be a whole number from 1 to 5",
        ),
    ),
    row_rules=(
        ("first_response_at is null or first_response_at >= opened_at", "first_response_at is before opened_at"),
        ("resolved_at is null or resolved_at >= opened_at", "resolved_at is before opened_at"),
    ),
)

HOURS = Dataset(
    name="hours",
    description="One row per time-sheet entry: who worked how long on what.",
    key=("entry_id",),
    time_column="work_date",
    columns=(
        Column("entry_id", ColumnType.TEXT),
        Column("unit_id", ColumnType.TEXT),
        Column("employee_id", ColumnType.TEXT, pseudonymise=True),
        Column("work_date", ColumnType.DATE),
        Column("activity", ColumnType.TEXT),
        Column("hours", ColumnType.NUMBER, check="v >= 0 and v <= 24", check_reason="must be between 0 and 24"),
        Column(
            "hourly_cost",
            ColumnType.NUMBER,
            nullable=True,
            check="v >= 0",
            check_reason="must not be negative",
        ),
    ),
)

DEFECTS = Dataset(
    name="defects",
    description="One row per detected defect (a faulty batch, a wrong delivery).",
    key=("defect_id",),
    time_column="detected_at",
    columns=(
        Column("defect_id", ColumnType.TEXT),
        Column("unit_id", ColumnType.TEXT),
        Column("detected_at", ColumnType.TIMESTAMP),
        Column(
            "units_affected",
            ColumnType.NUMBER,
            check="v >= 0",
            check_reason="must not be negative",
        ),
        Column("cost", ColumnType.NUMBER, nullable=True, check="v >= 0", check_reason="must not be negative"),
    ),
)

KPIS = Dataset(
    name="kpis",
    description="KPIs the business already computes elsewhere, at their own grain.",
    key=("unit_id", "metric", "period_start"),
    time_column="period_start",
    columns=(
        Column("unit_id", ColumnType.TEXT),
        Column("period_start", ColumnType.DATE),
        Column(
            "metric",
            ColumnType.TEXT,
            check="regexp_full_match(v, '[a-z][a-z0-9_]*')",
            check_reason="must be a lower-case name of letters, digits and underscores",
        ),
        Column("value", ColumnType.NUMBER),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (ORDERS, TICKETS, HOURS, DEFECTS, KPIS)}

# Files a dataset may come in.
FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".jsonl", ".xlsx")


class ContractError(ValueError):
    """A data file breaks the contract as a whole (unreadable, required column missing)."""


@dataclass
class DataInventory:
    """What a data directory holds, read without writing anything (``connectors.files.inventory``)."""

    files: dict[str, list[Path]] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)
    split_values: dict[str, set[str]] = field(default_factory=dict)
    kpi_metrics: set[str] = field(default_factory=set)
    # datasets (partly) pulled from a database or an API: their units are known only once pulled
    pulled: set[str] = field(default_factory=set)
    # (dataset, file, rows loaded, rows rejected, rows unchanged, rows folded) per file, and the rejections grouped by
    # (dataset, file, reason, rows, first row numbers[, first failing values: connectors.dry_run])
    loads: list[tuple] = field(default_factory=list)
    rejections: list[tuple] = field(default_factory=list)
