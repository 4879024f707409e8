"""Files sources: exports as they are — CSV/TSV, Parquet, JSON, JSON lines, Excel — into ``raw``.

A file whose content was loaded before (same SHA-256) is skipped, so re-running a night or
leaving old files in the folder is harmless. (The one "unchanged, keep it" decision made outside
``roi_ledger.incremental``: a file's content hash is what it is, not the fingerprint of a result
that could be computed again, and it is looked up inside the landing's own transaction.) Each
file is read as text records (``connectors.readers``), then mapped, typed and landed like every
other source (``connectors.landing``). Only the columns the mapping reads are kept: anything else
in a file (a customer's name, an e-mail address) never reaches the warehouse.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from connectors import readers
from connectors.landing import IDENTITY, Load, Mapping, ensure_raw_schema, land_staged, stage
from connectors.presets import with_canonical_headers
from connectors.sources import FilesSource, discover_files, source_files
from roi_ledger.contract import DATASETS, ContractError, DataInventory

__all__ = ["discover_files", "file_hash", "inventory", "land_dataset", "land_files", "read_file"]


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's content. Remembered for the process by path, size and modification
    time (as git's index does), so a run that checks a file and then lands it reads it once."""
    stat = path.stat()
    return _content_hash(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_file(path: Path, source: FilesSource | None = None) -> readers.TextFile:
    """A file as text records, in the source's format (from its suffix unless declared), its
    headers in the preset's language (``presets.with_canonical_headers``)."""
    source = source or FilesSource(dataset="orders", path=str(path))
    return with_canonical_headers(_read_as_text(path, source), source.preset)


def _read_as_text(path: Path, source: FilesSource) -> readers.TextFile:
    kind = readers.file_format(path, source.format)
    if kind in ("csv", "tsv"):
        dialect = readers.sniff_dialect(
            path,
            delimiter=source.delimiter or ("\t" if kind == "tsv" else None),
            encoding=source.encoding,
            header_row=source.header_row,
        )
        return readers.read_csv(path, dialect)
    if kind == "parquet":
        return readers.read_parquet(path)
    if kind == "xlsx":
        return readers.read_excel(path, source.sheet, source.header_row)
    if kind in ("json", "jsonl"):
        return readers.read_json(path, lines=kind == "jsonl", encoding=source.encoding)
    raise ContractError(
        f"{path}: cannot tell the file's format from its name; set format ({', '.join(readers.FORMATS)})"
    )


def _mapping(source: FilesSource | None, text: readers.TextFile) -> Mapping:
    mapping = IDENTITY if source is None else Mapping.of(source)
    if mapping.decimal is None and text.delimiter == ";":
        # where ';' separates the fields (Excel in much of Europe), ',' is the decimal mark
        return Mapping(mapping.columns, mapping.one_record_per, ",", mapping.date_format, mapping.timestamp_format)
    return mapping


def land_file(
    con: duckdb.DuckDBPyConnection,
    source_name: str,
    source: FilesSource | None,
    dataset_name: str,
    path: Path,
    *,
    load_id: str,
    loaded_at: datetime,
    salt: str | None,
) -> Load:
    """Land one file: its rows, rejected rows and ``raw.loaded_files`` row in one transaction of
    its own (``landing.transaction``), or none of them. Skips content loaded before."""
    content_hash = file_hash(path)
    already = con.execute(
        "select count(*) from raw.loaded_files where dataset = ? and content_hash = ?", [dataset_name, content_hash]
    ).fetchone()[0]
    if already:
        return Load(source_name, dataset_name, str(path), content_hash, 0, 0, skipped=True)
    text = read_file(path, source)
    mapping = _mapping(source, text)
    _refuse_nested(text, DATASETS[dataset_name], mapping)
    columns = [c for c in text.columns if c not in text.nested]
    stage(con, columns, text.batches)
    return land_staged(
        con,
        DATASETS[dataset_name],
        columns,
        mapping,
        source=source_name,
        origin=str(path),
        where=str(path),
        malformed=text.malformed,
        load_id=load_id,
        loaded_at=loaded_at,
        salt=salt,
        content_hash=content_hash,
        own_transaction=True,
        modified_at=modified_time(path),
    )


def modified_time(path: Path) -> datetime:
    """When the file was last written: an Excel workbook's own record of it (kept when the file
    is copied or unzipped), else the file system's."""
    if path.suffix.lower() == ".xlsx":
        try:
            with zipfile.ZipFile(path) as book:
                core = book.read("docProps/core.xml").decode("utf-8", errors="replace")
            found = re.search(r"<dcterms:modified[^>]*>([^<]+)</dcterms:modified>", core)
            if found:
                return datetime.fromisoformat(found.group(1).strip().replace("Z", "+00:00"))
        except (KeyError, OSError, ValueError, zipfile.BadZipFile):
            pass  # no record of it: the file system's
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _refuse_nested(text: readers.TextFile, dataset, mapping: Mapping) -> None:
    mapped = {spec.column for spec in mapping.columns.values() if spec.column} | (
        set(dataset.column_names) - set(mapping.columns)
    )
    nested = sorted(mapped & text.nested)
    if nested:
        raise ContractError(
            f"{text.path}: column(s) {', '.join(nested)} hold lists, structures or binary data, not single values "
            "(one value per cell is expected; see docs/data-contract.md)"
        )


def land_files(
    con: duckdb.DuckDBPyConnection,
    source_name: str,
    source: FilesSource | None,
    dataset_name: str,
    files: list[Path],
    *,
    load_id: str,
    loaded_at: datetime,
    salt: str | None,
) -> list[Load]:
    """Land every new file of one source, each in a transaction of its own (``land_file``), in
    the order given (by name), each a microsecond after the one before, so where two files of
    one run carry the same key the later file's version is the latest (staging keeps the latest
    ``_loaded_at``)."""
    return [
        land_file(
            con,
            source_name,
            source,
            dataset_name,
            path,
            load_id=load_id,
            loaded_at=loaded_at + timedelta(microseconds=n),
            salt=salt,
        )
        for n, path in enumerate(files)
    ]


def land_dataset(
    con: duckdb.DuckDBPyConnection,
    dataset_name: str,
    files: list[Path],
    *,
    load_id: str,
    loaded_at: datetime,
    timezone: str,
    salt: str | None,
    source: FilesSource | None = None,
) -> list[Load]:
    """Land the files of one dataset, each whole or not at all."""
    ensure_raw_schema(con)
    con.execute(f"set TimeZone = '{timezone}'")  # naive timestamps are business-local
    return land_files(con, dataset_name, source, dataset_name, files, load_id=load_id, loaded_at=loaded_at, salt=salt)


def inventory(
    data_dir: Path,
    sources: dict | None = None,
    *,
    salt: str | None = "inventory-only-salt",
    pull_sample: int | None = None,
) -> DataInventory:
    """What the data folder's sources hold — units, activities, KPI names, and every row that
    would be rejected — read by landing them into a throw-away DuckDB file: the same code as a
    run, so what it reports is what the run will do (``roi validate``). Pulled sources (a database,
    an API) are read only with ``pull_sample`` (that many records each). Writes nothing beside
    the data; raises one ``ContractError`` listing every source that cannot be read. (A nightly
    run does not call this: it lands its new files once, into its build file, and checks the
    register against what landed.)"""
    from connectors.pull import PullError, land_pulled
    from connectors.sources import load_sources

    sources = load_sources(data_dir) if sources is None else sources
    result = DataInventory()
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="roi-inventory-") as scratch,
        duckdb.connect(str(Path(scratch) / "dry.duckdb")) as con,
    ):
        ensure_raw_schema(con)
        for name, source in sources.items():
            try:
                if isinstance(source, FilesSource):
                    _land_files_for_inventory(con, data_dir, name, source, result, problems, salt=salt)
                    continue
                result.pulled.add(source.dataset)
                if pull_sample:
                    land_pulled(
                        con,
                        name,
                        source,
                        load_id="inventory",
                        loaded_at=datetime(2000, 1, 1),
                        salt=salt,
                        limit=pull_sample,
                    )
            except (ContractError, PullError) as exc:
                problems.append(str(exc))
        if problems:
            raise ContractError("\n".join(problems))
        collect_inventory(con, result)
    return result


