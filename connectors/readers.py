"""Read a data file as text records, whatever its format: CSV/TSV, Parquet, JSON, JSON lines, Excel.

Every reader yields batches of records with their position in the file (``_source_row``: 1 = the
first record after the header) and every column as text, so that one mapping and one typing step
(``connectors.mapping``, ``connectors.landing``) serve every format. A line that cannot be a
record — a field too many or too few, an unbalanced quote, bytes that are not text in the file's
encoding — is returned as a :class:`Malformed` line with its number and reason, not a refused file:
the good lines load. A file is refused whole (``ContractError``) only when it cannot be read as a
whole: binary where text is expected, no header, an unreadable Parquet or Excel file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

import polars as pl

from roi_ledger.contract import ContractError

BATCH_ROWS = 100_000
BLOCK_BYTES = 16 << 20  # a delimited file is read in blocks of whole lines of about this size
# A quoted field may hold line breaks; a record spanning more lines than this is an unbalanced
# quote, and only its first line is rejected (the rest are read again as records).
MAX_LINES_PER_RECORD = 50
FORMATS = ("csv", "tsv", "parquet", "json", "jsonl", "xlsx")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
}


@dataclass(frozen=True)
class Malformed:
    """A line that is no record: kept as a rejected row with its number and reason."""

    row: int  # as ``_source_row``: 1 = the first line after the header
    reason: str
    fields: int | None = None
    characters: int = 0


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"
    header_row: int = 1  # the line holding the column names (lines above it are skipped)


@dataclass
class TextFile:
    """A file read as text records: its columns, batches of records and its malformed lines."""

    path: Path
    columns: list[str]
    batches: Iterator[pl.DataFrame]
    malformed: list[Malformed] = field(default_factory=list)
    # columns whose values are lists, structures or bytes (Parquet): never mapped to a contract column
    nested: set[str] = field(default_factory=set)
    delimiter: str | None = None  # a delimited text file's


def file_format(path: Path, declared: str | None = None) -> str | None:
    return declared or SUFFIX_FORMATS.get(path.suffix.lower())


def unreadable(path: Path, exc: Exception, kind: str) -> ContractError:
    """A message for a file that cannot be read, which never quotes the file: a reader's own
    error often does (a line holding a customer's e-mail address), and messages end up in logs.
    Only a line number it names is kept, and never the reader's class name (ComputeError, ...),
    which tells an owner nothing."""
    where = re.search(r"\b(?:line|row)\s+(\d+)", str(exc))
    at = f" near line {where.group(1)}" if where else ""
    return ContractError(
        f"{path}: cannot read the file as {kind}{at}: it is damaged, cut short or in another format; "
        "export it again, or point the source's path at files of that format (docs/sources.md)"
    )


def sniff_dialect(path: Path, *, delimiter: str | None, encoding: str, header_row: int = 1) -> CsvDialect:
    """The file's delimiter (declared, else sniffed from its first 64 KiB: comma, semicolon, tab
    or pipe, whichever splits the header and the lines after it the same way)."""
    if delimiter is None:
        sample = _head(path, encoding, 1 << 16)
        lines = [line for line in sample.splitlines()[header_row - 1 :] if line.strip()][:20]
        delimiter = ","
        if lines:
            best = max(
                (",", ";", "\t", "|"),
                key=lambda d: (_consistent(lines, d), lines[0].count(d)),
            )
            if lines[0].count(best):
                delimiter = best
    return CsvDialect(delimiter=delimiter, encoding=encoding, header_row=header_row)


def _consistent(lines: list[str], delimiter: str) -> int:
    counts = [len(next(csv.reader([line], delimiter=delimiter), [])) for line in lines]
    return sum(count == counts[0] for count in counts) if counts[0] > 1 else 0


def _head(path: Path, encoding: str, size: int) -> str:
    with path.open("rb") as handle:
        head = handle.read(size)
    marked = next((name for mark, name in _WIDE_MARKS.items() if head.startswith(mark)), None)
    return head.decode(marked or _python_encoding(encoding), errors="replace")


def _python_encoding(encoding: str) -> str:
    # a UTF-8 file may start with a byte-order mark (Excel writes one): it is not part of the header
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def read_csv(path: Path, dialect: CsvDialect) -> TextFile:
    """A delimited text file, read so that a malformed line is a rejected row: a record must have
    the header's number of fields. Blank lines are no records (they keep their place in the
    numbering). The file is read in blocks of whole lines (``_csv_batches``)."""
    handle, dialect = _opened_as_bytes(path, dialect)
    try:
        columns, first_data_line = _header(handle, path, dialect)
        _refuse_repeated(path, columns)
    except BaseException:
        handle.close()
        raise
    text = TextFile(path=path, columns=columns, batches=iter(()), delimiter=dialect.delimiter)
    text.batches = _csv_batches(handle, columns, dialect, text.malformed, first_data_line)
    return text


# Byte-order marks of the encodings whose line ends are not the byte \n (Excel's "Unicode Text")
_WIDE_MARKS = {
    b"\xff\xfe\x00\x00": "utf-32",
    b"\x00\x00\xfe\xff": "utf-32",
    b"\xff\xfe": "utf-16",
    b"\xfe\xff": "utf-16",
}


def _opened_as_bytes(path: Path, dialect: CsvDialect):
    """The file open for reading bytes in which a line ends in the byte \\n, with its dialect: a
    UTF-16 or UTF-32 file (declared, or known by its byte-order mark) is first written out as
    UTF-8 to a temporary file (removed once read), the rest of the reading being byte-wise."""
    with path.open("rb") as probe:
        start = probe.read(4)
    encoding = codecs.lookup(_python_encoding(dialect.encoding)).name
    marked = next((name for mark, name in _WIDE_MARKS.items() if start.startswith(mark)), None)
    if not encoding.startswith(("utf-16", "utf-32")) and not (marked and encoding in ("utf-8", "utf-8-sig")):
        return path.open("rb"), dialect
    wide = encoding if encoding.startswith(("utf-16", "utf-32")) else marked
    copy = tempfile.TemporaryFile()
    try:
        with path.open("r", encoding=wide, newline="") as text:
            for block in iter(lambda: text.read(1 << 20), ""):
                copy.write(block.encode("utf-8", errors="surrogateescape"))
    except UnicodeError:
        copy.close()
        raise ContractError(
            f"{path}: is not {wide.upper()} text throughout; set the source's encoding (see docs/sources.md)"
        ) from None
    copy.seek(0)
    return copy, CsvDialect(dialect.delimiter, dialect.quote, "utf-8", dialect.header_row)


def _header(handle, path: Path, dialect: CsvDialect) -> tuple[list[str], int]:
    """The column names, and the number of the line after the header."""
    for number, raw in enumerate(iter(lambda: _readline(handle), b""), start=1):
        line = _decode(raw, dialect.encoding, first=number == 1)
        if line is None:
            raise ContractError(
                f"{path}: line {number} is not {dialect.encoding} text; set the source's encoding (see docs/sources.md)"
            )
        if number >= dialect.header_row and line.strip():
            if "\x00" in line:
                raise ContractError(f"{path}: is not a text file (its header holds NUL bytes); a CSV file is expected")
            header = next(csv.reader([line], delimiter=dialect.delimiter, quotechar=dialect.quote), [])
            return [name.strip() for name in header], number + 1
    raise ContractError(f"{path}: the file is empty (no header row)")


def _decode(raw: bytes, encoding: str, *, first: bool = False) -> str | None:
    """A line's text, or None where it is not valid in the file's encoding."""
    encoding = _python_encoding(encoding)
    if first and encoding == "utf-8-sig" and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _blocks(handle) -> Iterator[bytes]:
    """The rest of the file in blocks of about ``BLOCK_BYTES``, each ending at a line end (the
    last one where the file ends)."""
    while block := handle.read(BLOCK_BYTES):
        if not block.endswith(b"\n"):
            block += handle.readline()
        yield block


# A line ends in \r\n, \n or a lone \r (old Mac files; files pasted together from several tools),
# as Python's csv module and Excel read them; a line end inside a quoted field is part of the field.
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(block: bytes) -> list[bytes]:
    """A block's physical lines with their line ends."""
    return _LINE.findall(block)


