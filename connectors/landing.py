"""Land a source's records into DuckDB's ``raw`` schema: typed, checked, nothing dropped.

Every source — a file, a database table, an API — arrives here as a table of text columns named
as the source names them. It is mapped onto the contract (``connectors.mapping``), typed and
checked in SQL; each record either lands in ``raw.<dataset>`` (with its origin, position and load
time), is identical to the version already held (unchanged), belongs to a record read from an
earlier row (folded: a line item) or is in ``raw.rejected_rows`` with every reason — so
``loaded + unchanged + folded + rejected = records read``, kept per file in ``raw.loaded_files``.
People's identifiers are replaced by a salted hash before anything is written. A record identical
to the latest version of its key already held is not written again, so pulling the same records
twice changes nothing; a changed record lands as the key's new latest version (a refund, a
reopened ticket), which staging keeps.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime

import duckdb
import polars as pl

from connectors.mapping import (
    DATE_PATTERN,
    FIRST_YEAR,
    LAST_YEAR,
    TIMESTAMP_PATTERN,
    column_expressions,
    format_example,
    mapping_sql,
    quote_identifier,
    quote_literal,
    reformat,
    sniff_formats,
    unevaluable_mapping,
)
from connectors.readers import Malformed
from roi_ledger.contract import DATASETS, ColumnType, ContractError, Dataset

TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")


@dataclass(frozen=True)
class Load:
    """What one file or one pull of a source did."""

    source: str
    dataset: str
    source_file: str  # the file, or the source and endpoint a pull read
    content_hash: str | None
    rows_loaded: int  # records written: new, or a new version of a record held
    rows_rejected: int  # records and lines that are no record, each in raw.rejected_rows with its reason
    skipped: bool = False  # a file already loaded in an earlier run
    rows_unchanged: int = 0  # records identical to the latest version already held: not written again
    rows_folded: int = 0  # rows that belong to a record read from an earlier row (line items)

    @property
    def rows_read(self) -> int:
        """Every record the source gave (blank lines are none): each loaded, unchanged, folded or rejected."""
        return self.rows_loaded + self.rows_unchanged + self.rows_folded + self.rows_rejected


def counts_in_words(loaded: int, unchanged: int, folded: int, rejected: int, *, would: bool = False) -> str:
    """A file's accounting as people read it: every record read, and where each went."""
    verb = "would load" if would else "loaded"
    parts = [f"{loaded:,} {verb}"]
    if unchanged:
        parts.append(f"{unchanged:,} unchanged (held already)")
    if folded:
        parts.append(f"{folded:,} folded into an earlier row's record (line items)")
    parts.append(f"{rejected:,} {'would be ' if would else ''}rejected")
    return f"{loaded + unchanged + folded + rejected:,} rows read: {', '.join(parts)}"


# --- the raw schema -------------------------------------------------------------------------

