"""Is the initiative accountable: costed, owned, serving an objective, and judged against
the business case it registered?"""

from __future__ import annotations

from roi_ledger.claims.base import (
    CheckClass,
    CheckResult,
    InitiativeClaim,
    claim_check,
)
from roi_ledger.claims.labels import CheckStatus


@claim_check("missing_costs", level="initiative", check_class=CheckClass.DATA)
def missing_costs(claim: InitiativeClaim) -> CheckResult:
    initiative = claim.initiative
    if not initiative.costs:
        return CheckResult(
            CheckStatus.WARN, "No costs are recorded, so its return on investment cannot be computed.", 0, 1
        )
    return CheckResult(CheckStatus.PASS, f"{len(initiative.costs)} cost item(s) recorded.", len(initiative.costs), 1)


@claim_check("missing_owner", level="initiative", check_class=CheckClass.GOVERNANCE)
def missing_owner(claim: InitiativeClaim) -> CheckResult:
    initiative = claim.initiative
    if not initiative.owner:
        return CheckResult(CheckStatus.WARN, "Nobody is named as owner, so nobody is accountable for its results.")
    return CheckResult(CheckStatus.PASS, f"Owned by {initiative.owner}.")


@claim_check("no_objective", level="initiative", check_class=CheckClass.GOVERNANCE)
def no_objective(claim: InitiativeClaim) -> CheckResult:
    initiative = claim.initiative
    if not initiative.objective:
        return CheckResult(CheckStatus.WARN, "It serves no business objective: automation for its own sake.")
    return CheckResult(CheckStatus.PASS, f"Serves the objective {initiative.objective}.")


def _day(moment) -> str:
    return moment.date().isoformat() if moment is not None else "?"


@claim_check("business_case_edited", level="initiative", check_class=CheckClass.GOVERNANCE)
def business_case_edited(claim: InitiativeClaim) -> CheckResult:
    """The expected benefit or changes were edited after go-live: realisation stays judged
    against the case as registered (roi_ledger.oversight.business_case)."""
    case = claim.case
    if case is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No run has recorded its business case yet.")
    fields = [f for f in (case["edited_fields"] or "").split(", ") if f.startswith("expected")]
    if case["registered_before_go_live"]:
        registered = "registered before go-live"
    else:
        registered = "first recorded after go-live (nothing shows it predates the results)"
    if not fields:
        # no date here: the message says what holds, marts.business_cases says when
        return CheckResult(CheckStatus.PASS, f"Judged against the business case {registered}.", 0, 0)
    when = "after its results were visible" if case["edited_after_results"] else "after go-live"
    return CheckResult(
        CheckStatus.WARN,
        f"The business case was edited {when} (last on {_day(case['last_edit_at'])}: {', '.join(fields)}); "
        f"realisation is judged against the case {registered} on {_day(case['registered_at'])}, "
        f"expecting {case['registered_annual_benefit']} a year, not "
        f"{case['current_annual_benefit']}.",
        len(fields),
        0,
    )


@claim_check("design_changed_after_results", level="initiative", check_class=CheckClass.SUSPICION)
def design_changed_after_results(claim: InitiativeClaim) -> CheckResult:
    """The metrics, treated units, go-lives or comparison units were changed after a run had
    measured the initiative: the measurement may have been chosen to fit the result."""
    case = claim.case
    if case is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, "No run has recorded its business case yet.")
    fields = [f for f in (case["edited_fields"] or "").split(", ") if f and not f.startswith("expected")]
    if not fields or not case["edited_after_results"]:
        return CheckResult(CheckStatus.PASS, "How it is measured has not changed since its results were visible.", 0, 0)
    return CheckResult(
        CheckStatus.WARN,
        f"How it is measured changed after its results were visible ({', '.join(fields)}, last on "
        f"{_day(case['last_edit_at'])}): a design picked after seeing the numbers can find an effect "
        "that is not there. "
        "Compare with the registered case (marts.business_cases) before believing it.",
        len(fields),
        0,
    )