def _readline(handle) -> bytes:
    """The file's next physical line (``_LINE``), the handle left just after it."""
    start = handle.tell()
    raw = handle.readline()
    lone = raw.find(b"\r")
    while lone != -1 and raw[lone + 1 : lone + 2] == b"\n":
        lone = raw.find(b"\r", lone + 2)
    if lone in (-1, len(raw) - 1):  # none, or the file's last byte
        return raw
    handle.seek(start + lone + 1)
    return raw[: lone + 1]


# Encodings in which a line end is always the byte \n and never part of another character, so
# that a block decodes to the same text as its lines one by one.
_BLOCK_ENCODINGS = {"utf-8", "utf-8-sig", "latin-1", "iso8859-1", "cp1252", "ascii"}


def plain_text(block: bytes, dialect: CsvDialect) -> str | None:
    """A block's text where every line in it is split by the delimiter alone — no quote, no
    carriage return but before a line end, every byte valid in the encoding — else None."""
    encoding = _python_encoding(dialect.encoding)
    if codecs.lookup(encoding).name not in _BLOCK_ENCODINGS:
        return None
    try:
        text = block.decode(encoding)
    except UnicodeDecodeError:
        return None
    if dialect.quote in text or text.count("\r") != text.count("\r\n") or "\ufeff" in text:
        return None
    return text


