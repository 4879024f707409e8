"""The oracle of benchmarks/inference.py: its exact variance against hand computation and against
the simulator's own noise (Monte Carlo)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

_SPEC = importlib.util.spec_from_file_location("oracle", Path(__file__).parents[1] / "benchmarks" / "oracle.py")
oracle = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("oracle", oracle)  # dataclasses look their module up there
_SPEC.loader.exec_module(oracle)

IID = oracle.Noise(rho=0.0, innovation_sd=2.0, shared_sd=0.0)


def test_difference_of_two_means_with_iid_noise():
    # OLS of y on [1, group] estimates mean(group 1) - mean(group 0): variance sigma^2 (1/n1 + 1/n0).
    n0, n1 = 7, 5
    group = np.r_[np.zeros(n0), np.ones(n1)]
    weights = oracle.linear_weights(np.column_stack([np.ones(n0 + n1), group]), np.array([0.0, 1.0]))
    np.testing.assert_allclose(weights, np.r_[np.full(n0, -1 / n0), np.full(n1, 1 / n1)])
    variance = oracle.panel_variance(weights[None, :], IID)
    assert variance == pytest.approx(4.0 * (1 / 5 + 1 / 7))


def test_mean_of_an_ar1_series_has_the_textbook_variance():
    # Var(mean of n stationary AR(1)) = gamma0 / n^2 * (n (1+rho)/(1-rho) - 2 rho (1 - rho^n) / (1-rho)^2),
    # gamma0 = sigma^2 / (1 - rho^2) (e.g. Hamilton 1994, ch. 7).
    n, rho, sigma = 20, 0.5, 1.5
    noise = oracle.Noise(rho=rho, innovation_sd=sigma, shared_sd=0.0)
    weights = oracle.linear_weights(np.ones((n, 1)), np.array([1.0]))
    gamma0 = sigma**2 / (1 - rho**2)
    textbook = gamma0 / n**2 * (n * (1 + rho) / (1 - rho) - 2 * rho * (1 - rho**n) / (1 - rho) ** 2)
    assert oracle.panel_variance(weights[None, :], noise) == pytest.approx(textbook)
    assert textbook == pytest.approx(0.42, abs=1e-5)  # 3 * (60 - 4 (1 - 0.5^20)) / 400


def test_shared_shock_cancels_in_a_difference_between_units_and_adds_to_a_sum():
    noise = oracle.Noise(rho=0.0, innovation_sd=1.0, shared_sd=3.0)
    difference = np.array([[1.0, 0.0], [-1.0, 0.0]])  # unit 0 minus unit 1 in period 0
    total = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert oracle.panel_variance(difference, noise) == pytest.approx(2.0)
    assert oracle.panel_variance(total, noise) == pytest.approx(2.0 + 4 * 9.0)


def test_structured_variance_equals_the_full_covariance_quadratic_form():
    noise = oracle.Noise(rho=0.5, innovation_sd=1.3, shared_sd=0.7)
    weights = np.random.default_rng(0).normal(size=(4, 9))
    full = oracle.panel_covariance(4, 9, noise)
    assert oracle.panel_variance(weights, noise) == pytest.approx(weights.reshape(-1) @ full @ weights.reshape(-1))


def test_power_of_a_fixed_sample_test():
    # effect 2.8 se: 1.96 + 0.84 (z of 80%) standard errors away gives 80% power.
    assert oracle.normal_power(2.8016, 1.0) == pytest.approx(0.8, abs=1e-3)
    sds = {n: 3.0 / np.sqrt(n) for n in range(1, 100)}
    # 3 / sqrt(n) <= 1 / 2.8016 first at n = ceil((3 * 2.8016)^2) = 71
    assert oracle.fixed_horizon_periods(sds.__getitem__, 1.0, 4, 99) == 71
    assert oracle.fixed_horizon_periods(sds.__getitem__, 1.0, 4, 70) is None


def after_cohorts(units: int, periods: int, go_lives: list[tuple[int, int]]) -> np.ndarray:
    """Units x periods cohort numbers: ``go_lives`` lists (units in the cohort, go-live period)."""
    after, row = np.zeros((units, periods), dtype=int), 0
    for cohort, (size, start) in enumerate(go_lives):
        after[row : row + size, start:] = cohort + 1
        row += size
    return after


@pytest.mark.parametrize(
    ("after", "comparison"),
    [
        (after_cohorts(1, 60, [(1, 40)]), False),  # one unit, its own history: trend, season, level
        (after_cohorts(6, 30, [(2, 20)]), True),  # two treated, four comparison units
        (after_cohorts(8, 30, [(2, 18), (2, 22)]), True),  # a phased rollout
    ],
)
def test_oracle_interval_covers_and_its_sd_matches_by_monte_carlo(after, comparison):
    """Data drawn by the benchmark's own noise generator, with levels, season, trend and a
    constant effect: the oracle is unbiased, its sd is the draws' sd, its 95% interval covers ~95%."""
    noise, draws, effect, per_year = oracle.Noise(), 4000, 1.5, 12
    rng = np.random.default_rng(7)
    units, periods = after.shape
    weights = oracle.oracle_weights(after, comparison, per_year)
    sd = np.sqrt(oracle.panel_variance(weights, noise))
    t = np.arange(periods)
    mean = 3 * np.sin(2 * np.pi * t / per_year) + 0.1 * t + effect * (after > 0)
    estimates = np.array(
        [
            np.sum(weights * (mean + rng.normal(0, 5, units)[:, None] + oracle.draw_noise(rng, units, periods, noise)))
            for _ in range(draws)
        ]
    )
    assert abs(estimates.mean() - effect) < 4 * sd / np.sqrt(draws)
    # the sd of a sample sd is about sd / sqrt(2 (draws - 1)): 1.1% here; 4% is over 3.5 of them
    assert estimates.std(ddof=1) == pytest.approx(sd, rel=0.04)
    covered = np.mean(np.abs(estimates - effect) <= stats.norm.ppf(0.975) * sd)
    assert covered == pytest.approx(0.95, abs=0.012)  # binomial sd 0.34%
