"""Run every claim check on every measured initiative x metric, and on every initiative."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from roi_ledger.catalogue import MetricDefinition, MetricTraits, definition_of
from roi_ledger.claims import checks  # noqa: F401 - importing registers the checks
from roi_ledger.claims.base import (
    INITIATIVE_CHECKS,
    METRIC_CHECKS,
    CheckResult,
    InitiativeClaim,
    MetricClaim,
    as_number,
)
from roi_ledger.claims.family import adjust_family
from roi_ledger.claims.grading import grade_claims
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.claims.memo import CheckMemo
from roi_ledger.effects.panel import build_panel
from roi_ledger.register import Register
from roi_ledger.tables import schema

__all__ = ["run_claim_checks", "grade_claims"]


def run_claim_checks(
    register: Register,
    series: pl.DataFrame,
    estimates: pl.DataFrame,
    *,
    as_of: date,
    catalogue: list[MetricDefinition],
    traits: dict[str, MetricTraits],
    capped_series: Callable[[str, float], pl.DataFrame | None] = lambda metric, share: None,
    problems: list[str] | None = None,
    cases: pl.DataFrame | None = None,
    memo: CheckMemo | None = None,
) -> pl.DataFrame:
    """One row per initiative x metric x check (metric null for initiative-level checks).

    ``cases``: each initiative's business case as registered and edited
    (``roi_ledger.oversight.business_case.judge_cases``), for ``business_case_changed``;
    ``memo``: the last run's check results, each kept while what it read is unchanged, and
    where this run's are recorded (``memo.CheckMemo``)."""
    problems = problems if problems is not None else []
    case_of = {r["initiative_id"]: r for r in cases.iter_rows(named=True)} if cases is not None else {}
    by_metric = {key[0]: frame for key, frame in series.partition_by("metric", as_dict=True).items()}
    rows: list[dict] = []
    for initiative in register.measured_initiatives:
        thresholds = register.thresholds_for(initiative)
        for metric in initiative.metrics:
            metric_series = by_metric.get(metric, series.clear())
            claim = MetricClaim(
                register=register,
                initiative=initiative,
                metric=metric,
                series=metric_series,
                panel=build_panel(register, initiative, metric, metric_series, traits),
                estimates=estimates.filter((pl.col("initiative_id") == initiative.id) & (pl.col("metric") == metric)),
                thresholds=thresholds,
                as_of=as_of,
                traits=traits,
                definition=definition_of(catalogue, metric),
                capped_series=capped_series,
            )
            results: dict[str, CheckResult | None] = {}
            for check in METRIC_CHECKS:
                kept = memo.result(initiative.id, metric, check.check_id) if memo is not None else None
                if kept is not None:
                    results[check.check_id] = kept
                    continue
                claim.reads.clear()
                try:
                    results[check.check_id] = check.run(claim)
                except Exception as exc:  # one broken check must not hide the others
                    problems.append(f"{initiative.id} x {metric}: {check.check_id} failed: {exc}")
                    results[check.check_id] = None
                    continue
                if memo is not None:
                    memo.record(initiative.id, metric, check.check_id, claim.reads, results[check.check_id])
            results, adjusted = adjust_family(results)
            for check in METRIC_CHECKS:
                result = results[check.check_id]
                rows.append(
                    {
                        "initiative_id": initiative.id,
                        "metric": metric,
                        "check_id": check.check_id,
                        "check_class": check.check_class.value,
                        "method": claim.method,
                        "status": result.status if result else CheckStatus.NOT_APPLICABLE,
                        "observed": as_number(result.observed) if result else None,
                        "threshold": as_number(result.threshold) if result else None,
                        "message": result.message if result else "The check could not be computed.",
                        "counts_toward_grade": result.counts_toward_grade if result else False,
                        "p_value": result.p_value if result else None,
                        "p_value_adjusted": adjusted.get(check.check_id),
                    }
                )
        for check in INITIATIVE_CHECKS:
            result = check.run(InitiativeClaim(register, initiative, case_of.get(initiative.id)))
            rows.append(
                {
                    "initiative_id": initiative.id,
                    "metric": None,
                    "check_id": check.check_id,
                    "check_class": check.check_class.value,
                    "method": None,
                    "status": result.status,
                    "observed": as_number(result.observed),
                    "threshold": as_number(result.threshold),
                    "message": result.message,
                    "counts_toward_grade": result.counts_toward_grade,
                    "p_value": result.p_value,
                    "p_value_adjusted": None,
                }
            )
    return pl.DataFrame(rows, schema=schema("claim_checks"))
