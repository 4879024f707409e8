"""The naive before/after difference on the treated units: what tools on the market report.

Kept for comparison. It ignores trends, seasons and everything else that changed at the same
time, so it is never the primary estimate when a better method applies.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from roi_ledger.effects.panel import POST, PRE, Panel
from roi_ledger.effects.registry import estimator
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "before_after"


@estimator(METHOD, preference=40, uses_comparison_units=False)
def estimate_before_after(panel: Panel, confidence: float = DEFAULT_CONFIDENCE_LEVEL) -> EffectEstimate | None:
    """Mean of the treated unit-periods after minus before, with a Welch t interval.

    The interval treats unit-periods as independent, which they are not (autocorrelation,
    seasons): it is as naive as the point estimate, by design.
    """
    treated = panel.treated.drop_nulls("value")
    before = treated.filter(treated["window"] == PRE)["value"].to_numpy()
    after = treated.filter(treated["window"] == POST)["value"].to_numpy()
    if len(before) == 0 or len(after) == 0:
        return None
    baseline, observed = float(np.mean(before)), float(np.mean(after))
    effect = observed - baseline
    ci_low = ci_high = p_value = None
    if len(before) >= 2 and len(after) >= 2 and (np.var(before) + np.var(after)) > 0:
        test = stats.ttest_ind(after, before, equal_var=False)
        interval = test.confidence_interval(confidence)
        ci_low, ci_high, p_value = float(interval.low), float(interval.high), float(test.pvalue)
    return EffectEstimate(
        initiative_id=panel.initiative.id,
        metric=panel.metric,
        method=METHOD,
        period=panel.period,
        pre_periods=panel.periods("treated", PRE),
        post_periods=panel.periods("treated", POST),
        baseline_value=baseline,
        observed_value=observed,
        counterfactual_value=baseline,
        effect_abs=effect,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        n_treated_units=len(panel.units("treated")),
        n_control_units=0,
        inference="Welch t-test, unit-periods treated as independent",
    )
