"""What a night would do with a data folder's sources, without writing anything (``roi validate``).

Every source is read as a run reads it — each file landed on its own, databases and APIs a
sample — into a throw-away DuckDB file, so what is reported is what the run will do. One pass
finds every problem, each naming the file or source and the fix: a source that cannot be read
or matches no file, a file whose rows would half or more be rejected, and a blocking check on
the inputs that the landed rows would fail (``expectations/``: a dataset whose files land no row,
a ticket resolved before it was opened). A rejection's failing values are shown where they are
not personal (``shown_value``).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from connectors.files import collect_inventory, land_files
from connectors.landing import ensure_raw_schema
from connectors.sources import FilesSource, source_files
from roi_ledger.contract import DATASETS, ContractError, DataInventory

# A file with this share of its rows rejected or more is a problem, not a warning: a mapping,
# format or export that reads half a file reads it wrong (docs/sources.md, "roi validate").
REJECTED_SHARE_LIMIT = 0.5
EXAMPLE_VALUES = 3
# A rejected value longer than this is free text (a note, an address), not a date or a number
MAX_SHOWN_CHARACTERS = 40
_PHONE = re.compile(r"^\+?[\d\s().-]+$")
HIDDEN = "…"


@dataclass
class DryRun:
    found: DataInventory = field(default_factory=DataInventory)
    unreadable: list[str] = field(default_factory=list)  # a source or file that cannot be read
    problems: list[str] = field(default_factory=list)  # the rest of what would stop the night or lose rows
    # (dataset, unit, records, first day, last day) of what landed, a record counted once however
    # many files or versions carry it (as staging keeps it)
    spans: list[tuple] = field(default_factory=list)


def dry_run(
    data_dir: Path, sources: dict, *, pull_sample: int | None = None, salt: str = "validate-only-salt-00"
) -> DryRun:
    """Read every source into a throw-away DuckDB file and judge what landed."""
    result = DryRun()
    with (
        tempfile.TemporaryDirectory(prefix="roi-validate-") as scratch,
        duckdb.connect(str(Path(scratch) / "dry.duckdb")) as con,
    ):
        ensure_raw_schema(con)
        for name, source in sources.items():
            _read_source(con, data_dir, name, source, result, pull_sample=pull_sample, salt=salt)
        collect_inventory(con, result.found)
        result.found.rejections = rejection_summary(con)
        result.spans = unit_spans(con)
        result.problems += mostly_rejected(result.found) + blocking_checks(con, result.found)
    return result


def _read_source(con, data_dir: Path, name: str, source, result: DryRun, *, pull_sample, salt: str) -> None:
    """Land one source's files one by one (a file that cannot be read is a problem; the others
    still land), or a sample of a pulled source."""
    from connectors.pull import PullError, land_pulled

    try:
        if not isinstance(source, FilesSource):
            result.found.pulled.add(source.dataset)
            if pull_sample:
                at = datetime(2000, 1, 1)
                land_pulled(con, name, source, load_id="validate", loaded_at=at, salt=salt, limit=pull_sample)
            return
        files = source_files(data_dir, source)
    except (ContractError, PullError) as exc:
        result.unreadable.append(str(exc))
        return
    if not files:
        result.problems.append(
            f"source {name!r}: its path {source.path!r} matches no file in {data_dir}; correct the path in "
            "sources.yml (relative to the data folder) or add the export"
        )
        return
    result.found.files.setdefault(source.dataset, []).extend(files)
    for n, path in enumerate(files):
        try:
            at = datetime(2000, 1, 1, microsecond=n)
            land_files(con, name, source, source.dataset, [path], load_id="validate", loaded_at=at, salt=salt)
        except ContractError as exc:
            result.unreadable.append(str(exc))


def unit_spans(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Per dataset and unit: the records that landed (one per key) and their first and last day."""
    spans = []
    for dataset in DATASETS.values():
        keys = ", ".join(dataset.key)
        spans += con.execute(
            f"""
            select '{dataset.name}', unit_id, count(*), min({dataset.time_column})::date,
                   max({dataset.time_column})::date
            from (select distinct on ({keys}) unit_id, {dataset.time_column} from raw.{dataset.name})
            group by unit_id order by count(*) desc, unit_id
            """
        ).fetchall()
    return spans


