"""One-line messages about an expectation's result, naming the table and column(s).

Pure functions of the suite entry and GX's result dictionary, so they are tested without a
warehouse. Examples of the records that broke an expectation come from GX's
``partial_unexpected_index_list`` (at most a few, with the suite's ``identify_rows_by``
columns), so the owner can find them in their files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from roi_ledger.quality.results import Status
from roi_ledger.quality.suites import FRESHNESS_FLOOR, ExpectationSpec

MAX_EXAMPLES = 3


def subject(table: str, spec: ExpectationSpec) -> str:
    """``schema.table.column``, ``schema.table (a, b)`` or ``schema.table``."""
    columns = spec.columns
    if spec.expectation == "expect_table_columns_to_match_set":
        return table
    if len(columns) == 1:
        return f"{table}.{columns[0]}"
    if columns:
        return f"{table} ({', '.join(columns)})"
    return table


def requirement(spec: ExpectationSpec) -> str:
    """What the expectation asks, in words."""
    k = spec.kwargs
    kind = spec.expectation
    if kind == "expect_column_values_to_not_be_null":
        text = "must not be null"
    elif kind == "expect_column_values_to_be_unique":
        text = "must be unique"
    elif kind == "expect_compound_columns_to_be_unique":
        text = "must be unique together"
    elif kind == "expect_column_values_to_be_between":
        text = f"must be {_range(k.get('min_value'), k.get('max_value'))}"
    elif kind == "expect_column_values_to_be_in_set":
        text = f"must be one of {', '.join(map(str, k.get('value_set', [])))}"
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        relation = "on or after" if k.get("or_equal") else "after"
        text = f"{k.get('column_A')} must be {relation} {k.get('column_B')}"
    elif kind == "expect_column_max_to_be_between" and k.get("min_value") == FRESHNESS_FLOOR:
        text = "latest value must be at most freshness_days before as_of"
    elif kind == "expect_column_max_to_be_between":
        text = f"latest value must be {_range(k.get('min_value'), k.get('max_value'))}"
    elif kind == "expect_table_row_count_to_be_between":
        text = f"row count must be {_range(k.get('min_value'), k.get('max_value'))}"
    elif kind == "expect_table_columns_to_match_set":
        text = f"must have columns {', '.join(k.get('column_set', []))}"
    elif kind == "expect_column_values_to_be_of_type":
        text = f"must be of type {k.get('type_')}"
    elif kind == "unexpected_rows_expectation":
        text = spec.notes or "no row may match the query"
    else:
        text = f"{kind}({', '.join(f'{key}={value}' for key, value in k.items())})"
    return text + _condition(k)


def describe(
    table: str,
    spec: ExpectationSpec,
    status: Status,
    result: Mapping[str, Any],
    *,
    error: str | None = None,
    actual_type: str | None = None,
    hint: str | None = None,
) -> str:
    """The one-line message for a result."""
    where = subject(table, spec)
    if status is Status.NOT_APPLICABLE:
        return f"{where}: not applicable ({hint or 'the table is empty'})"
    if status is Status.ERROR:
        return f"{where}: could not evaluate {spec.expectation}: {_first_line(error or 'unknown error')}"
    if status is Status.PASSED:
        return f"{where}: ok ({requirement(spec)})"
    text = f"{where}: {_problem(spec, result, actual_type)}"
    return f"{text}; {hint}" if hint else text


def _problem(spec: ExpectationSpec, result: Mapping[str, Any], actual_type: str | None) -> str:
    k = spec.kwargs
    kind = spec.expectation
    count = result.get("unexpected_count")
    observed = result.get("observed_value")
    examples = _examples(spec, result)
    if kind == "expect_column_values_to_not_be_null":
        return f"{_n(count, 'null value')}{examples}"
    if kind == "expect_column_values_to_be_unique":
        return f"{_n(count, 'row')} share a value with another row{examples}"
    if kind == "expect_compound_columns_to_be_unique":
        return f"{_n(count, 'row')} share the same combination with another row{examples}"
    if kind == "expect_column_values_to_be_between":
        return f"{_n(count, 'value')} not {_range(k.get('min_value'), k.get('max_value'))}{_condition(k)}{examples}"
    if kind == "expect_column_values_to_be_in_set":
        allowed = ", ".join(map(str, k.get("value_set", [])))
        return f"{_n(count, 'value')} not one of {allowed}{examples}"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        relation = "on or after" if k.get("or_equal") else "after"
        return f"{_n(count, 'row')} where {k.get('column_A')} is not {relation} {k.get('column_B')}{examples}"
    if kind == "expect_column_max_to_be_between":
        return f"latest value is {_show(observed)}, expected {_range(k.get('min_value'), k.get('max_value'))}"
    if kind == "expect_table_row_count_to_be_between":
        return f"{_n(observed, 'row')}, expected {_range(k.get('min_value'), k.get('max_value'))}"
    if kind == "expect_table_columns_to_match_set":
        missing = (result.get("details") or {}).get("mismatched", {}).get("missing", [])
        return f"missing column(s) {', '.join(missing)}" if missing else f"columns are {_show(observed)}"
    if kind == "expect_column_values_to_be_of_type":
        return f"type is {actual_type or 'unknown'}, expected {k.get('type_')}"
    if kind == "unexpected_rows_expectation":
        return f"{_n(observed, 'row')} where {spec.notes or 'the query matched'}"
    return f"{kind} failed (observed {_show(observed)}, {count} unexpected)"


def _examples(spec: ExpectationSpec, result: Mapping[str, Any]) -> str:
    rows: Sequence[Mapping[str, Any]] = result.get("partial_unexpected_index_list") or []
    if rows:
        shown = []
        for row in rows[:MAX_EXAMPLES]:
            values = [_show(row[c]) for c in spec.columns if c in row]
            ids = [f"{c}={_show(v)}" for c, v in row.items() if c not in spec.columns]
            text = " vs ".join(values)
            if ids:
                text = f"{text} at {', '.join(ids)}" if text else ", ".join(ids)
            shown.append(text)
        return f" (e.g. {'; '.join(shown)})"
    values = result.get("partial_unexpected_list") or []
    if values:
        return f" (e.g. {'; '.join(_show(v) for v in values[:MAX_EXAMPLES])})"
    return ""


def _condition(kwargs: Mapping[str, Any]) -> str:
    condition = kwargs.get("row_condition")
    if isinstance(condition, Mapping) and condition.get("type") == "comparison":
        return f" where {condition['column']['name']} {condition['operator']} {condition['parameter']}"
    return ""


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"between {_show(low)} and {_show(high)}"
    if low is not None:
        return f">= {_show(low)}"
    if high is not None:
        return f"<= {_show(high)}"
    return "any value"


def _n(count: Any, noun: str) -> str:
    count = 0 if count is None else count
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        if value.time() == time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
