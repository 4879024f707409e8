"""Fingerprints of what a result was computed from, so that a night re-estimates only what changed.

An initiative's effect estimates depend on the code, the whole register (an initiative-level
check and a panel's comparison pool look at the other initiatives) and the metric series of its
metrics (all units: the comparison pool and the placebo-in-space units are drawn from them).
``effect_fingerprints`` hashes exactly these; when an initiative's fingerprint equals the one
stored with the last published results, its estimates and its claims' placebo replays are still
right and are kept (``pipelines.memo``). A claim check's result is kept on this fingerprint and
whatever else the check read (``roi_ledger.claims.memo``).

The digests of the series are computed in DuckDB (``series_digests``): a count and the sum of a
hash of every row per metric, which does not depend on row order and reads no row into Python.
Numbers are compared to single precision there and to 9 significant digits elsewhere: DuckDB adds
in parallel, so the same rows sum to values that differ in their last bits from run to run. (A
value that lands on a rounding boundary can still change a fingerprint: the claim is then
computed again, which costs time, never correctness.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
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
        initiative.id: digest(shared, [(m, series.get(m), traits.get(m)) for m in sorted(initiative.metrics)])
        for initiative in register.measured_initiatives
    }
