"""Keeping a claim check's result while what it read is unchanged.

A metric check reads its claim (``base.MetricClaim``): the estimates, series and panel, all
computed from the initiative's effect inputs (``roi_ledger.fingerprint.effect_fingerprints``),
the metric's catalogue definition, and — only some checks — the run date (``as_of``) and the
capped series (``capped_series``). A claim records which of those two each check reads
(``MetricClaim.reads``), so a check's result is fingerprinted on exactly what it read: a new day
re-runs ``stale_data`` (it reads the date) but keeps ``placebo_in_time``'s six refits (it does
not). What is stored is each check's own result, before the claim's tests are judged together
(``family.adjust_family``, which the engine applies every run to kept and fresh results alike).

A result is stored only for a check that ran without an error: a check that failed runs again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from roi_ledger.claims.base import TRACED, CheckResult, as_number
from roi_ledger.fingerprint import digest

Key = tuple[str, str, str]  # (initiative_id, metric, check_id)

MEMO_SCHEMA = {
    "initiative_id": pl.String,
    "metric": pl.String,
    "check_id": pl.String,
    "reads": pl.String,  # the traced inputs the check read, comma-separated ("" for none)
    "fingerprint": pl.String,
    "computed_by_run": pl.String,
    "status": pl.String,
    "message": pl.String,
    "observed": pl.Float64,
    "threshold": pl.Float64,
    "counts_toward_grade": pl.Boolean,
    "p_value": pl.Float64,
    "level": pl.Float64,
}
_RESULT = ("status", "message", "observed", "threshold", "counts_toward_grade", "p_value", "level")


@dataclass(frozen=True)
class _Entry:
    reads: tuple[str, ...]
    fingerprint: str
    computed_by_run: str
    result: CheckResult


class CheckMemo:
    """The check results of the last run (``stored``, a ``MEMO_SCHEMA`` frame) and this run's.

    ``inputs``: per initiative, the fingerprint of its effect inputs; ``definitions``: per
    metric, its catalogue definition (None for a KPI); ``as_of`` and ``capped`` (per metric, a
    digest of its capped series): the traced inputs as they are in this run."""

    def __init__(
        self,
        inputs: Mapping[str, str],
        *,
        as_of: date,
        capped: Mapping[str, str],
        definitions: Mapping[str, Any],
        run_id: str,
        stored: pl.DataFrame | None = None,
    ) -> None:
        self._inputs, self._as_of, self._capped, self._definitions = inputs, as_of, capped, definitions
        self._run_id = run_id
        self._stored: dict[Key, _Entry] = {}
        for row in (stored if stored is not None else pl.DataFrame(schema=MEMO_SCHEMA)).iter_rows(named=True):
            reads = tuple(r for r in row["reads"].split(",") if r)
            result = CheckResult(**{name: row[name] for name in _RESULT})
            self._stored[(row["initiative_id"], row["metric"], row["check_id"])] = _Entry(
                reads, row["fingerprint"], row["computed_by_run"], result
            )
        self._used: dict[Key, _Entry] = {}
        self.kept = 0
        self.computed = 0

    def fingerprint(self, initiative_id: str, metric: str, reads: Iterable[str]) -> str | None:
        """The fingerprint of a check on ``initiative_id`` x ``metric`` that read ``reads``
        (None when the initiative's inputs are unknown: the result is not stored)."""
        base = self._inputs.get(initiative_id)
        if base is None:
            return None
        traced = {"as_of": self._as_of, "capped_series": self._capped.get(metric)}
        return digest(base, metric, self._definitions.get(metric), [(r, traced[r]) for r in sorted(reads)])

    def result(self, initiative_id: str, metric: str, check_id: str) -> CheckResult | None:
        """The last run's result of this check, if what it read is unchanged; else None."""
        entry = self._stored.get((initiative_id, metric, check_id))
        if entry is None or self.fingerprint(initiative_id, metric, entry.reads) != entry.fingerprint:
            return None
        self._used[(initiative_id, metric, check_id)] = entry
        self.kept += 1
        return entry.result

    def record(self, initiative_id: str, metric: str, check_id: str, reads: Iterable[str], result: CheckResult) -> None:
        """Store a result this run computed, with what it read."""
        reads = tuple(sorted(set(reads) & set(TRACED)))
        fingerprint = self.fingerprint(initiative_id, metric, reads)
        self.computed += 1
        if fingerprint is not None:
            self._used[(initiative_id, metric, check_id)] = _Entry(reads, fingerprint, self._run_id, result)

    def frame(self) -> pl.DataFrame:
        """Every result this run used, kept or computed (``MEMO_SCHEMA``): the next run's ``stored``."""
        rows = [
            {
                "initiative_id": key[0],
                "metric": key[1],
                "check_id": key[2],
                "reads": ",".join(entry.reads),
                "fingerprint": entry.fingerprint,
                "computed_by_run": entry.computed_by_run,
                **{name: getattr(entry.result, name) for name in _RESULT},
                "observed": as_number(entry.result.observed),
                "threshold": as_number(entry.result.threshold),
            }
            for key, entry in self._used.items()
        ]
        return pl.DataFrame(rows, schema=MEMO_SCHEMA)
