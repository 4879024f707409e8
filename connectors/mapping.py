"""Turn a source's fields into the contract's columns, as text, in SQL (docs/sources.md).

A source's records arrive as a table of text columns named as the source names them (an
export's headers, an API's flattened fields). ``mapping_sql`` selects from it one text column per
contract column — a renamed field, a constant, a value map (``paid`` → ``completed``, ``Good`` →
5), a DuckDB expression, or a generated id — with decimal commas and declared date formats
turned into the contract's notation. Typing and checking stay in ``connectors.landing``, the
same for every source, so a value a mapping cannot make sense of is rejected with its reason.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb

from connectors.sources import ColumnMap
from roi_ledger.contract import ColumnType, ContractError, Dataset

# What a date or a timestamp looks like: ISO 8601 with a real time of day (no 24:00) and an
# offset that exists (-14:00 to +14:00), written with or without a space before it (Shopify
# writes '2024-01-01 03:20:00 +0000'). DuckDB also reads words ('epoch', 'infinity') and
# impossible clocks, which must not land as dates.
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
TIMESTAMP_PATTERN = (
    DATE_PATTERN + r"([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?"
    r" ?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?"
)
# The years a business's records may fall in: a record dated year 1 is a broken export, and
# would stretch every weekly series over two thousand years.
FIRST_YEAR, LAST_YEAR = 1970, 2100

ISO_DATE = "%Y-%m-%d"
ISO_TIMESTAMP = "%Y-%m-%d %H:%M:%S"
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%y", "%m/%d/%y")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
SNIFF_SAMPLE = 2000
# what a date in another notation starts with: 05/01/2024, 5.1.24, 2024/01/05
NUMERIC_DATE = r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}"


GENERATED = "(generated)"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


def column_expressions(
    dataset: Dataset,
    mapping: dict[str, ColumnMap],
    source_columns: list[str],
    *,
    where: str,
    decimal: str | None = None,
    date_format: str | None = None,
    timestamp_format: str | None = None,
) -> dict[str, str]:
    """One SQL expression (text) per contract column over the source's columns. A contract
    column with no mapping is read from the source field of its name; a required one that has
    neither is a ``ContractError`` naming ``where``."""
    available = set(source_columns)
    expressions: dict[str, str] = {}
    missing: list[str] = []
    absent: list[str] = []
    for column in dataset.columns:
        spec = mapping.get(column.name)
        if spec is None:
            if column.name in available:
                spec = ColumnMap(column=column.name)
            elif column.nullable and mapping:
                expressions[column.name] = "cast(null as varchar)"
                continue
            else:
                missing.append(column.name)
                continue
        if spec.column is not None and spec.column not in available:
            absent.append(f"{column.name} (from {spec.column!r})")
            continue
        expression = _expression(spec)
        fmt = spec.format or (
            date_format
            if column.type is ColumnType.DATE
            else timestamp_format
            if column.type is ColumnType.TIMESTAMP
            else None
        )
        if fmt and column.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
            expression = reformat(expression, fmt, column.type)
        if decimal == "," and column.type in (ColumnType.NUMBER, ColumnType.INTEGER):
            # 1.234,56 -> 1234.56 (the dot groups thousands where the comma is the decimal mark)
            expression = f"replace(replace(replace(trim({expression}), ' ', ''), '.', ''), ',', '.')"
        expressions[column.name] = expression
    if missing or absent:
        found = ", ".join(_printable(c) for c in source_columns) or "no columns"
        parts = []
        if missing:
            parts.append(f"required column(s) {', '.join(missing)} are missing")
        if absent:
            parts.append(f"mapped field(s) not in the source: {', '.join(absent)}")
        raise ContractError(
            f"{where}: dataset {dataset.name}: {'; '.join(parts)} (found: {found}; see docs/sources.md)"
        )
    return expressions


def _printable(name: str) -> str:
    """A column name as a message may show it: a header cell that is not a name (it holds a
    line break, an @, or is long) is left out — it is data, perhaps a customer's."""
    if len(name) > 60 or "@" in name or any(ch in name for ch in "\r\n\t"):
        return "(a cell that is not a column name)"
    return name


def _expression(spec: ColumnMap) -> str:
    if spec.generated == "row_hash":
        # made once the row's values are typed (connectors.landing.generated_ids); until then a
        # placeholder, so the id is never "empty"
        return f"cast({quote_literal(GENERATED)} as varchar)"
    if "constant" in spec.model_fields_set:
        return f"cast({quote_literal(spec.constant)} as varchar)"
    base = quote_identifier(spec.column) if spec.column is not None else f"cast(({spec.sql}) as varchar)"
    if spec.map:
        cases = " ".join(
            f"when {quote_literal(str(key).strip().lower())} then cast({quote_literal(value)} as varchar)"
            for key, value in spec.map.items()
        )
        fallback = f"cast({quote_literal(spec.otherwise)} as varchar)" if spec.has_otherwise else base
        return f"case lower(trim({base})) {cases} else {fallback} end"
    return base


def reformat(expression: str, fmt: str, kind: ColumnType) -> str:
    """A value in ``fmt`` rewritten in ISO notation; a value that does not fit is kept as it is
    (and rejected by the typing, which quotes it)."""
    iso = ISO_DATE if kind is ColumnType.DATE else ISO_TIMESTAMP
    parsed = f"try_strptime(trim({expression}), {quote_literal(fmt)})"
    return f"coalesce(strftime({parsed}, {quote_literal(iso)}), {expression})"


