"""Claims: check every measured effect and initiative, grade them, and show the checks in the
Dagster UI as asset checks on ``marts/claim_checks``."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    multi_asset,
    multi_asset_check,
)

from pipelines.resources import RoiSettings
from roi_ledger.catalogue import definition_of, load_catalogue, metric_traits
from roi_ledger.claims.base import INITIATIVE_CHECKS, METRIC_CHECKS
from roi_ledger.claims.engine import run_claim_checks
from roi_ledger.claims.grading import grade_claims
from roi_ledger.claims.records import capped_series

CLAIM_TABLES = {
    "claim_check_results": "Every claim check on every initiative x metric and initiative (published as marts.claim_checks).",
    "claim_grades": "A grade per initiative x metric and per initiative (published as marts.claim_reliability).",
    "claim_grade_reasons": "The checks behind each grade, one row each (published as marts.claim_reliability_reasons).",
}


@multi_asset(
    specs=[
        AssetSpec(
            ["estimates", table],
            group_name="claims",
            description=description,
            deps=[AssetKey(["estimates", "effect_estimates"]), AssetKey(["marts", "metric_series"])],
        )
        for table, description in CLAIM_TABLES.items()
    ],
)
def claim_check_results(context: AssetExecutionContext, settings: RoiSettings):
    """Run every claim check and grade the claims (roi_ledger.claims)."""
    register = settings.register()
    as_of = settings.as_of()
    catalogue = load_catalogue(register.catalogue, source=str(settings.config))
    with settings.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        estimates = con.sql("select * from intermediate.effect_estimates").pl()
        traits = metric_traits(catalogue, set(series["metric"].unique().to_list()))

        def capped(metric: str):
            definition = definition_of(catalogue, metric)
            if definition is None:
                return None
            share = register.thresholds_for(None).outlier_cap_share
            return capped_series(con, series.filter(series["metric"] == metric), definition, metric, as_of=as_of, cap_share=share)

        problems: list[str] = []
        checks = run_claim_checks(
            register, series, estimates, as_of=as_of, catalogue=catalogue, traits=traits, capped_series=capped, problems=problems
        )
        grades, reasons = grade_claims(checks)
        frames = {"claim_check_results": checks, "claim_grades": grades, "claim_grade_reasons": reasons}
        for name, frame in frames.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create or replace table intermediate.{name} as select * from frame")
            con.unregister("frame")
    for problem in problems:
        context.log.warning(problem)
    fired = checks.filter(checks["status"].is_in(["warn", "fail"]))
    yield MaterializeResult(
        asset_key=AssetKey(["estimates", "claim_check_results"]),
        metadata={"checks": checks.height, "fired": fired.height, "check_errors": len(problems)},
    )
    yield MaterializeResult(
        asset_key=AssetKey(["estimates", "claim_grades"]),
        metadata={f"grade_{g}": int((grades["grade"] == g).sum()) for g in ("reliable", "needs_more_data", "suspicious", "unreliable")},
    )
    yield MaterializeResult(asset_key=AssetKey(["estimates", "claim_grade_reasons"]), metadata={"rows": reasons.height})


CLAIMS_MART = AssetKey(["marts", "claim_checks"])
CHECK_IDS = [c.check_id for c in METRIC_CHECKS + INITIATIVE_CHECKS]


@multi_asset_check(
    specs=[
        AssetCheckSpec(name=check_id, asset=CLAIMS_MART, description=f"Claim check {check_id} (docs/claims.md)")
        for check_id in CHECK_IDS
    ],
)
def claim_health_checks(context: AssetCheckExecutionContext, settings: RoiSettings):
    """Each claim check as a Dagster asset check: it passes when no claim fails it, and lists
    the claims that warn or fail. Claim checks never block a run: the numbers are published
    with their grades, not hidden."""
    with settings.connect() as con:
        checks = con.sql("select * from marts.claim_checks").pl()
    for check_id in CHECK_IDS:
        rows = checks.filter(checks["check_id"] == check_id)
        fired = rows.filter(rows["status"].is_in(["warn", "fail"]))
        failed = rows.filter(rows["status"] == "fail")
        claims = [f"{r['initiative_id']}{':' + r['metric'] if r['metric'] else ''} ({r['status']})" for r in fired.iter_rows(named=True)]
        yield AssetCheckResult(
            asset_key=CLAIMS_MART,
            check_name=check_id,
            passed=failed.is_empty(),
            severity=AssetCheckSeverity.WARN,
            metadata={"claims_checked": rows.height, "warn_or_fail": fired.height, "claims": ", ".join(claims) or "none"},
        )
