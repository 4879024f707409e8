"""Keeping what did not change: the one rule by which a night keeps a result of the last run.

A result is kept while the fingerprint of everything it was computed from is the one stored with
it by the run that computed it (``is_unchanged``); any change — an input, ROI Ledger's code, a
library's version — computes it again. Where a night decides so:

| what is kept | per | fingerprint of | stored in |
| --- | --- | --- | --- |
| the whole run | run | every input (``inputs_fingerprint``) | ``marts.runs.inputs_fingerprint`` |
| the staging tables | run | code, timezone, erasures (``history_digest``) | ``raw.run_context`` |
| effect estimates and pictures | initiative | ``effect_fingerprints`` | ``python.effect_fingerprints`` |
| placebo replays, trend sensitivity | initiative | ``effect_fingerprints`` | ``python.claim_evidence`` |
| a claim check's own result | claim x check | ``check_fingerprints`` | ``python.claim_check_memo`` |

(``inputs_fingerprint`` and ``history_digest`` are in ``pipelines.runtime.incremental``.)

The per-key results go through ``KeptResults``: this run's fingerprints against the table the last
run stored, which says which keys are kept and which are computed again, and builds the table to
store for the next run. The warehouse side (reading the last run's table from the build file, the
whole run's and the staging tables' decisions) is ``pipelines.runtime.incremental``.

A landed file is not decided here: ``connectors.files`` skips a file whose content (its SHA-256)
``raw.loaded_files`` already has, under any name, inside the landing's own transaction. A file's
content hash is what it is, not the fingerprint of a result that could be computed again.

An initiative's effect estimates depend on the code, the whole register (an initiative-level
check and a panel's comparison pool look at the other initiatives) and the metric series of its
metrics (all units: the comparison pool and the placebo-in-space units are drawn from them). A
claim check's result depends on those, the metric's definition and what the check declares it
reads of the rest (``@claim_check(..., reads=...)``: the run date, the capped series).

The digests of the series are computed in DuckDB (``series_digests``): a count and the sum of a
hash of every row per metric, which does not depend on row order and reads no row into Python.
Numbers are compared to single precision there and to 9 significant digits elsewhere: DuckDB adds
in parallel, so the same rows sum to values that differ in their last bits from run to run. (A
value that lands on a rounding boundary can still change a fingerprint: the result is then
computed again, which costs time, never correctness.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Hashable, Iterable, Mapping
from datetime import date
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from roi_ledger.register import Register

# Floats are compared to this many significant digits: DuckDB's parallel sums and the estimators
# built on them differ from run to run in the last bits, which must not count as a change.
SIGNIFICANT_DIGITS = 9

# The libraries whose numbers a result depends on: a new version recomputes everything.
NUMERIC_LIBRARIES = ("numpy", "scipy", "statsmodels", "polars", "duckdb")

# The columns a stored result carries beside its own: what it was computed from, and by which run.
FINGERPRINT, COMPUTED_BY_RUN = "fingerprint", "computed_by_run"


def is_unchanged(fingerprint: str | None, stored: str | None) -> bool:
    """Whether a result stored with fingerprint ``stored`` may be kept by a run whose inputs have
    ``fingerprint`` (None, on either side: unknown, so never kept)."""
    return fingerprint is not None and fingerprint == stored


def source_digest(root: Path, paths: Iterable[Path], libraries: Iterable[str]) -> str:
    """A digest of the files ``paths`` (named relative to ``root``) and of the installed versions
    of ``libraries`` (an absent one counts as such)."""
    found = hashlib.sha256()
    for path in sorted(paths):
        found.update(str(path.relative_to(root)).encode())
        found.update(path.read_bytes())
    for library in libraries:
        try:
            found.update(f"{library}=={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            found.update(f"{library} absent".encode())
    return found.hexdigest()


@cache
def code_version() -> str:
    """A digest of ROI Ledger's own source and the versions of the numeric libraries it uses."""
    package = Path(__file__).parent
    return source_digest(package, package.rglob("*.py"), NUMERIC_LIBRARIES)


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data, the same for equal values (pydantic models, dataclasses,
    frames, sets and dates included)."""
    if hasattr(value, "model_dump"):
        return canonical(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return canonical(dataclasses.asdict(value))
    if isinstance(value, pl.DataFrame):
        return canonical(value.sort(value.columns, nulls_last=True).to_dicts())
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=json.dumps)
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return "NaN" if value != value else float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(canonical(list(parts)), sort_keys=True, default=str).encode()).hexdigest()


def series_digests(
    con: duckdb.DuckDBPyConnection, table: str, columns: Iterable[str], floats: Iterable[str] = ()
) -> dict[str, str]:
    """Per metric of ``table``: its row count and the sum of a hash of each row's ``columns``, the
    ``floats`` among them to single precision (a sum that differs in its last bits is the same)."""
    floats = set(floats)
    row = ", ".join(f"cast({c} as float)" if c in floats else c for c in columns)
    return {
        metric: f"{rows}:{total}"
        for metric, rows, total in con.execute(
            f"select metric, count(*), sum(hash({row})::hugeint)::varchar from {table} group by metric"
        ).fetchall()
    }


def effect_fingerprints(register: Register, *, series: Mapping[str, str], traits: Mapping[str, Any]) -> dict[str, str]:
    """One fingerprint per measured initiative of everything its effect estimates are computed
    from: the code, the register (a panel's comparison pool leaves out other initiatives' units),
    and the metric series (``series_digests``) and traits of its metrics."""
    shared = digest(code_version(), register)
    return {
        initiative.id: digest(shared, [(m, series.get(m), traits.get(m)) for m in sorted(initiative.measured_metrics)])
        for initiative in register.measured_initiatives
    }


def check_fingerprints(
    effects: Mapping[str, str],
    claims: Iterable[tuple[str, str]],
    reads: Mapping[str, Collection[str]],
    *,
    as_of: date,
    capped: Mapping[str, str],
    definitions: Mapping[str, Any],
) -> dict[tuple[str, str, str], str]:
    """Per claim (initiative, metric) x check (``reads``: each check's declared reads), the
    fingerprint of what the check's result is computed from: the initiative's effect inputs
    (``effects``), the metric's catalogue definition, and of ``as_of`` and the metric's capped
    series (``capped``: a digest per metric) those the check reads. A claim whose initiative has
    no effect fingerprint has none (its results are computed every run)."""
    fingerprints = {}
    for initiative_id, metric in claims:
        if initiative_id not in effects:
            continue
        declared = {"as_of": as_of, "capped_series": capped.get(metric)}
        for check_id, check_reads in reads.items():
            fingerprints[(initiative_id, metric, check_id)] = digest(
                effects[initiative_id],
                metric,
                definitions.get(metric),
                [(name, declared[name]) for name in sorted(check_reads)],
            )
    return fingerprints


class KeptResults:
    """The results the last run stored, each kept while its fingerprint is this run's.

    ``key``: the (string) columns that name a result, a key being the value of the one column or a
    tuple of several; ``schema``: a stored row's columns, the key's included (the table stored also
    has ``fingerprint`` and ``computed_by_run``); ``fingerprints``: this run's, per key, in the
    order results are written; ``stored``: the table the last run stored (None in a new
    warehouse; a table without these columns, written by an older version, keeps nothing).

    ``kept`` maps each key whose fingerprint is unchanged to the run that computed it;
    ``changed`` lists the others, to compute. One stored row per key (``kept_row``, ``record``)
    or several (``kept_rows``, ``table(fresh)``); ``merged`` keeps the rows of another table the
    last run wrote (a step's published results, stored apart from their fingerprints)."""

    def __init__(
        self,
        key: Iterable[str],
        schema: Mapping[str, pl.DataType],
        fingerprints: Mapping[Hashable, str],
        stored: pl.DataFrame | None,
        run_id: str,
    ) -> None:
        self.key, self.schema, self.fingerprints, self.run_id = tuple(key), dict(schema), dict(fingerprints), run_id
        columns = {**self.schema, FINGERPRINT: pl.String, COMPUTED_BY_RUN: pl.String}
        fits = stored is not None and set(columns) <= set(stored.columns)
        stored = stored.select(list(columns)).cast(columns) if fits else pl.DataFrame(schema=columns)
        self.kept: dict[Hashable, str] = {}
        for row in stored.select(*self.key, FINGERPRINT, COMPUTED_BY_RUN).iter_rows():
            key_value = self._key_value(row[: len(self.key)])
            if is_unchanged(self.fingerprints.get(key_value), row[-2]):
                self.kept[key_value] = row[-1]
        self.changed = [key_value for key_value in self.fingerprints if key_value not in self.kept]
        self._stored = self._only_kept(stored)
        self._kept_rows: dict[Hashable, dict] | None = None
        self._recorded: list[dict] = []

    def _key_value(self, values: tuple) -> Hashable:
        return values[0] if len(self.key) == 1 else tuple(values)

    def _keys_frame(self, keys: Iterable[Hashable]) -> pl.DataFrame:
        rows = [key_value if len(self.key) > 1 else (key_value,) for key_value in keys]
        return pl.DataFrame(rows, schema=dict.fromkeys(self.key, pl.String), orient="row")

    def kept_rows(self) -> pl.DataFrame:
        """The stored rows of the kept keys, in ``schema``."""
        return self._stored.select(list(self.schema))

    def _only_kept(self, rows: pl.DataFrame) -> pl.DataFrame:
        kept = rows.with_row_index("_row").join(self._keys_frame(self.kept), on=list(self.key), how="semi")
        return kept.sort("_row").drop("_row")

    def kept_row(self, key_value: Hashable) -> dict | None:
        """The stored row (in ``schema``) of ``key_value`` when it is kept; else None."""
        if self._kept_rows is None:
            self._kept_rows = {}
            for row in self.kept_rows().iter_rows(named=True):
                self._kept_rows.setdefault(self._key_value(tuple(row[c] for c in self.key)), row)
        return self._kept_rows.get(key_value)

    def record(self, row: Mapping[str, Any]) -> None:
        """A result this run computed, as a stored row (``schema``), for ``table``."""
        self._recorded.append(dict(row))

    def merged(self, fresh: pl.DataFrame, last: pl.DataFrame | None) -> pl.DataFrame:
        """The kept keys' rows of ``last`` (a table of results the last run wrote; None when there
        is none) and ``fresh``, shaped like ``fresh``, by key in the order of ``fingerprints`` (one
        key's rows in the order they were)."""
        # A table from before a column was added has no rows to keep (the code changed: every key did).
        if last is not None and not set(fresh.columns) <= set(last.columns):
            last = None
        kept = fresh.clear() if last is None else self._only_kept(last).select(fresh.columns).cast(dict(fresh.schema))
        order = self._keys_frame(self.fingerprints).with_row_index("_position")
        rows = pl.concat([kept, fresh]).with_row_index("_row")
        return (
            rows.join(order, on=list(self.key), how="left")
            .sort(["_position", "_row"], nulls_last=True)
            .drop("_position", "_row")
        )

    def table(self, fresh: pl.DataFrame | None = None) -> pl.DataFrame:
        """The table to store for the next run: the kept rows as stored, and the rows this run
        computed (``record``, and ``fresh`` in ``schema``) with their fingerprint and this run."""
        recorded = pl.DataFrame(self._recorded, schema=self.schema)
        computed = pl.concat(
            [recorded, *([] if fresh is None else [fresh.select(list(self.schema)).cast(self.schema)])]
        )
        fingerprints = self._keys_frame(self.fingerprints).with_columns(
            pl.Series(FINGERPRINT, list(self.fingerprints.values()), dtype=pl.String),
            pl.lit(self.run_id, dtype=pl.String).alias(COMPUTED_BY_RUN),
        )
        fresh_rows = computed.with_row_index("_row").join(fingerprints, on=list(self.key), how="inner")
        return self.merged(fresh_rows.sort("_row").drop("_row"), last=self._stored)
