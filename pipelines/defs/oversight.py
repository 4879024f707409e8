"""Oversight: the business cases as registered before go-live, and people's sign-off on claims.

``python/business_cases`` judges each initiative's case history (``raw.register_history``,
appended by the register step) before the claims and the money read it: realisation is judged
against the registered case. ``python/claim_signoffs`` reads the sign-off log beside the
warehouse once the claims and the money are known, and says which signed claims changed since.
See docs/oversight.md.
"""

from dagster import AssetExecutionContext, Definitions

from pipelines.runtime.resources import RunResource
from pipelines.runtime.steps import Inputs, Outputs, python_step
from roi_ledger.oversight.business_case import judge_cases
from roi_ledger.oversight.signoff import current_claims, read_log, signoff_status

GROUP = "oversight"
REGISTER_HISTORY = "raw.register_history"
EFFECTS, GRADES = "python.initiative_effects", "python.claim_reliability"
METRIC_MONEY = "python.initiative_metric_money"


def run_starts(con) -> list:
    """When each earlier published run started (``marts.runs``; none in a new warehouse)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'runs'"
    ).fetchone()[0]
    return [started for (started,) in con.execute("select started_at from marts.runs").fetchall()] if exists else []


@python_step(group=GROUP, reads=[REGISTER_HISTORY], writes=["business_cases", "business_case_history"])
def business_cases(context: AssetExecutionContext, run: RunResource, inputs: Inputs) -> Outputs:
    """Which business case each initiative is judged against (roi_ledger.oversight.business_case)."""
    # marts.runs is not a dependency: the runs published before this one, which a run never rebuilds.
    with run.warehouse.connect() as con:
        starts = run_starts(con)
    cases, records = judge_cases(run.context.register, inputs[REGISTER_HISTORY], starts)
    edited = cases.filter(cases["n_edits_after_go_live"] > 0)
    for row in edited.iter_rows(named=True):
        context.log.warning(
            f"{row['initiative_id']}: business case edited after go-live "
            f"({row['edited_fields'] or 'and edited back'}); realisation is judged against the registered case"
        )
    registered_after_go_live = int((~cases["registered_before_go_live"]).sum()) if cases.height else 0
    return Outputs(
        {"business_cases": cases, "business_case_history": records},
        metadata={
            "business_cases": {
                "initiatives": cases.height,
                "edited_after_go_live": edited.height,
                "registered_after_go_live": registered_after_go_live,
            },
            "business_case_history": {"records": records.height},
        },
    )


@python_step(group=GROUP, reads=[EFFECTS, GRADES, METRIC_MONEY], writes=["claim_signoffs", "signoff_log"])
def claim_signoffs(context: AssetExecutionContext, run: RunResource, inputs: Inputs) -> Outputs:
    """Compare the latest decision on each claim with the claim as this run found it."""
    log, problems = read_log(run.warehouse.signoff_log)
    for problem in problems:
        context.log.warning(problem)
    claims = current_claims(
        inputs[EFFECTS], inputs[GRADES], inputs[METRIC_MONEY], run_id=context.run_id, as_of=run.context.as_of
    )
    status = signoff_status(log, claims)
    changed = status.filter(status["changed_since_signoff"].fill_null(False))
    for row in changed.iter_rows(named=True):
        context.log.warning(
            f"{row['initiative_id']} x {row['metric']}: changed since {row['signed_by']}'s sign-off: "
            f"{row['change_reasons']}"
        )
    return Outputs(
        {"claim_signoffs": status, "signoff_log": log},
        metadata={
            "claim_signoffs": {
                "claims": status.height,
                "signed": int(status["decision"].is_not_null().sum()) if status.height else 0,
                "changed_since_signoff": changed.height,
            },
            "signoff_log": {
                "decisions": log.height,
                "log": str(run.warehouse.signoff_log),
                "log_intact": not problems,
            },
        },
    )


defs = Definitions(assets=[business_cases, claim_signoffs])
