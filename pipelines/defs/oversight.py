"""Oversight: the business cases as registered before go-live, and people's sign-off on claims.

``intermediate/business_cases`` judges each initiative's case history (``raw.register_history``,
appended by the register step) before the claims and the money read it: realisation is judged
against the registered case. ``intermediate/claim_signoffs`` reads the sign-off log beside the
warehouse once the claims and the money are known, and says which signed claims changed since.
See docs/oversight.md.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Definitions,
    MaterializeResult,
    multi_asset,
)

from pipelines.resources import RunResource
from pipelines.warehouse import INTERMEDIATE, replace_table
from roi_ledger.oversight.business_case import judge_cases
from roi_ledger.oversight.signoff import current_claims, read_log, signoff_status

GROUP = "oversight"
CASE_TABLES = {
    "business_cases": "Per initiative: the business case as registered before go-live, as it is now, and its edits (marts.business_cases).",
    "business_case_history": "Every recorded version of every business case, each marked registered / after go-live / after results (marts.business_case_history).",
}
SIGNOFF_TABLES = {
    "claim_signoffs": "Per claim: the latest decision on it, the version it judged, and whether it changed since (marts.claim_signoffs).",
    "signoff_log": "Every decision of the sign-off log beside the warehouse, in order (marts.signoff_log).",
}


def run_starts(con) -> list:
    """When each earlier published run started (``marts.runs``; none in a new warehouse)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'runs'"
    ).fetchone()[0]
    return [started for (started,) in con.execute("select started_at from marts.runs").fetchall()] if exists else []


@multi_asset(
    specs=[
        AssetSpec(
            [INTERMEDIATE, table],
            group_name=GROUP,
            description=description,
            deps=[AssetKey(["raw", "register_history"])],
        )
        for table, description in CASE_TABLES.items()
    ],
)
def business_cases(context: AssetExecutionContext, run: RunResource):
    """Which business case each initiative is judged against (roi_ledger.oversight.business_case)."""
    with run.warehouse.connect() as con:
        history = con.sql(
            "select * exclude (business_case), business_case::varchar as business_case from raw.register_history"
        ).pl()
        cases, records = judge_cases(run.context.register, history, run_starts(con))
        replace_table(con, f"{INTERMEDIATE}.business_cases", cases)
        replace_table(con, f"{INTERMEDIATE}.business_case_history", records)
    edited = cases.filter(cases["n_edits_after_go_live"] > 0)
    for row in edited.iter_rows(named=True):
        context.log.warning(
            f"{row['initiative_id']}: business case edited after go-live ({row['edited_fields'] or 'and edited back'}); "
            "realisation is judged against the registered case"
        )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "business_cases"]),
        metadata={
            "initiatives": cases.height,
            "edited_after_go_live": edited.height,
            "registered_after_go_live": int((~cases["registered_before_go_live"]).sum()) if cases.height else 0,
        },
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "business_case_history"]), metadata={"records": records.height}
    )


@multi_asset(
    specs=[
        AssetSpec(
            [INTERMEDIATE, table],
            group_name=GROUP,
            description=description,
            deps=[
                AssetKey([INTERMEDIATE, "initiative_effects"]),
                AssetKey([INTERMEDIATE, "claim_reliability"]),
                AssetKey([INTERMEDIATE, "initiative_metric_money"]),
            ],
        )
        for table, description in SIGNOFF_TABLES.items()
    ],
)
def claim_signoffs(context: AssetExecutionContext, run: RunResource):
    """Compare the latest decision on each claim with the claim as this run found it."""
    log, problems = read_log(run.warehouse.signoff_log)
    for problem in problems:
        context.log.warning(problem)
    with run.warehouse.connect() as con:
        claims = current_claims(
            con.sql(f"select * from {INTERMEDIATE}.initiative_effects").pl(),
            con.sql(f"select * from {INTERMEDIATE}.claim_reliability").pl(),
            con.sql(f"select * from {INTERMEDIATE}.initiative_metric_money").pl(),
            run_id=context.run_id,
            as_of=run.context.as_of,
        )
        status = signoff_status(log, claims)
        replace_table(con, f"{INTERMEDIATE}.claim_signoffs", status)
        replace_table(con, f"{INTERMEDIATE}.signoff_log", log)
    changed = status.filter(status["changed_since_signoff"].fill_null(False))
    for row in changed.iter_rows(named=True):
        context.log.warning(
            f"{row['initiative_id']} x {row['metric']}: changed since {row['signed_by']}'s sign-off: {row['change_reasons']}"
        )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "claim_signoffs"]),
        metadata={
            "claims": status.height,
            "signed": int(status["decision"].is_not_null().sum()) if status.height else 0,
            "changed_since_signoff": changed.height,
        },
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "signoff_log"]),
        metadata={"decisions": log.height, "log": str(run.warehouse.signoff_log), "log_intact": not problems},
    )


defs = Definitions(assets=[business_cases, claim_signoffs])