def split_record(text: str, delimiter: str, quote: str) -> list[str] | None:
    """The fields of one record's text (its line end included) as Python's csv module reads them,
    or None where it cannot; a line without quotes or inner line breaks is split directly (the
    common case, several times faster than a csv reader per line)."""
    body = text[:-1] if text.endswith("\n") else text
    body = body[:-1] if body.endswith("\r") else body
    if quote not in body and "\r" not in body and "\n" not in body:
        return body.split(delimiter) if body else []
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote, strict=False), [])
    except csv.Error:
        return None


def _csv_batches(handle, columns, dialect: CsvDialect, malformed: list[Malformed], first_line: int):
    """Batches of records, block by block. A block of plain lines (``plain_text``: the common
    case) is split in polars, column-wise; any other block line by line in Python
    (:class:`_LineRecords`), where a quoted field may span lines and each line's problem gets its
    own reason. Both give the same records and the same malformed lines (a test checks it on
    random files)."""
    offset = first_line - 1  # _source_row = line number - lines before the first record
    records = _LineRecords(len(columns), dialect, malformed, offset)
    with handle:
        number = first_line
        for block in _blocks(handle):
            text = None if records.pending else plain_text(block, dialect)
            if text is not None:
                if records.rows:
                    yield records.take(columns)
                frame, lines = _split_plain(text, columns, dialect.delimiter, number, offset, malformed)
                number += lines
                if frame.height:
                    yield frame
                continue
            for raw in _lines(block):
                records.feed(number, _decode(raw, dialect.encoding))
                number += 1
                if len(records.rows) >= BATCH_ROWS:
                    yield records.take(columns)
        records.finish()
        if records.rows:
            yield records.take(columns)


