"""Land CSV and Parquet files of the data contract into DuckDB's ``raw`` schema.

Every row of a new file either lands in ``raw.<dataset>`` (typed, with its source file, row
number and load time) or in ``raw.rejected_rows`` with the reason — nothing is dropped. A file
whose content was loaded before (same SHA-256) is skipped, so re-running a night is harmless.
Only contract columns are read; people's identifiers are replaced by a salted hash in SQL
before anything is written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from roi_ledger.contract import (
    DATASETS,
    FILE_SUFFIXES,
    ColumnType,
    ContractError,
    DataInventory,
    Dataset,
)

TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")


@dataclass(frozen=True)
class FileLoad:
    dataset: str
    source_file: str
    content_hash: str
    rows_loaded: int
    rows_rejected: int
    skipped: bool  # already loaded in an earlier run


def discover_files(data_dir: Path) -> dict[str, list[Path]]:
    """Map each dataset present in ``data_dir`` to its files (``orders.csv``, ``orders/``...),
    in the order they land: a dataset's own file first, then its folder's files by name.

    A data file must be a regular file inside the data folder: a pipe or device named like
    one is refused (it would hang or be skipped without a word), and so is a link to a file
    elsewhere, which is never read (it could point at any file on the machine)."""
    if not data_dir.is_dir():
        raise ContractError(f"{data_dir}: data directory not found")
    root = data_dir.resolve()
    found: dict[str, list[Path]] = {}
    for name in DATASETS:
        candidates = [data_dir / f"{name}{suffix}" for suffix in FILE_SUFFIXES]
        folder = data_dir / name
        if folder.is_dir():
            candidates += sorted(f for f in folder.iterdir() if f.suffix in FILE_SUFFIXES)
        files = [f for f in candidates if _is_data_file(f, root)]
        if files:
            found[name] = files
    return found


def _is_data_file(path: Path, root: Path) -> bool:
    if not path.exists() and not path.is_symlink():
        return False
    if path.is_symlink() and not path.resolve().is_relative_to(root):
        raise ContractError(f"{path}: is a link to a file outside the data folder; copy the file into the folder instead")
    if not path.is_file():
        raise ContractError(f"{path}: is not a regular file (a pipe, a device or a folder?); data files must be CSV or Parquet files")
    return True


def unreadable(path: Path, exc: Exception) -> ContractError:
    """A message for a file that cannot be read, which never quotes the file: a reader's own
    error often does (a line holding a customer's e-mail address), and messages end up in logs.
    Only a line number it names is kept."""
    where = re.search(r"\b(?:line|row)\s+(\d+)", str(exc))
    kind = "Parquet" if path.suffix == ".parquet" else "CSV (comma-separated, UTF-8, one header row)"
    at = f" near line {where.group(1)}" if where else ""
    return ContractError(f"{path}: cannot read the file as {kind}{at} ({type(exc).__name__}); see docs/data-contract.md")


def file_schema(path: Path) -> dict[str, pl.DataType]:
    """The file's columns and (for Parquet) their types; CSV columns are text."""
    try:
        if path.suffix == ".parquet":
            return dict(pl.read_parquet_schema(path))
        columns = pl.read_csv(path, n_rows=0, infer_schema=False).columns
    except Exception as exc:  # polars raises several types for unreadable files
        raise unreadable(path, exc) from None
    # polars renames a repeated header name to <name>_duplicated_<n>: which of the two
    # columns holds the data would be a guess
    repeated = sorted({m.group(1) for c in columns if (m := DUPLICATED.fullmatch(c)) and m.group(1) in columns})
    if repeated:
        raise ContractError(f"{path}: the header names column(s) {', '.join(repeated)} more than once; keep one of each")
    return dict.fromkeys(columns, pl.String())


DUPLICATED = re.compile(r"(.+)_duplicated_\d+")


def check_columns(dataset: Dataset, path: Path) -> None:
    schema = file_schema(path)
    missing = [c for c in dataset.column_names if c not in schema]
    if missing:
        raise ContractError(
            f"{path}: dataset {dataset.name} is missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(schema) or 'no columns'}; see docs/data-contract.md)"
        )
    nested = [c for c in dataset.column_names if schema[c].is_nested() or schema[c] == pl.Binary]
    if nested:
        raise ContractError(
            f"{path}: column(s) {', '.join(nested)} hold lists, structures or binary data, not single values "
            "(one value per cell is expected; see docs/data-contract.md)"
        )


def _scan(path: Path, columns: list[str]) -> pl.LazyFrame:
    if path.suffix == ".parquet":
        return pl.scan_parquet(path).select(columns)
    return pl.scan_csv(path, infer_schema=False).select(columns)


def read_as_text(dataset: Dataset, path: Path) -> pl.DataFrame:
    """The contract columns of a file as text, with ``_source_row`` (1 = first data row).
    A line with no value at all (a blank line) is no record and is left out; the others keep
    their position."""
    check_columns(dataset, path)
    columns = dataset.column_names
    try:
        frame = _scan(path, columns).with_columns(pl.col(c).cast(pl.String) for c in columns).collect()
    except Exception as exc:
        raise unreadable(path, exc) from None
    numbered = frame.with_row_index("_source_row", offset=1).with_columns(pl.col("_source_row").cast(pl.Int64))
    # empty as the typing reads it: nothing but spaces (a tab is a value, and is rejected)
    blank = pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.strip_chars(" ") == "") for c in columns)
    return numbered.filter(~blank)