def rejection_summary(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The rejections grouped by (dataset, file, reason with its value as "…"): the rows, the
    first row numbers and the first few distinct failing values as ``shown_value`` shows them."""
    rows = con.execute(
        """
        with reasons as (
            select dataset, source_file, source_row, unnest(string_split(reason, '; ')) as reason
            from raw.rejected_rows
        )
        select dataset, source_file, regexp_replace(reason, '"[^"]*"', '"…"') as pattern, count(*) as rows,
               list(source_row order by source_row)[1:3] as examples,
               any_value(regexp_extract(reason, '^(\\w+)', 1)) as field,
               (list(regexp_extract(reason, '"([^"]*)"', 1) order by source_row)
                   filter (where contains(reason, '"')))[1:200] as values
        from reasons group by all order by dataset, source_file, rows desc
        """
    ).fetchall()
    summary = []
    for dataset, origin, pattern, count, examples, column, values in rows:
        shown = list(dict.fromkeys(shown_value(dataset, column, v) for v in values or []))[:EXAMPLE_VALUES]
        summary.append((dataset, origin, pattern, count, examples, shown))
    return summary


def shown_value(dataset: str, column: str | None, value: str) -> str:
    """A failing value as a report may show it: a date, a number, a status word as it is; the
    value of a personal column (customer and employee ids), or one that looks like an e-mail
    address or a phone number, or free text (longer than ``MAX_SHOWN_CHARACTERS``), as "…"."""
    columns = {c.name: c for c in DATASETS[dataset].columns} if dataset in DATASETS else {}
    personal = column not in columns or columns[column].pseudonymise
    digits = sum(ch.isdigit() for ch in value)
    phone_like = digits >= 9 and bool(_PHONE.match(value))
    if personal or "@" in value or phone_like or len(value) > MAX_SHOWN_CHARACTERS:
        return HIDDEN
    return value


def mostly_rejected(found: DataInventory) -> list[str]:
    """A problem per file (or pull) with ``REJECTED_SHARE_LIMIT`` of its rows rejected or more."""
    problems = []
    for load in found.loads:
        dataset, origin, loaded, rejected = load[:4]
        read = sum(load[2:6])
        if read and rejected / read >= REJECTED_SHARE_LIMIT:
            every = "every row" if not loaded else f"{rejected} of {read} rows"
            problems.append(
                f"{origin}: {every} would be rejected from {dataset} (the reasons are listed above): correct the "
                "source's mapping or format in sources.yml, or the export"
            )
    return problems


def blocking_checks(con: duckdb.DuckDBPyConnection, found: DataInventory) -> list[str]:
    """The blocking (critical) checks on the inputs that the landed rows would fail: a dataset
    whose files land no row (the raw suites' row count). The staging suites' per-record checks
    (a ticket resolved before it was opened) are the contract's row rules: landing rejects such
    a record with its reason, so they cannot fail a night."""
    problems = []
    files = {str(path) for paths in found.files.values() for path in paths}
    read: dict[str, list[int]] = {}  # per dataset, the rows each file read would land
    for dataset, origin, loaded, *_ in found.loads:
        if origin in files:
            read.setdefault(dataset, []).append(loaded)
    for dataset, loaded in read.items():
        if not sum(loaded):
            problems.append(
                f"{dataset}: none of its {len(loaded)} file(s) would land a row, and the night fails its check that "
                f"delivered {dataset} files land rows (expectations/raw_{dataset}.yml): fix the rejections above"
            )
    return problems