class _LineRecords:
    """Records assembled from a delimited file's lines fed one by one: a record whose quote is
    still open takes the next lines (up to ``MAX_LINES_PER_RECORD``); a line that cannot be a
    record is added to ``malformed`` with its reason."""

    def __init__(self, width: int, dialect: CsvDialect, malformed: list[Malformed], offset: int) -> None:
        self.width = width
        self.dialect = dialect
        self.malformed = malformed
        self.offset = offset  # _source_row = line number - offset
        self.rows: list[list[str]] = []
        self.positions: list[int] = []
        self.pending: list[tuple[int, str]] = []  # the lines of a record with an open quote

    def take(self, columns: list[str]) -> pl.DataFrame:
        """The records assembled so far, as a batch; they are forgotten."""
        frame = _frame(columns, self.rows, self.positions)
        self.rows, self.positions = [], []
        return frame

    def feed(self, number: int, line: str | None) -> None:
        """Line ``number`` of the file, None where it is not valid text in the file's encoding."""
        quote = self.dialect.quote
        if line is None:
            if self.pending:
                self._flush_pending()
            self.malformed.append(
                Malformed(number - self.offset, f"line {number} is not valid {self.dialect.encoding} text")
            )
            return
        if self.pending:
            self.pending.append((number, line))
            joined = "".join(text for _, text in self.pending)
            if joined.count(quote) % 2 == 0:
                fields = split_record(joined, self.dialect.delimiter, quote)
                if fields is not None and len(fields) == self.width:
                    self._emit(self.pending[0][0], joined)
                    self.pending = []
                else:
                    self._flush_pending()
            elif len(self.pending) > MAX_LINES_PER_RECORD:
                self._flush_pending()
            return
        if not line.strip(" \r\n"):
            return  # a blank line: no record
        if line.count(quote) % 2:
            self.pending = [(number, line)]
            return
        self._emit(number, line)

    def finish(self) -> None:
        """The file has ended: every quote still open never closes."""
        while self.pending:
            self._flush_pending()

    def _emit(self, start: int, text: str) -> None:
        fields = split_record(text, self.dialect.delimiter, self.dialect.quote)
        if fields is None:
            self.malformed.append(
                Malformed(start - self.offset, f"line {start} cannot be split into fields", None, len(text))
            )
        elif all(not f.strip(" ") for f in fields):
            return  # every field empty: no record
        elif len(fields) == self.width:
            self.rows.append(fields)
            self.positions.append(start - self.offset)
        else:
            self.malformed.append(
                Malformed(
                    start - self.offset,
                    f"line {start} has {len(fields)} fields, the header has {self.width}",
                    len(fields),
                    len(text),
                )
            )

    def _flush_pending(self) -> None:
        """An open quote that never closed (within the limit): reject its first line, read the rest again."""
        start, text = self.pending[0]
        self.malformed.append(
            Malformed(start - self.offset, f"line {start} opens a quote that is never closed", None, len(text))
        )
        rest, self.pending = self.pending[1:], []
        for number, line in rest:
            self.feed(number, line)


def _split_plain(
    text: str, columns: list[str], delimiter: str, first_line: int, offset: int, malformed: list[Malformed]
) -> tuple[pl.DataFrame, int]:
    """The records of a block of plain lines (``plain_text``) and the number of lines it holds;
    its malformed lines are added to ``malformed``. What ``split_record`` and ``_LineRecords`` do line
    by line, column-wise: a line is its text up to \\n less a final \\r; a line of nothing but
    delimiters and spaces is no record; a record has the header's number of fields."""
    lines = pl.Series("line", [text]).str.split("\n").explode()
    complete = text.endswith("\n")
    if complete:
        lines = lines.head(-1)  # the nothing after the last line end
    count = lines.len()
    body = pl.col("line").str.strip_suffix("\r")
    numbered = (
        pl.DataFrame({"line": lines})
        .with_row_index("number", offset=first_line)
        .with_columns(
            fields=body.str.count_matches(delimiter, literal=True) + 1,
            blank=body.str.replace_all(delimiter, "", literal=True).str.strip_chars(" ") == "",
        )
        .filter(~pl.col("blank"))
    )
    width = len(columns)
    last = first_line + count - 1
    bad = numbered.filter(pl.col("fields") != width).select(
        "number", "fields", pl.col("line").str.len_chars() + (pl.col("number") != last).or_(complete).cast(pl.Int64)
    )
    for number, fields, characters in bad.iter_rows():
        malformed.append(
            Malformed(number - offset, f"line {number} has {fields} fields, the header has {width}", fields, characters)
        )
    records = (
        numbered.filter(pl.col("fields") == width)
        .select(
            (pl.col("number").cast(pl.Int64) - offset).alias("_source_row"),
            body.str.split_exact(delimiter, width - 1).alias("f"),
        )
        .unnest("f")
    )
    records.columns = ["_source_row", *columns]
    return records.select(*columns, "_source_row"), count


