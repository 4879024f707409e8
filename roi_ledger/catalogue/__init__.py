"""The metric catalogue: what can be measured, how it aggregates, and what a change is worth.

Built-in metrics live in ``metrics.yml`` beside this module; a business adds its own under
``catalogue:`` in initiatives.yml. dbt generates the weekly series from the same entries (they
are passed to dbt as the ``metric_catalogue`` var), so one declaration drives SQL and Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from roi_ledger.contract import DATASETS

BUILT_IN_PATH = Path(__file__).with_name("metrics.yml")
SPLIT_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class CatalogueError(ValueError):
    pass


class _Strict(BaseModel):
    # no number is infinite or NaN (a value_per_unit of .inf makes every benefit infinite)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _no_bool(value: object) -> object:
    # YAML reads yes/no/true/false as booleans, which pydantic would take for 1 and 0.
    if isinstance(value, bool):
        raise ValueError(f"{'yes/true/on' if value else 'no/false/off'} is not a number: write the number")
    return value


class Money(_Strict):
    kind: Literal["hours", "order_errors", "defect_units", "revenue", "fixed", "none"]
    basis: Literal["per_volume", "per_period"] | None = None
    pool: str | None = None
    value_per_unit: Annotated[float, BeforeValidator(_no_bool)] | None = Field(default=None, ge=-1e12, le=1e12)

    @model_validator(mode="after")
    def _complete(self) -> Money:
        if self.kind != "none" and self.basis is None:
            raise ValueError("money.basis (per_volume or per_period) is required unless kind is none")
        if self.kind == "fixed" and self.value_per_unit is None:
            raise ValueError("money.value_per_unit is required when kind is fixed")
        return self


class RatioPart(_Strict):
    dataset: str
    expression: str = "1"
    filter: str | None = None


class MetricDefinition(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*(\{\w+\})?[a-z0-9_]*$")
    label: str | None = None
    dataset: str | None = None
    aggregation: Literal["rate", "mean", "median", "sum", "count", "ratio"]
    expression: str | None = None
    filter: str | None = None
    split_by: str | None = None
    numerator: RatioPart | None = None
    denominator: RatioPart | None = None
    scale: Annotated[float, BeforeValidator(_no_bool)] = 1.0
    volume: str | None = None
    good_direction: Literal["up", "down"]
    # how a figure of it reads: share (a fraction of records; changes in percentage points),
    # currency (the business's money) or number; a rate is a share unless it says otherwise
    unit: Literal["share", "currency", "number"] = "number"
    zero_fill: bool = False
    model_scale: Literal["linear", "log"] = "linear"
    money: Money = Money(kind="none")

    @model_validator(mode="before")
    @classmethod
    def _rate_is_a_share(cls, entry: object) -> object:
        if isinstance(entry, dict) and entry.get("unit") is None and entry.get("aggregation") == "rate":
            return {**entry, "unit": "share"}
        return entry

    @model_validator(mode="after")
    def _consistent(self) -> MetricDefinition:
        if self.aggregation == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError("a ratio metric needs numerator and denominator")
            parts = [self.numerator.dataset, self.denominator.dataset]
        else:
            if self.dataset is None:
                raise ValueError("dataset is required")
            if self.aggregation != "count" and self.expression is None:
                raise ValueError(f"expression is required for aggregation {self.aggregation}")
            parts = [self.dataset]
        for dataset in parts:
            if dataset not in DATASETS or dataset == "kpis":
                raise ValueError(f"unknown dataset {dataset!r} (orders, tickets, hours, defects)")
        placeholder = SPLIT_PLACEHOLDER.search(self.name)
        if bool(placeholder) != bool(self.split_by):
            raise ValueError("a name with {column} needs split_by naming that column, and vice versa")
        return self

    @property
    def is_template(self) -> bool:
        return self.split_by is not None

    @property
    def datasets(self) -> frozenset[str]:
        if self.aggregation == "ratio":
            return frozenset({self.numerator.dataset, self.denominator.dataset})  # type: ignore[union-attr]
        return frozenset({self.dataset})  # type: ignore[arg-type]

    def matches(self, name: str) -> bool:
        """True when ``name`` is this metric (or one made from this template)."""
        if not self.is_template:
            return name == self.name
        before, after = SPLIT_PLACEHOLDER.split(self.name, maxsplit=1)[0::2]
        return re.fullmatch(re.escape(before) + r"[a-z0-9_]+" + re.escape(after), name) is not None

    def instantiate(self, value: str) -> str:
        return SPLIT_PLACEHOLDER.sub(slug(value), self.name)


# The metric-name form of a data value (a split_by metric's name part), as SQL: the one rule,
# which dbt's `slugify` macro (dbt_project/macros/roi_helpers.sql) renders in the same words
# (a test holds them equal). Trimmed, lower case, anything outside [a-z0-9] becomes '_'.
SLUG_SQL = "regexp_replace(lower(trim({value})), '[^a-z0-9]', '_', 'g')"


def slug(value: str) -> str:
    """``value`` as dbt names the metric made from it, computed by the same SQL."""
    import duckdb

    return duckdb.execute(f"select {SLUG_SQL.format(value='?')}", [value]).fetchone()[0]


@cache
def built_in_entries() -> tuple[dict, ...]:
    return tuple(yaml.safe_load(BUILT_IN_PATH.read_text(encoding="utf-8"))["metrics"])


def catalogue_entries(extra: list[dict] | None = None, source: str = "catalogue") -> list[dict]:
    """Built-in entries plus the user's, validated; a user entry replaces a built-in of its name.
    Each carries its ``unit`` (dbt's metric_catalogue publishes it as the validation defaults it)."""
    entries = {e["name"]: {**e, "unit": MetricDefinition.model_validate(e).unit} for e in built_in_entries()}
    for position, entry in enumerate(extra or [], start=1):
        try:
            unit = MetricDefinition.model_validate(entry).unit
        except ValidationError as exc:
            name = entry.get("name", f"#{position}") if isinstance(entry, dict) else f"#{position}"
            details = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise CatalogueError(f"{source}: catalogue metric {name!r}: {details}") from None
        entries[entry["name"]] = {**entry, "unit": unit}
    return list(entries.values())


def load_catalogue(extra: list[dict] | None = None, source: str = "catalogue") -> list[MetricDefinition]:
    return [MetricDefinition.model_validate(e) for e in catalogue_entries(extra, source)]


def definition_of(catalogue: list[MetricDefinition], metric: str) -> MetricDefinition | None:
    """The catalogue entry of ``metric``: an entry of that exact name first, else the template
    it was made from (``hours_per_order`` is its own entry, not an ``hours_{activity}``)."""
    exact = next((m for m in catalogue if not m.is_template and m.name == metric), None)
    return exact or next((m for m in catalogue if m.is_template and m.matches(metric)), None)


@dataclass(frozen=True)
class MetricTraits:
    """What the estimators need to know of a metric beyond its series."""

    scale: str = "linear"  # or "log" (the catalogue's model_scale)
    datasets: frozenset[str] = frozenset()  # where its records come from


def metric_traits(catalogue: list[MetricDefinition], metrics: set[str]) -> dict[str, MetricTraits]:
    """Traits of every metric in ``metrics``; a KPI (not in the catalogue) is its own dataset."""
    traits = {}
    for name in metrics:
        definition = definition_of(catalogue, name)
        if definition is None:
            traits[name] = MetricTraits(datasets=frozenset({f"kpis:{name}"}))
        else:
            traits[name] = MetricTraits(scale=definition.model_scale, datasets=definition.datasets)
    return traits


def known_metric_names(
    catalogue: list[MetricDefinition],
    *,
    split_values: dict[str, set[str]],
    kpi_metrics: set[str],
) -> set[str]:
    """Every metric name a register may use, given the values found in the data.

    ``split_values`` maps a column (``activity``) to the values present in the data.
    """
    names = set(kpi_metrics)
    for metric in catalogue:
        if metric.is_template:
            names.update(metric.instantiate(v) for v in split_values.get(metric.split_by, set()))
        else:
            names.add(metric.name)
    return names