def format_example(fmt: str, kind: ColumnType) -> str:
    """What a value written in the strptime format ``fmt`` looks like (31/01/2024 for %d/%m/%Y),
    for a message saying which values do not fit it."""
    example = datetime(2024, 1, 31, 14, 5, 9) if kind is ColumnType.TIMESTAMP else datetime(2024, 1, 31)
    try:
        return example.strftime(fmt.replace("%z", "+0000").replace("%Z", "UTC"))
    except ValueError:
        return fmt


def mapping_sql(
    source_table: str,
    expressions: dict[str, str],
    *,
    one_record_per: str | None = None,
) -> str:
    """Select the contract's text columns (and ``_source_row``) from ``source_table``. With
    ``one_record_per``, rows sharing that field's value are one record: the first row's."""
    rows = source_table
    if one_record_per:
        key = f"nullif(trim({quote_identifier(one_record_per)}), '')"
        rows = (
            f"(select * from {source_table} "
            f"qualify row_number() over (partition by coalesce({key}, '#' || _source_row) order by _source_row) = 1)"
        )
    selected = ", ".join(f"{expression} as {quote_identifier(name)}" for name, expression in expressions.items())
    return f"select _source_row, {selected} from {rows}"


# What DuckDB calls each kind of error it raises while binding SQL: an owner reads none of them.
ENGINE_ERROR = re.compile(r"^(?:[A-Z][a-z]+ )+Error: ")


def unevaluable_mapping(
    con: duckdb.DuckDBPyConnection, source_table: str, expressions: dict[str, str], *, where: str
) -> ContractError:
    """What to say when the mapping of ``source_table`` cannot be evaluated: the first contract
    column whose expression DuckDB cannot bind, and the field it lacks (with the fields the
    source has) or DuckDB's reason without its error name."""
    described = con.execute(f"select * from {source_table} limit 0").description
    fields = [column[0] for column in described if column[0] != "_source_row"]
    for column, expression in expressions.items():
        try:
            con.execute(f"select {expression} from {source_table} limit 0")
        except duckdb.Error as exc:
            reason = ENGINE_ERROR.sub("", str(exc).splitlines()[0])
            missing = re.search(r'Referenced column "([^"]*)" not found', reason)
            if missing:
                shown = ", ".join(f'"{name}"' for name in fields[:30]) + (", ..." if len(fields) > 30 else "")
                reason = f'the source has no field "{missing.group(1)}" (its fields: {shown})'
            return ContractError(
                f"{where}: the mapping of {column} in sources.yml cannot be evaluated: {reason}; "
                "correct it (docs/sources.md)"
            )
    return ContractError(
        f"{where}: the column mappings in sources.yml cannot be evaluated together; see docs/sources.md"
    )


def sniff_formats(
    con: duckdb.DuckDBPyConnection, staged: str, dataset: Dataset, *, declared: set[str] = frozenset()
) -> dict[str, str]:
    """For each date or timestamp column whose values are not ISO 8601, the one format among the
    common ones (day/month/year, month/day/year, with 24- or 12-hour clocks) that reads every
    value of a sample. Where two formats both read the sample but disagree (05/01/2024: 5 January
    or 1 May?), none is chosen."""
    found: dict[str, str] = {}
    for column in dataset.columns:
        if column.type not in (ColumnType.DATE, ColumnType.TIMESTAMP) or column.name in declared:
            continue  # the source's declared format wins
        name = quote_identifier(column.name)
        pattern = DATE_PATTERN if column.type is ColumnType.DATE else TIMESTAMP_PATTERN
        sample = [
            row[0]
            for row in con.execute(
                f"select distinct trim({name}) from {staged} where regexp_matches(trim({name}), ?) "
                f"and not regexp_full_match(trim({name}), ?) limit {SNIFF_SAMPLE}",
                [NUMERIC_DATE, pattern],
            ).fetchall()
        ]
        if not sample:
            continue
        candidates = list(DATE_FORMATS)
        if column.type is ColumnType.TIMESTAMP:
            candidates = (
                [f"{d} {t}" for d in DATE_FORMATS for t in TIME_FORMATS]
                + [f"{d} {t} %z" for d in DATE_FORMATS for t in TIME_FORMATS[:2]]
                + candidates
            )
        con.execute("create or replace temp table _sample (v varchar)")
        con.executemany("insert into _sample values (?)", [[v] for v in sample])
        fits = []
        for fmt in candidates:
            parsed = con.execute(
                "select count(*) filter (where try_strptime(v, ?) is null), list(cast(try_strptime(v, ?) as varchar) "
                "order by v) from _sample",
                [fmt, fmt],
            ).fetchone()
            if parsed[0] == 0:
                fits.append((fmt, parsed[1]))
        con.execute("drop table _sample")
        if not fits:
            continue  # the typing rejects each value, quoting it
        if len({tuple(result) for _, result in fits}) > 1:
            # 05/01/2024: 5 January or 1 May? Not guessed: each such value is rejected, quoted,
            # and the source's date_format (or timestamp_format) settles it
            continue
        found[column.name] = fits[0][0]
    return found
