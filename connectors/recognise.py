"""Which tool wrote each file of a data folder, told from its header (``roi init``).

A file is a preset's export (``connectors.presets``) when it holds every field that preset's file
mapping reads — its headers in any language the preset lists (``header_aliases``) — and a plain
contract file (docs/data-contract.md) when it holds every required column of a dataset. Files of
one tool that differ only by a number or a copy mark (``orders_export_1.csv``, ``orders_export_2.csv``,
``orders_export_1 (1).csv``) are one export series and become one source with a glob path. A file
that is none of these is a gap, with why.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from connectors.files import read_file
from connectors.presets import PRESETS, canonical_headers
from connectors.sources import SOURCES_FILE
from roi_ledger.contract import DATASETS, FILE_SUFFIXES, ContractError

# How each preset's tool is named for people
TOOL_NAMES = {"shopify": "Shopify", "zendesk": "Zendesk", "harvest": "Harvest", "clockify": "Clockify"}
# A file name's number or copy mark at its end: "_1", " 2", " (1)", "-03"
_SERIES_MARK = re.compile(r"(?:[\s_.-]*(?:\(\d+\)|\d+))+$")
_QUOTED_FIELD = re.compile(r'"([^"]+)"')


@dataclass
class FileGroup:
    """Files of one tool that one source reads: a preset's export series or a contract dataset."""

    dataset: str
    preset: str | None  # None: a plain contract file, read column for column
    files: list[Path]
    path: str = ""  # the source's path: a file, or a glob matching exactly ``files``

    @property
    def tool(self) -> str:
        return f"{TOOL_NAMES[self.preset]} export" if self.preset else "contract file"


@dataclass
class Recognition:
    groups: list[FileGroup] = field(default_factory=list)
    gaps: list[tuple[Path, str]] = field(default_factory=list)  # a file not placed, and why


def preset_fields(preset: str) -> set[str]:
    """The source fields a preset's file mapping reads: a file lacking one cannot be read by it."""
    files = PRESETS[preset].get("files")
    if files is None:
        return set()
    needed = {files["one_record_per"]} if files.get("one_record_per") else set()
    for spec in files["columns"].values():
        if isinstance(spec, str):
            needed.add(spec)
        elif "column" in spec:
            needed.add(spec["column"])
        elif "sql" in spec:
            needed.update(_QUOTED_FIELD.findall(spec["sql"]))
    return needed


def match_header(columns: list[str]) -> tuple[str | None, str | None, str]:
    """(dataset, preset, "") for a header a preset or the contract reads — the preset reading the
    most fields wins, a preset before the contract — else (None, None, why not)."""
    present = set(columns)
    fits = []
    closest: tuple[float, str, set[str]] = (0.0, "", set())
    for name in PRESETS:
        needed = preset_fields(name)
        if not needed:
            continue
        held = present | set(canonical_headers(name, columns).values())
        missing = needed - held
        if not missing:
            fits.append((len(needed), name))
        elif 1 - len(missing) / len(needed) > closest[0]:
            closest = (1 - len(missing) / len(needed), name, missing)
    if fits:
        name = max(fits)[1]
        return PRESETS[name]["dataset"], name, ""
    for dataset in DATASETS.values():
        if {c.name for c in dataset.columns if not c.nullable} <= present:
            return dataset.name, None, ""
    why = (
        "its columns are neither an export ROI Ledger knows (" + ", ".join(TOOL_NAMES.values()) + ") nor a dataset "
        "of the contract (docs/data-contract.md)"
    )
    if closest[0] >= 0.5:
        lacking = ", ".join(repr(c) for c in sorted(closest[2]))
        why += f"; closest: a {TOOL_NAMES[closest[1]]} export, but it lacks {lacking}"
    return None, None, why + "; add a source for it in sources.yml by hand (docs/sources.md)"


def candidate_files(data_dir: Path, skip: Iterable[Path] = ()) -> list[Path]:
    """Every entry of the data folder and its subfolders but folders, hidden ones, the sources
    file and ``skip``."""
    skipped = {p.resolve() for p in skip}
    found = []
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        if any(part.startswith(".") for part in relative.parts) or (path.is_dir() and not path.is_symlink()):
            continue
        if relative == Path(SOURCES_FILE) or path.resolve() in skipped:
            continue
        found.append(path)
    return found


