"""The claim's hypothesis tests judged as one family (docs/claims.md, "False alarms").

Several checks are tests of "no problem" at their own 5% level: pre_trend, seasonality,
regression_to_mean, control_contamination's spillover test and novelty_decay. On a sound claim
each fires by chance 5% of the time, and together far more often: five independent tests at 5%
flag 23% of sound claims. The grade would then call one real win in four "suspicious".

So a claim's tests are corrected together with Holm's step-down procedure (Holm 1979): the
p-values are sorted, the smallest is compared with ``level / m``, the next with
``level / (m - 1)`` and so on, stopping at the first that is not below its bound — which holds the
chance that a sound claim is flagged by *any* of its tests at the level, whatever their
dependence, and loses less power than Bonferroni. Each check keeps its own level (a check's
threshold still overrides it); the adjusted p-value is ``max over j <= i of (m - j + 1) p_(j)``.
A check that fired at its own level but not once adjusted is reported as passed, with both
p-values and what it would have said alone. Checks with a threshold that is not a test (sizes,
shares, counts) are not in the family: they are rules, not chance findings.
"""

from __future__ import annotations

from dataclasses import replace

from statsmodels.stats.multitest import multipletests

from roi_ledger.claims.base import CheckResult
from roi_ledger.claims.labels import FIRED, CheckStatus


def holm_adjusted(p_values: list[float]) -> list[float]:
    """Holm's adjusted p-values, in the order given (statsmodels' ``multipletests``)."""
    return [float(p) for p in multipletests(p_values, method="holm")[1]]


def adjust_family(results: dict[str, CheckResult | None]) -> tuple[dict[str, CheckResult | None], dict[str, float]]:
    """The results with every test judged against its Holm-adjusted p-value, and the adjusted
    p-values by check id (only the checks that are tests and computed one)."""
    tests = {
        check: r for check, r in results.items() if r is not None and r.p_value is not None and r.level is not None
    }
    if not tests:
        return results, {}
    adjusted = dict(zip(tests, holm_adjusted([r.p_value for r in tests.values()])))
    judged = dict(results)
    for check, result in tests.items():
        if result.status in FIRED and adjusted[check] >= result.level:
            judged[check] = replace(
                result,
                status=CheckStatus.PASS,
                message=(
                    f"Not significant once this claim's {len(tests)} tests are taken together "
                    f"(p = {result.p_value:.3g}, Holm-adjusted {adjusted[check]:.3g}, level {result.level:g}). "
                    f"Alone it would have said: {result.message}"
                ),
            )
    return judged, adjusted
