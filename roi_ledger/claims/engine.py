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
from roi_ledger.effects.panel import build_panel
from roi_ledger.incremental import KeptResults, check_fingerprints
from roi_ledger.register import Initiative, Register
from roi_ledger.tables import schema

# A metric check's own result as the claims step keeps it from night to night, before the claim's
# tests are judged together (``adjust_family``, applied every run to kept and fresh results alike).
# Kept by ``check_fingerprints``; ``reads``: what the check declares it reads, comma-separated.
OWN_RESULT_KEY = ("initiative_id", "metric", "check_id")
OWN_RESULT_SCHEMA = {
    "initiative_id": pl.String,
    "metric": pl.String,
    "check_id": pl.String,
    "reads": pl.String,
    "status": pl.String,
    "message": pl.String,
    "observed": pl.Float64,
    "threshold": pl.Float64,
    "counts_toward_grade": pl.Boolean,
    "p_value": pl.Float64,
    "level": pl.Float64,
}
_RESULT = ("status", "message", "observed", "threshold", "counts_toward_grade", "p_value", "level")

__all__ = [
    "run_claim_checks",
    "grade_claims",
    "own_result_fingerprints",
    "OWN_RESULT_KEY",
    "OWN_RESULT_SCHEMA",
]


def own_result_fingerprints(
    register: Register,
    effects: dict[str, str],
    *,
    as_of: date,
    capped: dict[str, str],
    catalogue: list[MetricDefinition],
) -> dict[tuple[str, str, str], str]:
    """Per measured claim x metric check, the fingerprint its own result is kept by
    (``roi_ledger.incremental.check_fingerprints``); ``effects``: each initiative's effect
    fingerprint, ``capped``: a digest of each metric's capped series."""
    claims = [(i.id, metric) for i in register.measured_initiatives for metric in i.measured_metrics]
    return check_fingerprints(
        effects,
        claims,
        {check.check_id: check.reads for check in METRIC_CHECKS},
        as_of=as_of,
        capped=capped,
        definitions={metric: definition_of(catalogue, metric) for _, metric in claims},
    )


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
    kept: KeptResults | None = None,
) -> pl.DataFrame:
    """One row per initiative x metric x check (metric null for initiative-level checks).

    ``cases``: each initiative's business case as registered and edited
    (``roi_ledger.oversight.business_case.judge_cases``), for ``business_case_changed``;
    ``kept``: the last run's own results of the metric checks (``OWN_RESULT_SCHEMA``, by
    ``own_result_fingerprints``), each used while what it read is unchanged; this run's are
    recorded in it."""
    problems = problems if problems is not None else []
    case_of = {r["initiative_id"]: r for r in cases.iter_rows(named=True)} if cases is not None else {}
    by_metric = {key[0]: frame for key, frame in series.partition_by("metric", as_dict=True).items()}
    rows: list[dict] = []
    for initiative in register.measured_initiatives:
        thresholds = register.thresholds_for(initiative)
        for metric in initiative.measured_metrics:
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
            rows += _metric_check_rows(claim, _own_results(claim, kept, problems))
        whole = InitiativeClaim(register, initiative, case_of.get(initiative.id))
        rows += [
            _initiative_check_row(initiative, check.check_id, check.check_class.value, check.run(whole))
            for check in INITIATIVE_CHECKS
        ]
    return pl.DataFrame(rows, schema=schema("claim_checks"))


def _own_results(claim: MetricClaim, kept: KeptResults | None, problems: list[str]) -> dict[str, CheckResult | None]:
    """Each metric check's own result on ``claim``: kept, or computed (None when it failed)."""
    results: dict[str, CheckResult | None] = {}
    for check in METRIC_CHECKS:
        key = (claim.initiative.id, claim.metric, check.check_id)
        stored = kept.kept_row(key) if kept is not None else None
        if stored is not None:
            results[check.check_id] = CheckResult(**{name: stored[name] for name in _RESULT})
            continue
        try:
            result = results[check.check_id] = check.run(claim)
        except Exception as exc:  # one broken check must not hide the others
            problems.append(f"{claim.initiative.id} x {claim.metric}: {check.check_id} failed: {exc}")
            results[check.check_id] = None
            continue
        if kept is not None:  # a check that failed is not stored: it runs again
            own = {name: getattr(result, name) for name in _RESULT}
            own.update(observed=as_number(result.observed), threshold=as_number(result.threshold))
            kept.record(dict(zip(OWN_RESULT_KEY, key, strict=True), reads=",".join(check.reads), **own))
    return results


def _metric_check_rows(claim: MetricClaim, own: dict[str, CheckResult | None]) -> list[dict]:
    """The claim's rows: its checks' own results with its tests judged together (``adjust_family``)."""
    results, adjusted = adjust_family(own)
    rows = []
    for check in METRIC_CHECKS:
        result = results[check.check_id]
        rows.append(
            {
                "initiative_id": claim.initiative.id,
                "metric": claim.metric,
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
    return rows


def _initiative_check_row(initiative: Initiative, check_id: str, check_class: str, result: CheckResult) -> dict:
    return {
        "initiative_id": initiative.id,
        "metric": None,
        "check_id": check_id,
        "check_class": check_class,
        "method": None,
        "status": result.status,
        "observed": as_number(result.observed),
        "threshold": as_number(result.threshold),
        "message": result.message,
        "counts_toward_grade": result.counts_toward_grade,
        "p_value": result.p_value,
        "p_value_adjusted": None,
    }