def _frame(columns: list[str], rows: list[list[str]], positions: list[int]) -> pl.DataFrame:
    data = (
        {f"c{i}": list(values) for i, values in enumerate(zip(*rows))}
        if rows
        else {f"c{i}": [] for i in range(len(columns))}
    )
    frame = pl.DataFrame(data, schema={f"c{i}": pl.String for i in range(len(columns))})
    frame.columns = columns
    return frame.with_columns(pl.Series("_source_row", positions, dtype=pl.Int64))


def _refuse_repeated(path: Path, columns: list[str]) -> None:
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ContractError(
            f"{path}: the header names column(s) {', '.join(repeated)} more than once; keep one of each"
        )


def read_parquet(path: Path) -> TextFile:
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several types for unreadable files
        raise unreadable(path, exc, "Parquet") from None
    nested = {name for name, kind in schema.items() if kind.is_nested() or kind == pl.Binary}
    plain = [name for name in schema if name not in nested]

    def batches() -> Iterator[pl.DataFrame]:
        try:
            frame = pl.scan_parquet(path).select(plain).with_columns(pl.col(plain).cast(pl.String)).collect()
        except Exception as exc:
            raise unreadable(path, exc, "Parquet") from None
        yield _without_blanks(
            frame.with_row_index("_source_row", offset=1).with_columns(pl.col("_source_row").cast(pl.Int64)), plain
        )

    return TextFile(path=path, columns=list(schema), batches=batches(), nested=nested)


def _without_blanks(numbered: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """A row with no value at all (empty as the typing reads it: nothing but spaces) is no
    record; the others keep their position."""
    if not columns:
        return numbered
    blank = pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.strip_chars(" ") == "") for c in columns)
    return numbered.filter(~blank)


def read_excel(path: Path, sheet: str | None, header_row: int = 1) -> TextFile:
    """A sheet of an ``.xlsx`` workbook (the first unless ``sheet`` names one) whose column names
    are on row ``header_row`` as Excel numbers it (rows above it are skipped), every cell as text:
    a text cell as written, a number as its shortest text (3, 12.5), a formula as the value Excel
    last computed and saved with it, and a date or date-and-time cell in ISO notation
    (``_excel_dates``) — so that a declared ``format``, which applies to dates typed as text,
    leaves real date cells alone."""
    import fastexcel

    try:
        workbook = fastexcel.read_excel(path)
        if sheet is not None and sheet not in workbook.sheet_names:
            raise ContractError(
                f"{path}: has no sheet named {sheet!r} (its sheets: {', '.join(workbook.sheet_names)}); "
                "set the source's sheet to one of them"
            )
        chosen = sheet if sheet is not None else 0
        frame = workbook.load_sheet(chosen, header_row=header_row - 1, dtypes="string").to_polars()
        frame = _excel_dates(workbook, chosen, header_row, frame)
    except ContractError:
        raise
    except Exception as exc:  # fastexcel raises its own types for unreadable workbooks
        raise unreadable(path, exc, "an Excel workbook (.xlsx)") from None
    columns = [str(c).strip() for c in frame.columns]
    _refuse_repeated(path, columns)
    frame.columns = columns
    numbered = frame.with_row_index("_source_row", offset=1).with_columns(pl.col("_source_row").cast(pl.Int64))
    return TextFile(path=path, columns=columns, batches=iter([_without_blanks(numbered, columns)]))


# How a date cell reads as text (fastexcel writes them so); a text cell may look the same
_EXCEL_DATE_TEXT = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"