def _land_files_for_inventory(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    name: str,
    source: FilesSource,
    result: DataInventory,
    problems: list[str],
    *,
    salt: str | None,
) -> None:
    """Land a file source's files one by one, as a run would; a file that cannot be read adds its
    problem to ``problems`` and the others still land."""
    files = source_files(data_dir, source)
    if files:
        result.files.setdefault(source.dataset, []).extend(files)
    for n, path in enumerate(files):
        try:
            land_files(
                con,
                name,
                source,
                source.dataset,
                [path],
                load_id="inventory",
                loaded_at=datetime(2000, 1, 1, microsecond=n),
                salt=salt,
            )
        except ContractError as exc:
            problems.append(str(exc))


def collect_names(con: duckdb.DuckDBPyConnection, result: DataInventory) -> DataInventory:
    """The units, activities and KPI names ``raw`` holds, added to ``result``."""
    for name in DATASETS:
        result.units.update(
            u for (u,) in con.execute(f"select distinct unit_id from raw.{name} where unit_id is not null").fetchall()
        )
    result.split_values.setdefault("activity", set()).update(
        a for (a,) in con.execute("select distinct activity from raw.hours").fetchall()
    )
    result.kpi_metrics.update(m for (m,) in con.execute("select distinct metric from raw.kpis").fetchall())
    return result


def collect_inventory(con: duckdb.DuckDBPyConnection, result: DataInventory) -> DataInventory:
    """Units, activities, KPI names and rejections of what ``raw`` holds."""
    collect_names(con, result)
    result.loads = con.execute(
        "select dataset, source_file, rows_loaded, rows_rejected, coalesce(rows_unchanged, 0), "
        "coalesce(rows_folded, 0) from raw.loaded_files order by dataset, source_file"
    ).fetchall()
    result.rejections = con.execute(
        """
        with reasons as (
            select dataset, source_file, source_row, unnest(string_split(reason, '; ')) as reason from raw.rejected_rows
        )
        select dataset, source_file, regexp_replace(reason, '"[^"]*"', '"…"') as reason, count(*) as rows,
               list(source_row order by source_row)[1:3] as examples
        from reasons group by all order by dataset, source_file, rows desc
        """
    ).fetchall()
    return result
