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
    MaterializeResult,
    multi_asset,
    multi_asset_check,
)

from pipelines.defs.effects import EFFECT_FINGERPRINTS
from pipelines.memo import (
    fingerprint_frame,
    in_register_order,
    kept_rows,
    stored_table,
    unchanged_since_last_run,
)
from pipelines.resources import RunResource
from pipelines.steps import Inputs, step_specs
from pipelines.warehouse import INTERMEDIATE, replace_table
from roi_ledger.catalogue import definition_of
from roi_ledger.claims.base import INITIATIVE_CHECKS, METRIC_CHECKS, definitions_frame
from roi_ledger.claims.engine import run_claim_checks
from roi_ledger.claims.evidence import claim_evidence, evidence_frame, evidence_from_frame
from roi_ledger.claims.grading import grade_claims
from roi_ledger.claims.labels import FIRED, CheckStatus, Grade
from roi_ledger.claims.memo import CheckMemo
from roi_ledger.claims.power import claim_power
from roi_ledger.fingerprint import series_digests
from roi_ledger.oversight.business_case import as_registered

# The series the outliers check re-estimates on, built by dbt (models/intermediate).
CAPPED_SERIES = "intermediate.int_metric_values_capped"
# Each check's own result with the fingerprint of what it read (roi_ledger.claims.memo).
MEMO = "claim_check_memo"
# Each claim's placebo replays and trend sensitivity, with the effect fingerprint they were computed from.
EVIDENCE = "claim_evidence"
# What the claims are fingerprinted on, of the capped series (roi_ledger.fingerprint).
CAPPED_COLUMNS = ("unit_id", "metric", "period_start", "cap_share", "value")
SERIES, EFFECTS, CASES = "marts.metric_series", f"{INTERMEDIATE}.initiative_effects", f"{INTERMEDIATE}.business_cases"
READS = [EFFECTS, SERIES, CAPPED_SERIES, CASES]  # the capped series is read a metric and a cap at a time


@multi_asset(
    specs=step_specs(
        "claims",
        [
            "claim_checks",
            "claim_reliability",
            "claim_reliability_reasons",
            "claim_check_definitions",
            "claim_power",
            EVIDENCE,
            MEMO,
        ],
        READS,
        internal={
            EVIDENCE: (
                "Per claim: its placebo replays' rates and trend sensitivity (published in marts.claim_power), with "
                "the fingerprint of its effects' inputs and the run that computed them; kept while that fingerprint "
                "is unchanged."
            ),
            MEMO: (
                "Per claim x check: the check's own result (before the claim's tests are judged together), what it "
                "read beyond the estimates' inputs, and the fingerprint of it; kept while that fingerprint is "
                "unchanged (roi_ledger.claims.memo)."
            ),
        },
    ),
)
def claim_check_results(context: AssetExecutionContext, run: RunResource):
    """Run every claim check and grade the claims (roi_ledger.claims). A check whose inputs are
    what it read in the last run keeps its result (roi_ledger.claims.memo), and a claim whose
    estimates' inputs are unchanged keeps its placebo replays; grades and power are recomputed."""
    run_context = run.context
    register = run_context.register
    inputs = Inputs(run.warehouse, READS)
    with run.warehouse.connect() as con:
        series, estimates, cases = inputs[SERIES], inputs[EFFECTS], inputs[CASES]
        traits = run_context.traits(set(series["metric"].unique().to_list()))
        catalogue = list(run_context.catalogue)
        effects = dict(
            con.execute(f"select initiative_id, fingerprint from {INTERMEDIATE}.{EFFECT_FINGERPRINTS}").fetchall()
        )
        memo = CheckMemo(
            effects,
            as_of=run_context.as_of,
            capped=series_digests(con, CAPPED_SERIES, CAPPED_COLUMNS, floats=("value",)),
            definitions={m: definition_of(catalogue, m) for i in register.measured_initiatives for m in i.metrics},
            run_id=context.run_id,
            stored=stored_table(con, MEMO),
        )

        def capped(metric: str, share: float) -> pl.DataFrame:
            return con.execute(
                f"select unit_id, period_start, value from {CAPPED_SERIES} where metric = ? and cap_share = ?",
                [metric, share],
            ).pl()

        problems: list[str] = []
        checks = run_claim_checks(
            register,
            series,
            estimates,
            as_of=run_context.as_of,
            catalogue=catalogue,
            traits=traits,
            capped_series=capped,
            problems=problems,
            cases=cases,
            memo=memo,
        )
        grades, reasons = grade_claims(checks)
        registered = as_registered(register, cases)
        expected = {
            (i.id, metric): change
            for i in registered.initiatives
            if i.expected
            for metric, change in i.expected.changes.items()
        }
        # The placebo replays and trend sensitivity depend only on what the estimates do: they are
        # kept while the effects' fingerprint is (a new run date alone does not replay them).
        effects_kept = unchanged_since_last_run(con, EVIDENCE, effects)
        to_replay = estimates.filter(~pl.col("initiative_id").is_in(sorted(effects_kept)))
        replayed = len(set(effects) - set(effects_kept))
        fresh_evidence = claim_evidence(register, series, to_replay, traits, problems)
        stored = kept_rows(con, EVIDENCE, effects_kept, like=evidence_frame(fresh_evidence))
        evidence = evidence_from_frame(stored).merged(fresh_evidence)
        power = claim_power(
            estimates, grades, expected, evidence.min_posts, evidence.replay_rates, evidence.sensitivities
        )
        frames = {
            "claim_checks": checks,
            "claim_reliability": grades,
            "claim_reliability_reasons": reasons,
            "claim_check_definitions": definitions_frame(),
            "claim_power": power,
            EVIDENCE: in_register_order(
                register,
                stored.join(fingerprint_frame(effects, effects_kept, context.run_id), on="initiative_id"),
                evidence_frame(fresh_evidence).join(fingerprint_frame(effects, {}, context.run_id), on="initiative_id"),
            ),
            MEMO: memo.frame(),
        }
        for name, frame in frames.items():
            replace_table(con, f"{INTERMEDIATE}.{name}", frame)
    context.log.info(
        f"claim checks: {memo.computed} run, {memo.kept} kept from the last run (what they read is unchanged); "
        f"placebo replays of {replayed} initiatives run, {len(effects_kept)} kept (their estimates are unchanged)"
    )
    for problem in problems:
        context.log.warning(problem)
    fired = checks.filter(checks["status"].is_in(FIRED))
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_checks"]),
        metadata={"checks": checks.height, "fired": fired.height, "check_errors": len(problems)},
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_reliability"]),
        metadata={f"grade_{g.value}": int((grades["grade"] == g).sum()) for g in Grade},
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_reliability_reasons"]), metadata={"rows": reasons.height}
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_check_definitions"]),
        metadata={"checks": frames["claim_check_definitions"].height},
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, EVIDENCE]),
        metadata={"claims": frames[EVIDENCE].height, "initiatives_replayed": replayed},
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, MEMO]), metadata={"checks_run": memo.computed, "checks_kept": memo.kept}
    )
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