def inventory(data_dir: Path) -> DataInventory:
    """Check every file's columns and collect units, activities and KPI names — no writes."""
    found = discover_files(data_dir)
    result = DataInventory(files=found)
    for name, paths in found.items():
        dataset = DATASETS[name]
        for path in paths:
            check_columns(dataset, path)
            wanted = ["unit_id"] + (["activity"] if name == "hours" else []) + (["metric"] if name == "kpis" else [])
            try:  # streamed: only the distinct values are held, however large the file
                frame = _scan(path, wanted).cast(pl.String).unique().collect(engine="streaming")
            except Exception as exc:
                raise unreadable(path, exc) from None
            result.units.update(u.strip() for u in frame["unit_id"].drop_nulls() if u.strip())
            if name == "hours":
                values = {a.strip() for a in frame["activity"].drop_nulls() if a.strip()}
                result.split_values.setdefault("activity", set()).update(values)
            if name == "kpis":
                result.kpi_metrics.update(m.strip() for m in frame["metric"].drop_nulls() if m.strip())
    return result


# --- the raw schema -------------------------------------------------------------------------

METADATA_COLUMNS = (
    ("_load_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_loaded_at", "TIMESTAMPTZ"),
)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``raw`` and every dataset table, so downstream models work when a dataset is absent."""
    con.execute("create schema if not exists raw")
    for dataset in DATASETS.values():
        columns = [f"{c.name} {c.type.value}" for c in dataset.columns]
        columns += [f"{name} {kind}" for name, kind in METADATA_COLUMNS]
        con.execute(f"create table if not exists raw.{dataset.name} ({', '.join(columns)})")
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
            rows_loaded bigint, rows_rejected bigint, _loaded_at timestamptz
        )
        """
    )


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- typing and checking rows, in SQL ---------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# What a date or a timestamp looks like: ISO 8601 with a real time of day (no 24:00) and an
# offset that exists (-14:00 to +14:00). DuckDB also reads words ('epoch', 'infinity') and
# impossible clocks, which must not land as dates.
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
TIMESTAMP_PATTERN = (
    DATE_PATTERN + r"([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?"
    r"(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?"
)
# The years a business's records may fall in: a record dated year 1 is a broken export, and
# would stretch every weekly series over two thousand years.
FIRST_YEAR, LAST_YEAR = 1970, 2100


def _typed_expression(column: str, kind: ColumnType) -> str:
    text = f"nullif(trim({column}), '')"
    if kind is ColumnType.TEXT:
        return text
    if kind is ColumnType.BOOLEAN:
        true_words = ", ".join(map(_quote, TRUE_WORDS))
        false_words = ", ".join(map(_quote, FALSE_WORDS))
        return (
            f"case when lower({text}) in ({true_words}) then true "
            f"when lower({text}) in ({false_words}) then false end"
        )
    if kind is ColumnType.INTEGER:
        # '4.0' is a whole number; '4.5' is not
        number = f"try_cast({text} as double)"
        return f"case when isfinite({number}) and {number} = round({number}) then try_cast({number} as bigint) end"
    if kind is ColumnType.NUMBER:
        # NaN sorts above every number and Inf passes '>= 0': neither is a measurement
        return f"case when isfinite(try_cast({text} as double)) then try_cast({text} as double) end"
    pattern = DATE_PATTERN if kind is ColumnType.DATE else TIMESTAMP_PATTERN
    value = f"try_cast({text} as {kind.value})"
    return (
        f"case when regexp_full_match({text}, {_quote(pattern)}) "
        f"and year({value}) between {FIRST_YEAR} and {LAST_YEAR} then {value} end"
    )


_TYPE_WORDS = {
    ColumnType.TIMESTAMP: f"a timestamp (YYYY-MM-DD HH:MM[:SS][+HH:MM], years {FIRST_YEAR}-{LAST_YEAR})",
    ColumnType.DATE: f"a date (YYYY-MM-DD, years {FIRST_YEAR}-{LAST_YEAR})",
    ColumnType.NUMBER: "a finite number",
    ColumnType.INTEGER: "a whole number",
    ColumnType.BOOLEAN: "true or false",
}


