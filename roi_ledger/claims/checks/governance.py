"""Is the initiative accountable: costed, owned, and serving an objective?"""

from __future__ import annotations

from roi_ledger.claims.base import PASS, WARN, CheckClass, CheckResult, claim_check
from roi_ledger.register import Initiative, Register


@claim_check("missing_costs", level="initiative", check_class=CheckClass.DATA)
def missing_costs(register: Register, initiative: Initiative) -> CheckResult:
    if not initiative.costs:
        return CheckResult(WARN, "No costs are recorded, so its return on investment cannot be computed.", 0, 1)
    return CheckResult(PASS, f"{len(initiative.costs)} cost item(s) recorded.", len(initiative.costs), 1)


@claim_check("missing_owner", level="initiative", check_class=CheckClass.GOVERNANCE)
def missing_owner(register: Register, initiative: Initiative) -> CheckResult:
    if not initiative.owner:
        return CheckResult(WARN, "Nobody is named as owner, so nobody is accountable for its results.")
    return CheckResult(PASS, f"Owned by {initiative.owner}.")


@claim_check("no_objective", level="initiative", check_class=CheckClass.GOVERNANCE)
def no_objective(register: Register, initiative: Initiative) -> CheckResult:
    if not initiative.objective:
        return CheckResult(WARN, "It serves no business objective: automation for its own sake.")
    return CheckResult(PASS, f"Serves the objective {initiative.objective}.")
