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
    Definitions,
    multi_asset_check,
)

from pipelines.defs.effects import EFFECT_FINGERPRINTS
from pipelines.runtime.incremental import kept_results, stored_fingerprints
from pipelines.runtime.resources import RunResource
from pipelines.runtime.steps import Inputs, Outputs, python_step
from pipelines.runtime.warehouse import PYTHON
from roi_ledger.claims.base import INITIATIVE_CHECKS, METRIC_CHECKS, definitions_frame
from roi_ledger.claims.engine import OWN_RESULT_KEY, OWN_RESULT_SCHEMA, own_result_fingerprints, run_claim_checks
from roi_ledger.claims.evidence import EVIDENCE_SCHEMA, evidence_keeping
from roi_ledger.claims.grading import grade_claims
from roi_ledger.claims.labels import FIRED, CheckStatus, Grade
from roi_ledger.claims.power import claim_looks, claim_power, expected_changes
from roi_ledger.incremental import KeptResults, series_digests
from roi_ledger.oversight.business_case import as_registered

# The series the outliers check re-estimates on, built by dbt (models/intermediate).
CAPPED_SERIES = "intermediate.int_metric_values_capped"
# Each check's own result with the fingerprint of what it read (roi_ledger.incremental).
MEMO = "claim_check_memo"
# Each claim's placebo replays and trend sensitivity, with the effect fingerprint they were computed from.
EVIDENCE = "claim_evidence"
# What the claims are fingerprinted on, of the capped series (roi_ledger.incremental).
CAPPED_COLUMNS = ("unit_id", "metric", "period_start", "cap_share", "value")
SERIES, EFFECTS, CASES = "marts.metric_series", f"{PYTHON}.initiative_effects", f"{PYTHON}.business_cases"


@python_step(
    group="claims",
    # the capped series is read a metric and a cap share at a time (_capped_series), not whole
    reads=[EFFECTS, SERIES, CAPPED_SERIES, CASES],
    writes=[
        "claim_checks",
        "claim_reliability",
        "claim_reliability_reasons",
        "claim_check_definitions",
        "claim_power",
        EVIDENCE,
        MEMO,
    ],
    internal={
        EVIDENCE: (
            "Per claim: its placebo replays' rates, trend sensitivity and breakdown value (published in "
            "marts.claim_power), with the fingerprint of its effects' inputs and the run that computed them; "
            "kept while that fingerprint is unchanged (roi_ledger.incremental)."
        ),
        MEMO: (
            "Per claim x check: the check's own result (before the claim's tests are judged together), what it "
            "read beyond the estimates' inputs, and the fingerprint of it; kept while that fingerprint is "
            "unchanged (roi_ledger.incremental)."
        ),
    },
)
def claim_check_results(context: AssetExecutionContext, run: RunResource, inputs: Inputs) -> Outputs:
    """Run every claim check and grade the claims (roi_ledger.claims). A check whose inputs are
    what it read in the last run keeps its result, and a claim whose estimates' inputs are
    unchanged keeps its placebo replays (roi_ledger.incremental); grades and power are recomputed."""
    run_context, register = run.context, run.context.register
    series, estimates, cases = inputs[SERIES], inputs[EFFECTS], inputs[CASES]
    traits = run_context.traits(set(series["metric"].unique().to_list()))
    catalogue = list(run_context.catalogue)
    problems: list[str] = []
    with run.warehouse.connect() as con:
        effects = stored_fingerprints(con, EFFECT_FINGERPRINTS)
        capped = series_digests(con, CAPPED_SERIES, CAPPED_COLUMNS, floats=("value",))
        fingerprints = own_result_fingerprints(
            register, effects, as_of=run_context.as_of, capped=capped, catalogue=catalogue
        )
        own = kept_results(con, MEMO, fingerprints, key=OWN_RESULT_KEY, schema=OWN_RESULT_SCHEMA, run_id=context.run_id)
        checks = run_claim_checks(
            register,
            series,
            estimates,
            as_of=run_context.as_of,
            catalogue=catalogue,
            traits=traits,
            capped_series=lambda metric, share: _capped_series(con, metric, share),
            problems=problems,
            cases=cases,
            kept=own,
        )
        # The placebo replays and trend sensitivity depend only on what the estimates do: they are
        # kept while the effects' fingerprint is (a new run date alone does not replay them).
        replays = kept_results(con, EVIDENCE, effects, schema=EVIDENCE_SCHEMA, run_id=context.run_id)
    grades, reasons = grade_claims(checks)
    evidence, evidence_table = evidence_keeping(register, series, estimates, traits, replays, problems)
    power = claim_power(
        estimates,
        grades,
        expected_changes(as_registered(register, cases)),
        claim_looks(register, estimates),
        evidence.replay_rates,
        evidence.sensitivities,
        evidence.breakdowns,
    )
    context.log.info(
        f"claim checks: {len(own.changed)} run, {len(own.kept)} kept from the last run (what they read is unchanged); "
        f"placebo replays of {len(replays.changed)} initiatives run, {len(replays.kept)} kept "
        "(their estimates are unchanged)"
    )
    for problem in problems:
        context.log.warning(problem)
    frames = {
        "claim_checks": checks,
        "claim_reliability": grades,
        "claim_reliability_reasons": reasons,
        "claim_check_definitions": definitions_frame(),
        "claim_power": power,
        EVIDENCE: evidence_table,
        MEMO: own.table(),
    }
    return Outputs(frames, metadata=_metadata(frames, len(problems), own, replays))


def _capped_series(con, metric: str, share: float) -> pl.DataFrame:
    """The outliers check's series: ``metric`` with the top ``share`` of its records capped."""
    return con.execute(
        f"select unit_id, period_start, value from {CAPPED_SERIES} where metric = ? and cap_share = ?",
        [metric, share],
    ).pl()


def _metadata(frames: dict, check_errors: int, own: KeptResults, replays: KeptResults) -> dict[str, dict]:
    """What each table reports in the Dagster UI when it is materialized."""
    checks, grades, power = frames["claim_checks"], frames["claim_reliability"], frames["claim_power"]
    return {
        "claim_checks": {
            "checks": checks.height,
            "fired": checks.filter(checks["status"].is_in(FIRED)).height,
            "check_errors": check_errors,
        },
        "claim_reliability": {f"grade_{g.value}": int((grades["grade"] == g).sum()) for g in Grade},
        "claim_reliability_reasons": {"rows": frames["claim_reliability_reasons"].height},
        "claim_check_definitions": {"checks": frames["claim_check_definitions"].height},
        EVIDENCE: {"claims": frames[EVIDENCE].height, "initiatives_replayed": len(replays.changed)},
        MEMO: {"checks_run": len(own.changed), "checks_kept": len(own.kept)},
        "claim_power": {"claims": power.height, "unreachable": int(power["verdict_reachable"].eq(False).sum())},
    }


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
        fired = rows.filter(rows["status"].is_in(FIRED))
        failed = rows.filter(rows["status"] == CheckStatus.FAIL)
        claims = [
            f"{r['initiative_id']}{':' + r['metric'] if r['metric'] else ''} ({r['status']})"
            for r in fired.iter_rows(named=True)
        ]
        yield AssetCheckResult(
            asset_key=CLAIMS_MART,
            check_name=check_id,
            passed=failed.is_empty(),
            severity=AssetCheckSeverity.WARN,
            metadata={
                "claims_checked": rows.height,
                "warn_or_fail": fired.height,
                "claims": ", ".join(claims) or "none",
            },
        )


defs = Definitions(assets=[claim_check_results], asset_checks=[claim_health_checks])