def _excel_dates(workbook, sheet: int | str, header_row: int, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (the sheet read as text) with its date cells in ISO notation: ``2024-01-31`` for a
    date (a cell at midnight), ``2024-01-31 08:30:00`` for a date and time. A date cell reads as
    text like ``2024-01-31 00:00:00``, which the contract's dates refuse; it is told from a text
    cell that looks the same by reading the column again as dates, where a text cell is empty,
    and from a number by its text (a number read as a date is a day count since 1900)."""
    candidates = [
        name
        for name, kind in frame.schema.items()
        if kind == pl.String and frame.get_column(name).str.contains(_EXCEL_DATE_TEXT).any()
    ]
    if not candidates:
        return frame
    as_dates = workbook.load_sheet(
        sheet, header_row=header_row - 1, use_columns=candidates, dtypes=dict.fromkeys(candidates, "datetime")
    ).to_polars()
    rendered = []
    for name in candidates:
        when = as_dates.get_column(name).cast(pl.Datetime("ms"))
        day = when.dt.strftime("%Y-%m-%d")
        is_date_cell = when.is_not_null() & pl.col(name).str.starts_with(day)
        iso = (
            pl.when(when.dt.time() == time(0))
            .then(day)
            .when(when.dt.millisecond() == 0)
            .then(when.dt.strftime("%Y-%m-%d %H:%M:%S"))
            .otherwise(when.dt.strftime("%Y-%m-%d %H:%M:%S%.3f"))
        )
        rendered.append(pl.when(is_date_cell).then(iso).otherwise(pl.col(name)).alias(name))
    return frame.with_columns(rendered)


def read_json(path: Path, *, lines: bool, encoding: str) -> TextFile:
    """A JSON array of objects, or JSON lines (one object per line; a line that is not an object
    is a malformed line). Nested objects become columns ``a__b`` (dlt's convention); lists stay
    JSON text."""
    malformed: list[Malformed] = []
    records: list[dict[str, str | None]] = []
    positions: list[int] = []
    python_encoding = _python_encoding(encoding)
    if lines:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    value = json.loads(raw.decode(python_encoding))
                except (UnicodeDecodeError, ValueError):
                    malformed.append(Malformed(number, f"line {number} is not a JSON object", characters=len(raw)))
                    continue
                if not isinstance(value, dict):
                    malformed.append(Malformed(number, f"line {number} is not a JSON object", characters=len(raw)))
                    continue
                records.append(flatten(value))
                positions.append(number)
    else:
        try:
            value = json.loads(path.read_bytes().decode(python_encoding))
        except (UnicodeDecodeError, ValueError) as exc:
            raise unreadable(path, exc, "JSON (an array of objects)") from None
        if isinstance(value, dict):  # {"orders": [...]}: the one list it holds
            lists = [v for v in value.values() if isinstance(v, list)]
            value = lists[0] if len(lists) == 1 else None
        if not isinstance(value, list):
            raise ContractError(f"{path}: a JSON file must hold an array of objects (or one object holding one array)")
        for number, item in enumerate(value, start=1):
            if isinstance(item, dict):
                records.append(flatten(item))
                positions.append(number)
            else:
                malformed.append(Malformed(number, f"item {number} is not a JSON object"))
    frame = records_frame(records, positions)
    return TextFile(
        path=path, columns=[c for c in frame.columns if c != "_source_row"], batches=iter([frame]), malformed=malformed
    )


def flatten(record: dict, prefix: str = "") -> dict[str, str | None]:
    """A JSON object as flat text columns: nested objects joined with ``__``, lists as JSON text."""
    flat: dict[str, str | None] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}__"))
        else:
            flat[name] = as_text(value)
    return flat


def as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def records_frame(records: list[dict[str, str | None]], positions: list[int]) -> pl.DataFrame:
    columns = list(dict.fromkeys(key for record in records for key in record))
    frame = pl.DataFrame(
        {c: [record.get(c) for record in records] for c in columns}, schema=dict.fromkeys(columns, pl.String)
    )
    return frame.with_columns(pl.Series("_source_row", positions, dtype=pl.Int64))