def typing_sql(dataset: Dataset, staged: str) -> str:
    """SQL selecting typed columns and a ``_reason`` (null when the row is fine) from ``staged``."""
    typed = [f"{_typed_expression(c.name, c.type)} as {c.name}" for c in dataset.columns]
    reasons: list[str] = []
    for c in dataset.columns:
        text = f"nullif(trim(s.{c.name}), '')"
        if not c.nullable:
            reasons.append(f"case when {text} is null then '{c.name} is empty' end")
        if c.type is ColumnType.TEXT:
            # a tab, line break or NUL inside a value: an id made of tabs, or a broken export
            reasons.append(
                f"case when regexp_matches(s.{c.name}, '[[:cntrl:]]') then "
                f"'{c.name} contains a control character (a tab, line break or NUL byte)' end"
            )
        elif c.pseudonymise:
            reasons.append(f"case when {text} is not null and t.{c.name} is null then '{c.name} cannot be read' end")
        else:
            reasons.append(
                f"case when {text} is not null and t.{c.name} is null then "
                f"'{c.name}: cannot read \"' || {text} || '\" as {_TYPE_WORDS[c.type]}' end"
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
        reasons.append(f"case when not coalesce({scoped}, true) then {_quote(reason)} end")
    reason_list = ", ".join(reasons)
    return f"""
        with typed as (
            select _source_row, {', '.join(typed)} from {staged}
        )
        select t.*, {', '.join(f's.{c.name} as _text_{c.name}' for c in dataset.columns)},
            nullif(concat_ws('; ', {reason_list}), '') as _reason
        from typed as t
        join {staged} as s using (_source_row)
    """


def _scope(predicate: str, name: str, replacement: str) -> str:
    """Replace the identifier ``name`` (not inside another word) in a SQL predicate."""
    return re.sub(rf"(?<![\w.']){re.escape(name)}(?![\w'])", replacement, predicate)


def land_file(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    path: Path,
    *,
    load_id: str,
    loaded_at: datetime,
    salt: str | None,
) -> FileLoad:
    """Land one file (inside the caller's transaction). Skips content loaded before."""
    content_hash = file_hash(path)
    already = con.execute(
        "select count(*) from raw.loaded_files where dataset = ? and content_hash = ?",
        [dataset.name, content_hash],
    ).fetchone()[0]
    if already:
        return FileLoad(dataset.name, str(path), content_hash, 0, 0, skipped=True)

    staged = read_as_text(dataset, path)
    con.register("staged_file", staged.to_arrow())
    try:
        con.execute(f"create or replace temp table checked as {typing_sql(dataset, 'staged_file')}")
    finally:
        con.unregister("staged_file")

    pseudonymised = [c.name for c in dataset.columns if c.pseudonymise]
    if pseudonymised and salt is None:
        has_ids = con.execute(
            f"select count(*) from checked where {' or '.join(f'{c} is not null' for c in pseudonymised)}"
        ).fetchone()[0]
        if has_ids:
            raise ContractError(
                f"{path}: {', '.join(pseudonymised)} must be pseudonymised, but ROI_PSEUDONYM_SALT "
                "is not set (set it to a long random secret and keep it stable across runs)"
            )
    for column in pseudonymised:
        con.execute(
            f"update checked set {column} = sha256(? || {column}), _text_{column} = sha256(? || {column}) "
            f"where {column} is not null",
            [salt, salt],
        )

    columns = ", ".join(dataset.column_names)
    metadata = [load_id, str(path), loaded_at]
    con.execute(
        f"""
        insert into raw.{dataset.name} ({columns}, _load_id, _source_file, _source_row, _loaded_at)
        select {columns}, ?, ?, _source_row, ? from checked where _reason is null
        order by _source_row
        """,
        metadata,
    )
    record = ", ".join(f"{_quote(c)}, _text_{c}" for c in dataset.column_names)
    # The rejected record keeps the text as received, so the owner can see what was wrong;
    # identifiers of people are already hashed.
    con.execute(
        f"""
        insert into raw.rejected_rows
        select ?, ?, ?, _source_row, _reason, json_object({record}), ?
        from checked where _reason is not null order by _source_row
        """,
        [load_id, dataset.name, str(path), loaded_at],
    )
    loaded, rejected = con.execute(
        "select count(*) filter (where _reason is null), count(*) filter (where _reason is not null) from checked"
    ).fetchone()
    con.execute(
        "insert into raw.loaded_files values (?, ?, ?, ?, ?, ?, ?)",
        [load_id, dataset.name, str(path), content_hash, loaded, rejected, loaded_at],
    )
    con.execute("drop table checked")
    return FileLoad(dataset.name, str(path), content_hash, loaded, rejected, skipped=False)


def land_dataset(
    con: duckdb.DuckDBPyConnection,
    dataset_name: str,
    files: list[Path],
    *,
    load_id: str,
    loaded_at: datetime,
    timezone: str,
    salt: str | None,
) -> list[FileLoad]:
    """Land every new file of one dataset in one transaction: all of them, or none.

    Files land in the order given (``discover_files``: by name), each a microsecond after the
    one before, so where two files of one run carry the same key the later file's version is
    the latest (staging keeps the latest ``_loaded_at``)."""
    dataset = DATASETS[dataset_name]
    ensure_raw_schema(con)
    con.execute(f"set TimeZone = {_quote(timezone)}")  # naive timestamps are business-local
    con.execute("begin transaction")
    try:
        results = [
            land_file(con, dataset, path, load_id=load_id, loaded_at=loaded_at + timedelta(microseconds=n), salt=salt)
            for n, path in enumerate(files)
        ]
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    return results
