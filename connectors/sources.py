"""The sources file: where each dataset of the contract comes from (docs/sources.md).

``sources.yml`` in the data folder names, per source, a dataset of the contract and where its
records come from — ``files`` (a path or glob in the data folder), ``sql`` (a table of a database
whose connection string is in an environment variable) or ``rest_api`` (an HTTP API read with
dlt's ``rest_api`` source) — and how the source's fields map onto the contract's columns. A
``preset`` (``shopify``, ``zendesk``, ``harvest``, ``clockify``: ``connectors.presets``) supplies
the mapping and the API's endpoint for a tool the business already uses.

Without a sources file, each dataset is read from the files named after it (``orders.csv``,
``orders/``: docs/data-contract.md), column for column.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from roi_ledger.contract import DATASETS, FILE_SUFFIXES, ContractError

SOURCES_FILE = "sources.yml"


class ColumnMap(BaseModel):
    """How one contract column is made from a source's fields: exactly one of ``column``,
    ``constant``, ``sql`` or ``generated``; ``map`` and ``format`` refine a ``column``."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    constant: str | int | float | bool | None = None
    sql: str | None = None
    generated: Literal["row_hash"] | None = None
    # a generated id's identity: the contract columns that say which record a row is (default:
    # every other column of the dataset), compared as typed values, so a record exported again
    # with other columns changed, or in another format, keeps its id (docs/data-contract.md)
    of: list[str] | None = None
    # value words -> contract values, matched ignoring case and surrounding spaces; a value not
    # listed is kept as it is (and rejected by the contract's rule if it breaks it) unless
    # ``otherwise`` says what it becomes
    map: dict[str, str | int | float | bool | None] | None = None
    otherwise: str | int | float | bool | None = None
    has_otherwise: bool = Field(default=False, exclude=True)
    format: str | None = None  # strptime format of a date or timestamp column

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"column": value}
        if isinstance(value, dict) and "otherwise" in value:
            return {**value, "has_otherwise": True}
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ColumnMap:
        given = [k for k in ("column", "constant", "sql", "generated") if self._given(k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of column, constant, sql or generated"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if (self.map is not None or self.format) and self.column is None and self.sql is None:
            raise ValueError("map and format apply to a column or an sql expression")
        return self

    def _given(self, name: str) -> bool:
        if name == "constant":
            return "constant" in self.model_fields_set
        return getattr(self, name) is not None


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str
    preset: str | None = None
    columns: dict[str, ColumnMap] = Field(default_factory=dict)
    # a source field; rows that share its value are one record, the first row holding the
    # record's fields (Shopify's order export: one row per line item)
    one_record_per: str | None = None
    decimal: Literal[".", ","] | None = None
    date_format: str | None = None
    timestamp_format: str | None = None

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value not in DATASETS:
            raise ValueError(f"unknown dataset {value!r} (the contract's datasets: {', '.join(DATASETS)})")
        return value


class FilesSource(_Source):
    kind: Literal["files"] = "files"
    path: str  # a path or glob relative to the data folder
    format: Literal["csv", "tsv", "parquet", "json", "jsonl", "xlsx"] | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    header_row: int = Field(default=1, ge=1)
    sheet: str | None = None


class SqlSource(_Source):
    kind: Literal["sql"]
    connection_env: str  # the environment variable holding the SQLAlchemy connection string
    table: str  # a table or a view (a query is pulled as a view of it)
    schema_: str | None = Field(default=None, alias="schema")
    cursor: str | None = None  # a column that grows when a row is added or changed


class RestApiSource(_Source):
    kind: Literal["rest_api"]
    # dlt's rest_api configuration, as its documentation writes it: ``client`` (base_url, auth,
    # paginator, headers) and ``resource`` (endpoint: path, params, data_selector, paginator).
    # Secrets are written {env: VARIABLE} and read from the environment when the source runs.
    client: dict[str, Any] = Field(default_factory=dict)
    resource: dict[str, Any] = Field(default_factory=dict)
    base_url: str | None = None  # overrides the preset's (or client's) base URL
    cursor: str | None = None  # a record field that grows when a record is added or changed
    cursor_param: str | None = None  # the query parameter the cursor is sent in
    cursor_format: Literal["iso", "unix"] = "iso"  # how the parameter writes it
    initial_value: str | None = None  # where the first pull starts
    # records the same pages carry beside the main ones (Zendesk's metric sets), joined onto
    # them: {data_selector, key (their field), joins (the record's field), prefix}
    sideload: dict[str, str] | None = None


Source = Annotated[FilesSource | SqlSource | RestApiSource, Field(discriminator="kind")]


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: dict[str, Source]


def _with_kind(raw: dict) -> dict:
    return {
        name: ({"kind": "files", **spec} if isinstance(spec, dict) and "kind" not in spec else spec)
        for name, spec in raw.items()
    }


def load_sources(data_dir: Path) -> dict[str, FilesSource | SqlSource | RestApiSource]:
    """The sources of a data folder: its ``sources.yml`` with presets applied, else one files
    source per dataset named after it. Raises ``ContractError`` naming the file and field."""
    path = data_dir / SOURCES_FILE
    if not path.exists():
        return default_sources(data_dir)
    from roi_ledger.register import check_yaml_shape, yaml_problem

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContractError(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    check_yaml_shape(text, str(path), ContractError)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: {yaml_problem(exc)} (see docs/sources.md)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), dict):
        raise ContractError(f"{path}: expected a mapping with a 'sources' key (see docs/sources.md)")
    return parse_sources(raw["sources"], path)


def parse_sources(raw_sources: dict, path: Path) -> dict[str, FilesSource | SqlSource | RestApiSource]:
    """The ``sources:`` mapping of a sources file (``path``, named in messages), presets applied
    and checked (``roi init`` checks the one it is about to write with it)."""
    from connectors.presets import apply_preset

    specs = {}
    for name, spec in raw_sources.items():
        if not isinstance(spec, dict):
            raise ContractError(f"{path}: source {name!r} must be a mapping")
        specs[name] = apply_preset(spec, f"{path}: source {name!r}")
    try:
        parsed = SourcesFile.model_validate({"sources": _with_kind(specs)})
    except ValidationError as exc:
        raise ContractError(f"{path}: " + "; ".join(_describe(error) for error in exc.errors())) from None
    for name, source in parsed.sources.items():
        check_mapping(source, f"{path}: source {name!r}")
    return parsed.sources


def _describe(error) -> str:
    parts = [str(part) for part in error["loc"]]
    if len(parts) > 2 and parts[2] in ("files", "sql", "rest_api"):
        del parts[2]  # the kind pydantic chose the source's model by
    return f"{'.'.join(parts)}: {error['msg']}"


def check_mapping(source, where: str) -> None:
    """Every contract column a source fills must exist; every required one must be filled
    (by the mapping, or, with no mapping, by a source field of the same name)."""
    dataset = DATASETS[source.dataset]
    unknown = sorted(set(source.columns) - set(dataset.column_names))
    if unknown:
        raise ContractError(
            f"{where}: columns {', '.join(unknown)} are not columns of dataset {dataset.name} "
            f"(its columns: {', '.join(dataset.column_names)})"
        )


def default_sources(data_dir: Path) -> dict[str, FilesSource]:
    """Without a sources file: each dataset from its own files, column for column."""
    found = discover_files(data_dir)
    return {name: FilesSource(dataset=name, path=name) for name in found}


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


def source_files(data_dir: Path, source: FilesSource) -> list[Path]:
    """The files a files source reads, by name: the dataset's own files when its path is the
    dataset's name (``orders``: ``orders.csv`` and ``orders/*``), else the path or glob."""
    if source.path in DATASETS and source.format is None and not any(ch in source.path for ch in "*?["):
        found = discover_files(data_dir).get(source.path, [])
        if found:
            return found
    if not data_dir.is_dir():
        raise ContractError(f"{data_dir}: data directory not found")
    root = data_dir.resolve()
    pattern = source.path
    matches = sorted(data_dir.glob(pattern)) if any(ch in pattern for ch in "*?[") else [data_dir / pattern]
    files = []
    for path in matches:
        if path.is_dir():
            files += [f for f in sorted(path.iterdir()) if _is_data_file(f, root)]
        elif _is_data_file(path, root):
            files.append(path)
    return files


def _is_data_file(path: Path, root: Path) -> bool:
    if not path.exists() and not path.is_symlink():
        return False
    if path.is_symlink() and not path.resolve().is_relative_to(root):
        raise ContractError(
            f"{path}: is a link to a file outside the data folder; copy the file into the folder instead"
        )
    if path.is_dir():
        return False
    if not path.is_file():
        raise ContractError(
            f"{path}: is not a regular file (a pipe, a device or a folder?); data files must be regular files"
        )
    return True


def ignored_files(data_dir: Path, sources: dict) -> list[tuple[Path, str]]:
    """Files in the data folder that no source reads, each with why (``roi validate`` lists them)."""
    if not data_dir.is_dir():
        return []
    read = {p.resolve() for s in sources.values() if isinstance(s, FilesSource) for p in source_files(data_dir, s)}
    ignored = []
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.name == SOURCES_FILE or path.name.startswith(".") or path.resolve() in read:
            continue
        if path.suffix.lower() not in (
            ".csv",
            ".tsv",
            ".txt",
            ".parquet",
            ".json",
            ".jsonl",
            ".ndjson",
            ".xlsx",
            ".xls",
        ):
            why = "not a data file format ROI Ledger reads"
        elif (data_dir / SOURCES_FILE).exists():
            why = f"no source in {SOURCES_FILE} reads it"
        else:
            why = f"not named after a dataset ({', '.join(DATASETS)}); add a source for it in {SOURCES_FILE}"
        ignored.append((path, why))
    return ignored


def resolve_secrets(value: Any, where: str) -> Any:
    """Replace every ``{env: NAME}`` in a configuration with the variable's value."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            name = value["env"]
            secret = os.environ.get(name)
            if not secret:
                raise ContractError(f"{where}: the environment variable {name} is not set")
            return secret
        return {k: resolve_secrets(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, where) for v in value]
    return value


def secrets_in(value: Any) -> list[str]:
    """The values of every ``{env: NAME}`` of a configuration that is set (to keep out of messages)."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            secret = os.environ.get(value["env"])
            return [secret] if secret else []
        return [s for v in value.values() for s in secrets_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in secrets_in(v)]
    return []