def _unreadable_entry(path: Path, root: Path) -> str | None:
    """Why an entry is not read at all, as a run would not read it: a link out of the data folder
    (it could point at any file on the machine), a pipe or a device; None for a regular file."""
    if not path.resolve().is_relative_to(root):
        return "is a link to a file outside the data folder, which is never read; copy the file into the folder instead"
    if not path.is_file():
        return "is not a regular file (a pipe, a device, a link to a folder?); data files must be regular files"
    return None


def recognise(data_dir: Path, skip: Iterable[Path] = ()) -> Recognition:
    """The file groups of a data folder, each with its source path, and the files not placed."""
    result = Recognition()
    placed: dict[tuple[str, str | None], list[Path]] = {}
    root = data_dir.resolve()
    for path in candidate_files(data_dir, skip):
        refused = _unreadable_entry(path, root)
        if refused:
            result.gaps.append((path, refused))
            continue
        if path.suffix.lower() not in FILE_SUFFIXES:
            result.gaps.append((path, "not a data file format ROI Ledger reads (" + ", ".join(FILE_SUFFIXES) + ")"))
            continue
        try:
            columns = read_file(path).columns
        except ContractError as exc:
            result.gaps.append((path, str(exc).removeprefix(f"{path}: ")))
            continue
        dataset, preset, why = match_header(columns)
        if dataset is None:
            result.gaps.append((path, why))
        else:
            placed.setdefault((dataset, preset), []).append(path)
    for (dataset, preset), files in placed.items():
        for series in _series(files):
            result.groups += _with_paths(data_dir, FileGroup(dataset, preset, series))
    return result


def _series(files: list[Path]) -> list[list[Path]]:
    """Files split by folder, suffix and name without its number or copy mark."""
    series: dict[tuple, list[Path]] = {}
    for path in files:
        key = (path.parent, path.suffix.lower(), _SERIES_MARK.sub("", path.stem))
        series.setdefault(key, []).append(path)
    return list(series.values())


def _with_paths(data_dir: Path, group: FileGroup) -> list[FileGroup]:
    """The group with its source path: its file, or a glob of the files' common start when that
    glob matches exactly these files; else one group per file."""
    relative = [p.relative_to(data_dir).as_posix() for p in group.files]
    if len(relative) == 1:
        return [FileGroup(group.dataset, group.preset, group.files, relative[0])]
    folder = os.path.dirname(relative[0])
    prefix = os.path.commonprefix([os.path.basename(r) for r in relative])
    pattern = "/".join(filter(None, [glob.escape(folder), glob.escape(prefix) + "*" + group.files[0].suffix]))
    if {p.resolve() for p in data_dir.glob(pattern)} == {p.resolve() for p in group.files}:
        return [FileGroup(group.dataset, group.preset, group.files, pattern)]
    return [FileGroup(group.dataset, group.preset, [p], r) for p, r in zip(group.files, relative, strict=True)]


def sources_spec(groups: list[FileGroup]) -> dict[str, dict]:
    """The ``sources:`` of a sources file reading ``groups``: one source each, named after its
    tool (or dataset), numbered where one tool has several."""
    spec: dict[str, dict] = {}
    for group in groups:
        base = group.preset or group.dataset
        name, n = base, 1
        while name in spec:
            n += 1
            name = f"{base}_{n}"
        spec[name] = {"preset": group.preset} if group.preset else {"dataset": group.dataset}
        spec[name]["path"] = group.path
    return spec


# Guessing the business's currency and timezone from what its exports say (``roi init``): a
# guess is shown with where it came from, for the owner to confirm.
# a Currency column's value ("GBP", "British Pound - GBP"), or a header naming its currency in
# brackets ("Billable Rate (GBP)"); other capitals in a header ("External Reference URL") are not one
_CURRENCY_VALUE = re.compile(r"(?:^|\s)([A-Z]{3})$")
_CURRENCY_HEADER = re.compile(r"\(([A-Z]{3})\)$")
_OFFSET_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$")
# Where a currency's businesses most often keep time, first the likeliest: a timezone is guessed
# only among the zones the timestamps' offsets fit
CURRENCY_TIMEZONES = {
    "GBP": ["Europe/London"],
    "EUR": ["Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Dublin"],
    "USD": ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"],
    "CAD": ["America/Toronto", "America/Vancouver"],
    "AUD": ["Australia/Sydney", "Australia/Melbourne", "Australia/Perth"],
    "NZD": ["Pacific/Auckland"],
    "CHF": ["Europe/Zurich"],
    "SEK": ["Europe/Stockholm"],
    "NOK": ["Europe/Oslo"],
    "DKK": ["Europe/Copenhagen"],
    "PLN": ["Europe/Warsaw"],
    "JPY": ["Asia/Tokyo"],
    "INR": ["Asia/Kolkata"],
}
SAMPLE_ROWS = 2000


