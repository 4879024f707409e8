"""Expectation suites: what ROI Ledger expects of each input table, read from ``expectations/``.

One YAML file per dataset and layer (``raw_orders.yml``, ``staging_orders.yml``...). Each entry
is a Great Expectations 1.x expectation type with its kwargs, plus a ``critical`` flag: a
failing critical expectation blocks the marts, the others only warn. Loading a suite needs
pydantic and YAML only; Great Expectations is imported by the runner, when validating.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from roi_ledger.contract import DATASETS

SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"

# How old the newest record of a dataset may be, in days before the run's as_of, before the
# freshness expectation warns. A suite overrides it with `freshness_days:`.
DEFAULT_FRESHNESS_DAYS = 7

# Written as a kwarg value, replaced at run time by as_of - freshness_days (as a date for DATE
# columns, midnight of that day for timestamps; UTC midnight for TIMESTAMPTZ columns).
FRESHNESS_FLOOR = "$freshness_floor"

# Column kwargs of the expectation types the suites use: the columns a result is about.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list", "column_set")


class SuiteError(ValueError):
    """A suite file cannot be used; the message names the file and the problem."""


class _Strict(BaseModel):
    # Unknown keys are errors: a typo (`critcal`) must not silently turn a check into a warning.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectationSpec(_Strict):
    """One expectation of a suite, as written in YAML."""

    expectation: str = Field(description="GX expectation type, snake_case (expect_column_...)")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    # No default: every expectation says whether it blocks the marts.
    critical: bool
    notes: str | None = None

    @field_validator("expectation")
    @classmethod
    def _snake_case_type(cls, value: str) -> str:
        if not re.fullmatch(r"(expect_[a-z0-9_]+|unexpected_rows_expectation)", value):
            raise ValueError(f"{value!r} is not a GX expectation type (expect_... in snake_case)")
        if "regex" in value:
            # GX has no regex support for the duckdb dialect on the SQL path.
            raise ValueError(
                f"{value}: regex expectations do not run on DuckDB through GX's SQL path; "
                "use unexpected_rows_expectation with DuckDB's regexp_full_match instead"
            )
        return value

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the expectation is about (empty for table-level expectations)."""
        found = [self.kwargs[k] for k in _COLUMN_KWARGS if k in self.kwargs]
        for key in _COLUMN_LIST_KWARGS:
            found += list(self.kwargs.get(key, []))
        return tuple(found)


class Suite(_Strict):
    """The expectations on one table of the warehouse."""

    name: str
    table: str = Field(description="schema.table in the warehouse, e.g. staging.stg_orders")
    dataset: str = Field(description="the contract dataset the table holds")
    description: str
    freshness_days: int = Field(default=DEFAULT_FRESHNESS_DAYS, ge=0)
    # Columns shown with each unexpected value, so the owner can find the record.
    identify_rows_by: tuple[str, ...] = ()
    expectations: tuple[ExpectationSpec, ...] = Field(min_length=1)

    @field_validator("table")
    @classmethod
    def _schema_qualified(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", value):
            raise ValueError(f"table must be schema.table in lower case, got {value!r}")
        return value

    @field_validator("dataset")
    @classmethod
    def _contract_dataset(cls, value: str) -> str:
        if value not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _freshness_floor_needs_a_column(self) -> Suite:
        for spec in self.expectations:
            if FRESHNESS_FLOOR in spec.kwargs.values() and "column" not in spec.kwargs:
                raise ValueError(f"{spec.expectation}: {FRESHNESS_FLOOR} needs a `column` kwarg")
        return self

    @property
    def schema_name(self) -> str:
        return self.table.split(".")[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".")[1]

    @property
    def layer(self) -> str:
        """``raw`` or ``staging``: the schema is the layer."""
        return self.schema_name

    @property
    def critical(self) -> tuple[ExpectationSpec, ...]:
        return tuple(s for s in self.expectations if s.critical)

    @property
    def warnings(self) -> tuple[ExpectationSpec, ...]:
        return tuple(s for s in self.expectations if not s.critical)


def load_suite(path: Path) -> Suite:
    try:
        content = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SuiteError(f"{path}: cannot read the suite: {exc}") from None
    if not isinstance(content, dict):
        raise SuiteError(f"{path}: a suite is a mapping with name, table, dataset and expectations")
    try:
        suite = Suite.model_validate(content)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())
        raise SuiteError(f"{path}: {problems}") from None
    if suite.name != path.stem:
        raise SuiteError(f"{path}: the suite's name must match its file name, got {suite.name!r}")
    return suite


def load_suites(directory: Path = SUITES_DIR) -> list[Suite]:
    """Every suite in ``directory``, sorted by name."""
    paths = sorted(directory.glob("*.yml"))
    if not paths:
        raise SuiteError(f"{directory}: no expectation suites (*.yml) found")
    return [load_suite(path) for path in paths]
