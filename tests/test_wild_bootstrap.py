"""The wild cluster restricted bootstrap against its definition: refit every draw by hand."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from roi_ledger.effects.wild_bootstrap import WEBB_WEIGHTS, _cluster_sums, wild_cluster_bootstrap


def panel(groups: int, periods: int, seed: int, effect: float = 0.0):
    """Units x periods with unit and period dummies and a treatment on half the units' second half."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(groups), periods)
    period = np.tile(np.arange(periods), groups)
    x = ((unit < groups // 2) & (period >= periods // 2)).astype(float)
    y = effect * x + rng.normal(size=groups)[unit] + 0.1 * period + rng.normal(size=groups * periods)
    dummies = np.column_stack(
        [(unit[:, None] == np.arange(groups)).astype(float), (period[:, None] == np.arange(1, periods)).astype(float)]
    )
    return y, x, dummies, unit


def cr1(y, x, others, unit):
    fit = sm.OLS(y, np.column_stack([x, others])).fit(
        cov_type="cluster", cov_kwds={"groups": unit, "use_correction": True, "df_correction": True}
    )
    return float(fit.params[0]), float(fit.bse[0]), fit


def test_p_value_is_the_share_of_refitted_draws_at_least_as_extreme():
    """Each draw by its definition: restricted fit under b = b0, residuals times the cluster's
    Webb weight, refit with CR1 errors, compare |t*| with the sample's |t(b0)|."""
    y, x, others, unit = panel(groups=5, periods=6, seed=3, effect=0.4)
    weights = np.random.default_rng(0).choice(WEBB_WEIGHTS, size=(200, 5))
    b0 = 0.25
    restricted = sm.OLS(y - b0 * x, others).fit()
    fitted, residuals = b0 * x + restricted.fittedvalues, restricted.resid
    effect, se, _ = cr1(y, x, others, unit)
    t_sample = (effect - b0) / se
    extreme = 0
    for draw in weights:
        b_star, se_star, _ = cr1(fitted + draw[unit] * residuals, x, others, unit)
        extreme += abs((b_star - b0) / se_star) >= abs(t_sample) - 1e-12
    sums = _cluster_sums(y, x, others, unit)
    assert sums.effect == pytest.approx(effect, rel=1e-9)
    assert sums.t_stat(b0) == pytest.approx(t_sample, rel=1e-9)
    assert sums.p_value(b0, weights) == pytest.approx(extreme / len(weights), abs=1e-12)


def test_interval_ends_are_where_the_p_value_crosses_the_level():
    y, x, others, unit = panel(groups=8, periods=10, seed=5, effect=1.0)
    result = wild_cluster_bootstrap(y, x, others, unit, confidence=0.95, draws=999)
    weights = np.random.default_rng(20171).choice(WEBB_WEIGHTS, size=(999, 8))
    sums = _cluster_sums(y, x, others, unit)
    width = result.high - result.low
    assert result.low < result.effect < result.high
    for end, outward in ((result.low, -1), (result.high, +1)):
        assert sums.p_value(end - outward * 0.01 * width, weights) > 0.05
        assert sums.p_value(end + outward * 0.01 * width, weights) <= 0.05
    assert result.p_value == pytest.approx(sums.p_value(0.0, weights))
    assert "Webb" in result.description and "8 clusters" in result.description


def test_with_many_clusters_it_agrees_with_cr1():
    """With 60 balanced clusters of independent noise, the bootstrap and the t(G-1) interval
    nearly coincide (the t(59) interval is about 8% wider here: it does not use that the
    noise is symmetric)."""
    y, x, others, unit = panel(groups=60, periods=6, seed=11, effect=0.3)
    result = wild_cluster_bootstrap(y, x, others, unit, confidence=0.95)
    effect, se, _ = cr1(y, x, others, unit)
    half = stats.t.ppf(0.975, 59) * se
    assert (result.low + result.high) / 2 == pytest.approx(effect, abs=0.1 * half)
    assert 0.85 < (result.high - result.low) / (2 * half) < 1.1


def test_same_data_same_interval_and_none_when_x_is_absorbed():
    y, x, others, unit = panel(groups=6, periods=8, seed=2)
    first = wild_cluster_bootstrap(y, x, others, unit, confidence=0.9)
    assert first == wild_cluster_bootstrap(y, x, others, unit, confidence=0.9)
    # x equal to a unit's dummy is absorbed by the fixed effects: nothing to estimate.
    assert wild_cluster_bootstrap(y, others[:, 0], others, unit, confidence=0.9) is None