def _first_rows(path: Path):
    """The file's first records, text columns only (None when it cannot be read)."""
    import polars as pl

    try:
        rows = next(iter(read_file(path).batches)).head(SAMPLE_ROWS)
    except (ContractError, StopIteration):
        return None
    return rows.select(pl.col(pl.String))


def guess_currency(groups: list[FileGroup]) -> tuple[str | None, str]:
    """The three-letter currency the exports name most (a Currency column's values, "British
    Pound - GBP", or a header such as "Billable Rate (GBP)"), and where it was read."""
    votes: dict[str, list[tuple[int, str, str]]] = {}
    for group in groups:
        for path in group.files:
            rows = _first_rows(path)
            if rows is None:
                continue
            for column in rows.columns:
                found = _CURRENCY_HEADER.search(column.strip())
                if found:
                    votes.setdefault(found.group(1), []).append((1, f'the header "{column}" of', path.name))
                if column.strip().lower() != "currency":
                    continue
                for value in rows[column].drop_nulls().unique().to_list():
                    code = _CURRENCY_VALUE.search(value.strip())
                    if code:
                        votes.setdefault(code.group(1), []).append((0, f"the {column} column of", path.name))
    if not votes:
        return None, ""
    code = max(votes, key=lambda c: len(votes[c]))
    # a Currency column's values before a header's mention; one mention per file
    first = {}
    for _, what, name in sorted(votes[code]):
        first.setdefault(name, f"{what} {name}")
    shown = list(first.values())
    return code, shown[0] + (f" and {len(shown) - 1} more file(s)" if len(shown) > 1 else "")


def observed_offsets(groups: list[FileGroup]) -> set[tuple[str, str]]:
    """(local day and time, UTC offset) of the timestamps the exports write with an offset, one
    per offset and month (enough to tell summer time from winter time)."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for group in groups:
        for path in group.files:
            rows = _first_rows(path)
            for column in rows.columns if rows is not None else []:
                for value in rows[column].drop_nulls().to_list():
                    stamp = _OFFSET_STAMP.match(value.strip())
                    if stamp:
                        day, clock, offset = stamp.groups()
                        seen.setdefault((day[:7], offset), (f"{day} {clock}", offset))
    return set(seen.values())


def guess_timezone(groups: list[FileGroup], currency: str | None) -> tuple[str | None, str]:
    """An IANA timezone whose UTC offsets fit every timestamp offset the exports write, the
    currency's likeliest first; without offsets, the currency's likeliest zone; and why."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo, available_timezones

    stamps = observed_offsets(groups)
    likely = CURRENCY_TIMEZONES.get(currency or "", [])
    if not stamps:
        if likely:
            return likely[0], f"from the currency ({currency}) alone: no timestamp in the exports carries an offset"
        return None, ""

    def offset(text: str) -> timedelta:
        if text == "Z":
            return timedelta(0)
        digits = text[1:].replace(":", "")
        sign = -1 if text[0] == "-" else 1
        return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))

    def fits(zone: str) -> bool:
        tz = ZoneInfo(zone)
        return all(datetime.fromisoformat(local).replace(tzinfo=tz).utcoffset() == offset(o) for local, o in stamps)

    shown = ", ".join(sorted({o for _, o in stamps}))
    for zone in likely + ["UTC"]:
        if fits(zone):
            return zone, f"the timestamps' offsets ({shown})" + (
                f" and the currency ({currency})" if zone in likely else ""
            )
    fitting = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/") and fits(z))
    if fitting:
        return fitting[0], f"the timestamps' offsets ({shown}) fit it, and {len(fitting) - 1} other zones"
    return None, ""
