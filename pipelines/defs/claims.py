"""Claims: check every measured effect and initiative, grade them, and show the checks in the
Dagster UI as asset checks on ``marts/claim_checks``."""

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Definitions,
    MaterializeResult,
    multi_asset,
    multi_asset_check,
)

from pipelines.resources import RunResource
from pipelines.warehouse import INTERMEDIATE, replace_table
from roi_ledger.claims.base import INITIATIVE_CHECKS, METRIC_CHECKS, definitions_frame
from roi_ledger.claims.engine import run_claim_checks
from roi_ledger.claims.evidence import claim_evidence
from roi_ledger.claims.grading import grade_claims
from roi_ledger.claims.power import claim_power
from roi_ledger.oversight.business_case import as_registered

CLAIM_TABLES = {
    "claim_checks": "Every claim check on every initiative x metric and initiative (published as marts.claim_checks).",
    "claim_reliability": "A grade per initiative x metric and per initiative (published as marts.claim_reliability).",
    "claim_reliability_reasons": "The checks behind each grade, one row each (published as marts.claim_reliability_reasons).",
    "claim_check_definitions": "The registered claim checks (published as marts.claim_check_definitions).",
    "claim_power": "Per claim: its minimum detectable effect, power now and periods to a verdict (published as marts.claim_power).",
}
# The series the outliers check re-estimates on, built by dbt (models/intermediate).
CAPPED_SERIES = "intermediate.int_metric_values_capped"


@multi_asset(
    specs=[
        AssetSpec(
            [INTERMEDIATE, table],
            group_name="claims",
            description=description,
            deps=[
                AssetKey([INTERMEDIATE, "initiative_effects"]),
                AssetKey(["marts", "metric_series"]),
                AssetKey(["intermediate", "int_metric_values_capped"]),
                AssetKey([INTERMEDIATE, "business_cases"]),
            ],
        )
        for table, description in CLAIM_TABLES.items()
    ],
)
def claim_check_results(context: AssetExecutionContext, run: RunResource):
    """Run every claim check and grade the claims (roi_ledger.claims)."""
    run_context = run.context
    with run.warehouse.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        estimates = con.sql(f"select * from {INTERMEDIATE}.initiative_effects").pl()

        def capped(metric: str, share: float) -> pl.DataFrame:
            return con.execute(
                f"select unit_id, period_start, value from {CAPPED_SERIES} where metric = ? and cap_share = ?",
                [metric, share],
            ).pl()

        problems: list[str] = []
        cases = con.sql(f"select * from {INTERMEDIATE}.business_cases").pl()
        checks = run_claim_checks(
            run_context.register,
            series,
            estimates,
            as_of=run_context.as_of,
            catalogue=list(run_context.catalogue),
            traits=run_context.traits(set(series["metric"].unique().to_list())),
            capped_series=capped,
            problems=problems,
            cases=cases,
        )
        grades, reasons = grade_claims(checks)
        registered = as_registered(run_context.register, cases)
        expected = {
            (i.id, metric): change for i in registered.initiatives if i.expected for metric, change in i.expected.changes.items()
        }
        evidence = claim_evidence(
            run_context.register, series, estimates, run_context.traits(set(series["metric"].unique().to_list())), problems
        )
        frames = {
            "claim_checks": checks,
            "claim_reliability": grades,
            "claim_reliability_reasons": reasons,
            "claim_check_definitions": definitions_frame(),
            "claim_power": claim_power(
                estimates, grades, expected, evidence.min_posts, evidence.replay_rates, evidence.sensitivities
            ),
        }
        for name, frame in frames.items():
            replace_table(con, f"{INTERMEDIATE}.{name}", frame)
    for problem in problems:
        context.log.warning(problem)
    fired = checks.filter(checks["status"].is_in(["warn", "fail"]))
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_checks"]),
        metadata={"checks": checks.height, "fired": fired.height, "check_errors": len(problems)},
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_reliability"]),
        metadata={f"grade_{g}": int((grades["grade"] == g).sum()) for g in ("reliable", "needs_more_data", "suspicious", "unreliable")},
    )
    yield MaterializeResult(asset_key=AssetKey([INTERMEDIATE, "claim_reliability_reasons"]), metadata={"rows": reasons.height})
    yield MaterializeResult(asset_key=AssetKey([INTERMEDIATE, "claim_check_definitions"]), metadata={"checks": frames["claim_check_definitions"].height})
    power = frames["claim_power"]
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_power"]),
        metadata={"claims": power.height, "unreachable": int(power["verdict_reachable"].eq(False).sum())},
    )


CLAIMS_MART = AssetKey(["marts", "claim_checks"])
CHECK_IDS = [c.check_id for c in METRIC_CHECKS + INITIATIVE_CHECKS]


@multi_asset_check(
    specs=[
        AssetCheckSpec(name=check_id, asset=CLAIMS_MART, description=f"Claim check {check_id} (docs/claims.md)")
        for check_id in CHECK_IDS
    ],
)
def claim_health_checks(context: AssetCheckExecutionContext, run: RunResource):
    """Each claim check as a Dagster asset check: it passes when no claim fails it, and lists
    the claims that warn or fail. Claim checks never block a run: the numbers are published
    with their grades, not hidden."""
    with run.warehouse.connect() as con:
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


defs = Definitions(assets=[claim_check_results], asset_checks=[claim_health_checks])