METADATA_COLUMNS = (
    ("_load_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_loaded_at", "TIMESTAMPTZ"),
    # When the export was made, to tell which of two deliveries of a record is the later one
    # (``VERSION_ORDER``): the file's own modification time, and the newest time any of its
    # records carries. A pull's are the time it was pulled.
    ("_export_modified", "TIMESTAMPTZ"),
    ("_export_newest", "TIMESTAMPTZ"),
)
# The versions of one record, latest first: the later export wins, whatever the files are called
# and whichever night brought them — by the file's own time (an export of the few orders changed
# today holds records older than yesterday's full export: its records' times cannot say which
# export is later), then by its newest record where those are equal, then the later load and the
# later row of one file. (Rows landed before exports were dated count as exported when they were
# loaded.) Staging keeps the first (dbt_project/macros/staging_history.sql, ``latest_version_first``:
# a test keeps the two equal).
VERSION_ORDER = (
    "coalesce(_export_modified, _loaded_at) desc, coalesce(_export_newest, _loaded_at) desc, "
    "_loaded_at desc, _source_row desc"
)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``raw`` and every dataset table, so downstream models work when a dataset is absent."""
    con.execute("create schema if not exists raw")
    for dataset in DATASETS.values():
        columns = [f"{c.name} {c.type.value}" for c in dataset.columns]
        columns += [f"{name} {kind}" for name, kind in METADATA_COLUMNS]
        con.execute(f"create table if not exists raw.{dataset.name} ({', '.join(columns)})")
        for name, kind in METADATA_COLUMNS:  # a warehouse from before a column was kept
            con.execute(f"alter table raw.{dataset.name} add column if not exists {name} {kind}")
    con.execute(
        """
        create table if not exists raw.rejected_rows (
            _load_id varchar, dataset varchar, source_file varchar, source_row bigint,
            reason varchar, record json, _loaded_at timestamptz
        )
        """
    )
    con.execute(
        """
        create table if not exists raw.loaded_files (
            _load_id varchar, dataset varchar, source_file varchar, content_hash varchar,
            rows_loaded bigint, rows_rejected bigint, _loaded_at timestamptz,
            rows_unchanged bigint, rows_folded bigint, rows_read bigint
        )
        """
    )
    for column in ("rows_unchanged", "rows_folded", "rows_read"):  # a warehouse from before they were kept
        con.execute(f"alter table raw.loaded_files add column if not exists {column} bigint")
    # where each pulled source stopped: the next night asks only for what came after
    con.execute(
        """
        create table if not exists raw.source_cursors (
            source varchar, cursor_field varchar, cursor_value varchar, _load_id varchar,
            _loaded_at timestamptz
        )
        """
    )


def last_cursor(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    row = con.execute(
        "select cursor_value from raw.source_cursors where source = ? order by _loaded_at desc limit 1", [source]
    ).fetchone()
    return row[0] if row else None


def remember_cursor(con, source: str, field: str, value: str, *, load_id: str, loaded_at: datetime) -> None:
    con.execute("insert into raw.source_cursors values (?, ?, ?, ?, ?)", [source, field, value, load_id, loaded_at])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One file or one pull lands whole or not at all: its rows, its rejected rows, its
    ``raw.loaded_files`` row and its cursor commit together. Committing each file on its own keeps
    DuckDB's uncommitted state to one file's rows (a first load of years of history is many files);
    a run that fails part-way leaves the earlier files landed only in its build file, which is
    discarded, and the next run skips nothing it has not published."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


# --- typing and checking rows, in SQL ---------------------------------------------------------


def _typed_expression(column: str, kind: ColumnType) -> str:
    """The value of the text column ``column`` as ``kind``, null when it cannot be read. A date or
    timestamp reads the column ``_cast_<column>`` of :func:`_cast_expression` as well."""
    text = f"nullif(trim({column}), '')"
    if kind is ColumnType.TEXT:
        return text
    if kind is ColumnType.BOOLEAN:
        true_words = ", ".join(map(quote_literal, TRUE_WORDS))
        false_words = ", ".join(map(quote_literal, FALSE_WORDS))
        return (
            f"case when lower({text}) in ({true_words}) then true when lower({text}) in ({false_words}) then false end"
        )
    if kind is ColumnType.INTEGER:
        # '4.0' is a whole number; '4.5' is not
        number = f"try_cast({text} as double)"
        return f"case when isfinite({number}) and {number} = round({number}) then try_cast({number} as bigint) end"
    if kind is ColumnType.NUMBER:
        # NaN sorts above every number and Inf passes '>= 0': neither is a measurement
        return f"case when isfinite(try_cast({text} as double)) then try_cast({text} as double) end"
    pattern = DATE_PATTERN if kind is ColumnType.DATE else TIMESTAMP_PATTERN
    value = f"_cast_{column}"
    # In the years FIRST_YEAR to LAST_YEAR of the session's timezone: compared with the first
    # instants of those years, which DuckDB reads once, rather than by the year of every value
    # (a calendar computation per row for a timestamp with time zone)
    return (
        f"case when regexp_full_match({text}, {quote_literal(pattern)}) "
        f"and {value} >= cast('{FIRST_YEAR}-01-01' as {kind.value}) "
        f"and {value} < cast('{LAST_YEAR + 1}-01-01' as {kind.value}) then {value} end"
    )


def _cast_expression(column: str, kind: ColumnType) -> str:
    """A date or timestamp column's text cast once, as ``_cast_<column>``: a case that named the
    cast in its test and in its result had DuckDB cast every value twice (one timestamp column of
    2M orders took 2 s of the file's 6 s of typing)."""
    text = f"nullif(trim({column}), '')"
    if kind is ColumnType.DATE:
        return f"try_cast({text} as {kind.value}) as _cast_{column}"
    # DuckDB reads '+0000' but not ' +0000': the space before an offset goes (the regular
    # expression only where a space comes before a Z, + or -, which most exports never write)
    spaced = " or ".join(f"contains({text}, ' {sign}')" for sign in "Z+-")
    readable = rf"case when {spaced} then regexp_replace({text}, ' (Z|[+-]\d\d(:?\d\d)?)$', '\1') else {text} end"
    return f"try_cast({readable} as {kind.value}) as _cast_{column}"


_TYPE_WORDS = {
    ColumnType.TIMESTAMP: f"a timestamp (YYYY-MM-DD HH:MM[:SS][+HH:MM], years {FIRST_YEAR}-{LAST_YEAR})",
    ColumnType.DATE: f"a date (YYYY-MM-DD, years {FIRST_YEAR}-{LAST_YEAR})",
    ColumnType.NUMBER: "a finite number",
    ColumnType.INTEGER: "a whole number",
    ColumnType.BOOLEAN: "true or false",
}


# A text value longer than this is no identifier, name or status: a broken export, or a document
# pasted into a cell. Its row is rejected, and keeps only the value's first characters.
MAX_TEXT_CHARACTERS = 200
# Characters that show as nothing or reorder what is shown (Unicode format characters people meet
# in exports): zero-width spaces and joiners, direction marks and embeddings, word joiners, the
# byte-order mark, the soft hyphen.
INVISIBLE = r"[\x{00AD}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}]"


def shown(text: str, *, key: bool = False) -> str:
    """SQL: a value as a rejected row's reason and record may keep it. What looks like a person's
    e-mail address or phone number (data in the wrong column) is described, never kept; a value
    too long to be one is cut. A key's long digit strings are ids, not phone numbers."""
    digits = f"length(regexp_replace({text}, '[^0-9]', '', 'g'))"
    phone = f"regexp_full_match({text}, '[+(]?[0-9][0-9 ().-]*[0-9]') and {digits} >= 9"
    return (
        f"case when regexp_matches({text}, '[^@[:space:]]@[^@[:space:]]') then '(an e-mail address, not kept)' "
        + ("" if key else f"when {phone} then '(a phone number, not kept)' ")
        + f"when length({text}) > {MAX_TEXT_CHARACTERS} then left({text}, 40) || '… ('"
        f" || length({text}) || ' characters)' else {text} end"
    )


def typing_sql(dataset: Dataset, staged: str, formats: dict[str, str] | None = None) -> str:
    """SQL selecting typed columns and a ``_reason`` (null when the row is fine) from ``staged``;
    a date column read in one of ``formats`` (declared or sniffed) names it in its reason."""
    formats = formats or {}
    typed = [f"{_typed_expression(c.name, c.type)} as {c.name}" for c in dataset.columns]
    reasons: list[str] = []
    for c in dataset.columns:
        text = f"nullif(trim(t._text_{c.name}), '')"
        if not c.nullable:
            reasons.append(f"case when {text} is null then '{c.name} is empty' end")
        if c.type is ColumnType.TEXT:
            # a tab, line break or NUL inside a value: an id made of tabs, or a broken export
            reasons.append(
                f"case when regexp_matches(t._text_{c.name}, '[[:cntrl:]]') then "
                f"'{c.name} contains a control character (a tab, line break or NUL byte)' end"
            )
            # zero-width, byte-order and direction marks: invisible, so two ids that differ only by
            # them look the same (and a right-to-left mark can reorder what a reader sees)
            reasons.append(
                f"case when regexp_matches(t._text_{c.name}, '{INVISIBLE}') then "
                f"'{c.name} contains an invisible or text-direction character (zero-width space, "
                "byte-order or right-to-left mark)' end"
            )
            reasons.append(
                f"case when length(t._text_{c.name}) > {MAX_TEXT_CHARACTERS} then "
                f"'{c.name} is longer than {MAX_TEXT_CHARACTERS} characters (' || length(t._text_{c.name}) || ')' end"
            )
        elif c.pseudonymise:
            reasons.append(f"case when {text} is not null and t.{c.name} is null then '{c.name} cannot be read' end")
        else:
            expected = _TYPE_WORDS[c.type]
            if c.name in formats:  # what the values look like beside what the format expects
                fmt = formats[c.name]
                expected = f"{expected} or in the format {fmt} (like {format_example(fmt, c.type)})"
            reasons.append(
                f"case when {text} is not null and t.{c.name} is null then "
                f"'{c.name}: cannot read \"' || {shown(text)} || '\" as ' || {quote_literal(expected)} end"
            )
        if c.check:
            predicate = _scope(c.check, "v", f"t.{c.name}")
            reasons.append(
                f"case when t.{c.name} is not null and not ({predicate}) then "
                f"'{c.name} ' || cast(t.{c.name} as varchar) || ' {c.check_reason}' end"
            )
    for predicate, reason in dataset.row_rules:
        scoped = predicate
        for c in dataset.columns:
            scoped = _scope(scoped, c.name, f"t.{c.name}")
        reasons.append(f"case when not coalesce({scoped}, true) then {quote_literal(reason)} end")
    reason_list = ", ".join(reasons)
    casts = [
        _cast_expression(c.name, c.type) for c in dataset.columns if c.type in (ColumnType.DATE, ColumnType.TIMESTAMP)
    ]
    # One pass over the rows, no join: the typed values and the text they came from side by side.
    return f"""
        select t.*, nullif(concat_ws('; ', {reason_list}), '') as _reason
        from (
            select _source_row, {", ".join(typed)}, {", ".join(f"{c.name} as _text_{c.name}" for c in dataset.columns)}
            from (select *{"".join(f", {cast}" for cast in casts)} from {staged})
        ) as t
    """


def _scope(predicate: str, name: str, replacement: str) -> str:
    """Replace the identifier ``name`` (not inside another word) in a SQL predicate."""
    return re.sub(rf"(?<![\w.']){re.escape(name)}(?![\w'])", replacement, predicate)


# --- landing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """How a source's fields become the contract's columns (``connectors.sources`` fields)."""

    columns: dict
    one_record_per: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    timestamp_format: str | None = None

    @classmethod
    def of(cls, source) -> Mapping:
        return cls(
            columns=dict(source.columns),
            one_record_per=source.one_record_per,
            decimal=source.decimal,
            date_format=source.date_format,
            timestamp_format=source.timestamp_format,
        )


IDENTITY = Mapping(columns={})


def stage(con: duckdb.DuckDBPyConnection, columns: list[str], batches: Iterable[pl.DataFrame]) -> int:
    """Copy a source's text records into the temp table ``source_rows``; the number of rows."""
    definition = ", ".join(f"{quote_identifier(c)} varchar" for c in columns)
    con.execute(f"create or replace temp table source_rows ({definition}{', ' if columns else ''}_source_row bigint)")
    for batch in batches:
        con.register("source_batch", batch.to_arrow())
        try:
            con.execute("insert into source_rows by name select * from source_batch")
        finally:
            con.unregister("source_batch")
    return con.execute("select count(*) from source_rows").fetchone()[0]


def land_staged(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    columns: list[str],
    mapping: Mapping,
    *,
    source: str,
    origin: str,
    where: str,
    malformed: list[Malformed],
    load_id: str,
    loaded_at: datetime,
    salt: str | None,
    content_hash: str | None = None,
    own_transaction: bool = False,
    modified_at: datetime | None = None,
) -> Load:
    """Map, type, check and land the records of ``source_rows``. The mapping, typing and checks
    work on temporary tables of this connection; what is written to ``raw`` is written together —
    in a transaction of its own with ``own_transaction`` (a file), else inside the caller's (a
    pull, whose cursor moves with its rows). Typing a file's rows into a temporary table inside a
    transaction takes twice as long in DuckDB as outside one (13 s against 6 s for 2M orders).
    ``modified_at`` is a file's own modification time (``VERSION_ORDER``); a pull has none."""
    _map_onto_contract(con, dataset, columns, mapping, where=where)
    formats = _read_sniffed_formats(con, dataset, mapping)
    _normalise_units(con)
    folded = con.execute("select (select count(*) from source_rows) - (select count(*) from staged)").fetchone()[0]
    _type_and_check(con, dataset, mapping, where=where, salt=salt, formats=formats)
    _find_unchanged(con, dataset)
    with transaction(con) if own_transaction else nullcontext():
        load = _write(
            con,
            dataset,
            Load(source, dataset.name, origin, content_hash, 0, 0, rows_folded=folded),
            malformed,
            load_id=load_id,
            loaded_at=loaded_at,
            exported=_export_time(con, dataset, loaded_at, modified_at),
        )
    for table in ("checked", "unchanged"):
        con.execute(f"drop table {table}")
    return load


def _map_onto_contract(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, columns: list[str], mapping: Mapping, *, where: str
) -> None:
    """The temp table ``staged``: ``source_rows`` mapped onto the contract's columns, still text
    (line items folded into one record per ``one_record_per``)."""
    expressions = column_expressions(
        dataset,
        mapping.columns,
        columns,
        where=where,
        decimal=mapping.decimal,
        date_format=mapping.date_format,
        timestamp_format=mapping.timestamp_format,
    )
    if mapping.one_record_per and mapping.one_record_per not in columns:
        raise ContractError(f"{where}: one_record_per names {mapping.one_record_per!r}, which the source does not have")
    mapped = mapping_sql("source_rows", expressions, one_record_per=mapping.one_record_per)
    try:
        con.execute(f"create or replace temp table staged as {mapped}")
    except (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException):
        raise unevaluable_mapping(con, "source_rows", expressions, where=where) from None


def _read_sniffed_formats(con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping) -> dict[str, str]:
    """A date column in another notation than ISO (05/01/2024) is read in the one common format
    that reads all of it; the declared format wins where there is one. The format of each date
    column read in one, declared or sniffed."""
    declared = {name: spec.format for name, spec in mapping.columns.items() if spec.format}
    for c in dataset.columns:
        fmt = mapping.date_format if c.type is ColumnType.DATE else None
        fmt = mapping.timestamp_format if c.type is ColumnType.TIMESTAMP else fmt
        if fmt and c.name not in declared:
            declared[c.name] = fmt
    sniffed = sniff_formats(con, "staged", dataset, declared=set(declared))
    for name, fmt in sniffed.items():
        column = quote_identifier(name)
        con.execute(f"update staged set {column} = {reformat(column, fmt, dataset.column(name).type)}")
    return declared | sniffed


def _normalise_units(con: duckdb.DuckDBPyConnection) -> None:
    """Units in their NFKC form, as the register reads them (``roi_ledger.register``): a unit
    written with full-width or other compatibility characters (``ｓｈｏｐ_ｎｏｒｔｈ``) is the unit
    the register names, not a second one that looks like it. Only the few distinct values that
    are not plain ASCII are read into Python (DuckDB has no NFKC)."""
    odd = [
        value
        for (value,) in con.execute(
            "select distinct unit_id from staged where unit_id is not null and not regexp_full_match(unit_id, '[ -~]*')"
        ).fetchall()
        if unicodedata.normalize("NFKC", value) != value
    ]
    if odd:
        pairs = pl.DataFrame({"raw": odd, "normal": [unicodedata.normalize("NFKC", v) for v in odd]})
        con.register("unit_forms", pairs.to_arrow())
        try:
            con.execute("update staged set unit_id = f.normal from unit_forms as f where staged.unit_id = f.raw")
        finally:
            con.unregister("unit_forms")


def _type_and_check(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    *,
    where: str,
    salt: str | None,
    formats: dict[str, str],
) -> None:
    """The temp table ``checked``: ``staged`` typed, each row with its ``_reason``, people's
    identifiers hashed and generated ids made; ``staged`` and ``source_rows`` are dropped."""
    pseudonymised = [c.name for c in dataset.columns if c.pseudonymise]
    if pseudonymised and salt is None:
        any_id = " or ".join(f"{c} is not null" for c in pseudonymised)
        has_ids = con.execute(f"select count(*) from ({typing_sql(dataset, 'staged')}) where {any_id}").fetchone()[0]
        if has_ids:
            raise ContractError(
                f"{where}: {', '.join(pseudonymised)} must be pseudonymised, but ROI_PSEUDONYM_SALT "
                "is not set (set it to a long random secret and keep it stable across runs)"
            )
    # People's identifiers are hashed as the rows are typed (one pass; an UPDATE of every row
    # would hold the old values of a whole file in memory): the value and the text kept for a
    # rejected row alike. An identifier that cannot be read keeps its text for the rejection.
    select, params = typing_sql(dataset, "staged", formats), None
    if pseudonymised and salt is not None:
        # hashed once: the rejected row's text is the hash where the value could be read
        hashed = ", ".join(f"sha256($salt || {c}) as {c}" for c in pseudonymised)
        kept_text = ", ".join(f"coalesce({c}, _text_{c}) as _text_{c}" for c in pseudonymised)
        select, params = (
            f"select * replace ({kept_text}) from (select * replace ({hashed}) from ({select}))",
            {"salt": salt},
        )
    select = generated_ids(select, dataset, mapping, where=where)
    con.execute(f"create or replace temp table checked as {select}", params)
    for table in ("staged", "source_rows"):  # all in checked now: their memory is the file's next steps'
        con.execute(f"drop table {table}")


def generated_ids(select: str, dataset: Dataset, mapping: Mapping, *, where: str) -> str:
    """``select`` with each generated id (``generated: row_hash``) made from the record's identity:
    the hash of its typed identity values and of how many good rows of the file with the same
    values came before it. The same record keeps its id when it is exported again with other
    columns changed (an invoiced flag, a rate), or in another format (a date cell, "1.50" for
    "1.5"): the values are compared as typed, timestamps as instants."""
    generated = {name: spec for name, spec in mapping.columns.items() if spec.generated}
    replaced = []
    for name, spec in generated.items():
        identity = spec.of or [c for c in dataset.column_names if c not in generated]
        unknown = sorted(set(identity) - set(dataset.column_names) | set(identity) & set(generated))
        if unknown:
            others = ", ".join(c for c in dataset.column_names if c != name)
            raise ContractError(
                f"{where}: {name}'s identity (of:) names {', '.join(unknown)}, which is not one of the "
                f"{dataset.name} columns it can be made from ({others})"
            )
        parts = ", ".join(_canonical(dataset.column(c)) for c in identity)
        values = f"concat_ws(chr(31), {parts})"
        occurrence = f"row_number() over (partition by {values}, _reason is null order by _source_row)"
        replaced.append(f"substr(sha256({values} || chr(30) || cast({occurrence} as varchar)), 1, 32) as {name}")
    return f"select * replace ({', '.join(replaced)}) from ({select})" if replaced else select


def _canonical(column) -> str:
    """A typed value as text that does not depend on the session: an instant as epoch microseconds."""
    value = f"epoch_us({column.name})" if column.type is ColumnType.TIMESTAMP else column.name
    return f"coalesce(cast({value} as varchar), '')"


def _find_unchanged(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> None:
    """The temp table ``unchanged``: the rows of ``checked`` equal to the latest version of their
    key already held, which are not written again."""
    names = dataset.column_names
    key = list(dataset.key)
    same_key = " and ".join(f"l.{k} = c.{k}" for k in key)
    same_content = " and ".join(f"l.{c} is not distinct from c.{c}" for c in names)
    latest_first = f"partition by {', '.join(f'r.{k}' for k in key)} order by {VERSION_ORDER}"
    # The latest version of each key this source sends again; a record equal to it is held already.
    con.execute(
        f"""
        create or replace temp table unchanged as
        select c._source_row from checked as c
        join (
            select r.* from raw.{dataset.name} as r
            semi join (select distinct {", ".join(key)} from checked where _reason is null) as k
                on {" and ".join(f"r.{k} = k.{k}" for k in key)}
            qualify row_number() over ({latest_first}) = 1
        ) as l on {same_key} and {same_content}
        where c._reason is null
        """
    )


def _export_time(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, loaded_at: datetime, modified_at: datetime | None
) -> tuple[datetime, datetime]:
    """When the export in ``checked`` was made (``VERSION_ORDER``): the file's modification time
    and the newest time its good records carry; a pull's are the time it was pulled."""
    if modified_at is None:
        return loaded_at, loaded_at
    times = [
        f"cast({c.name} as timestamptz)" for c in dataset.columns if c.type in (ColumnType.TIMESTAMP, ColumnType.DATE)
    ]
    newest = con.execute(f"select max(greatest({', '.join(times)})) from checked where _reason is null").fetchone()[0]
    return modified_at, newest or modified_at


def _write(
    con,
    dataset: Dataset,
    load: Load,
    malformed: list[Malformed],
    *,
    load_id: str,
    loaded_at: datetime,
    exported: tuple[datetime, datetime],
) -> Load:
    """The checked rows into ``raw.<dataset>`` (less those held already), the rejected ones into
    ``raw.rejected_rows``, and the load into ``raw.loaded_files``: ``load`` with its counts."""
    origin = load.source_file
    names = dataset.column_names
    column_list = ", ".join(names)
    con.execute(
        f"""
        insert into raw.{dataset.name}
            ({column_list}, _load_id, _source_file, _source_row, _loaded_at, _export_modified, _export_newest)
        select {column_list}, ?, ?, _source_row, ?, ?, ? from checked
        where _reason is null and _source_row not in (select _source_row from unchanged)
        order by _source_row
        """,
        [load_id, origin, loaded_at, *exported],
    )
    record = ", ".join(f"{quote_literal(c)}, {shown(f'_text_{c}', key=c in dataset.key)}" for c in names)
    # The rejected record keeps the text as received, so the owner can see what was wrong;
    # identifiers of people are already hashed, and what looks like one in another column is
    # described instead (``shown``).
    con.execute(
        f"""
        insert into raw.rejected_rows
        select ?, ?, ?, _source_row, _reason, json_object({record}), ?
        from checked where _reason is not null order by _source_row
        """,
        [load_id, dataset.name, origin, loaded_at],
    )
    # A line that is no record keeps its number and reason, not its text: it may hold a
    # customer's name or address in fields that are never loaded.
    if malformed:
        con.executemany(
            "insert into raw.rejected_rows values (?, ?, ?, ?, ?, json_object('fields', ?, 'characters', ?), ?)",
            [[load_id, dataset.name, origin, m.row, m.reason, m.fields, m.characters, loaded_at] for m in malformed],
        )
    accepted, rejected = con.execute(
        "select count(*) filter (where _reason is null), count(*) filter (where _reason is not null) from checked"
    ).fetchone()
    unchanged = con.execute("select count(*) from unchanged").fetchone()[0]
    load = replace(
        load, rows_loaded=accepted - unchanged, rows_unchanged=unchanged, rows_rejected=rejected + len(malformed)
    )
    con.execute(
        "insert into raw.loaded_files by name select ? as _load_id, ? as dataset, ? as source_file, ? as content_hash, "
        "? as rows_loaded, ? as rows_rejected, ? as _loaded_at, ? as rows_unchanged, ? as rows_folded, ? as rows_read",
        [
            load_id,
            dataset.name,
            origin,
            load.content_hash,
            load.rows_loaded,
            load.rows_rejected,
            loaded_at,
            load.rows_unchanged,
            load.rows_folded,
            load.rows_read,
        ],
    )
    return load
