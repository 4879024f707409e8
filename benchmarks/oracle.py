"""The oracle of ``benchmarks/inference.py``: the interval a statistician who knows how the data
were made would give.

The benchmark knows its data-generating process exactly: per unit and period, a unit level, a
deterministic part (a linear trend where there are no comparison units, a yearly sine wave), a
random business-wide shock shared by every unit in the period (``Noise.shared_sd``), the unit's
own stationary AR(1) noise (``Noise.rho``, innovation sd ``Noise.innovation_sd``), and a
constant planted effect on treated units from their go-live on. The oracle estimator is OLS of
that mean model:

- no comparison units (interrupted time series): unit constants, trend, the season's sine and
  cosine (the wave's own frequency: one year), an after-go-live indicator and a slope change
  after go-live (issue #35's correctly specified ITS: the effect may ramp, so the real estimator
  fits both, and the oracle is held to the same question), the effect being their average over
  the after window;
- comparison units (difference-in-differences): unit and period fixed effects and one
  after-go-live indicator per cohort (units going live together).

The effect is the cohorts' coefficients averaged with weights proportional to their treated
unit-periods after go-live, as the real estimators report it. OLS makes it linear in the data,
``effect = sum(W * Y)`` for a units x periods weight matrix ``W``, so its variance is exact:
``w' Sigma w`` with ``Sigma`` the true noise covariance (AR(1) blocks per unit plus the shared
shock's covariance across units in the same period), and its 95% interval is
``effect +- 1.96 sqrt(w' Sigma w)`` (the noise is Gaussian). ``tests/test_inference_oracle.py``
checks the variance by hand and by Monte Carlo.

The **oracle fixed-horizon test**: a fixed-sample two-sided 5% test of the oracle estimator,
planned for the fewest after-periods ``n`` (at least the claim checks' minimum) at which its power
against the planted effect is 80%, computed from its exact variance at ``n`` after-periods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg, signal, stats

POWER = 0.8


@dataclass(frozen=True)
class Noise:
    rho: float = 0.5
    innovation_sd: float = 1.0
    shared_sd: float = 1.0  # the business-wide random shock, the same for every unit in a period

    @property
    def marginal_sd(self) -> float:
        """The unit noise's standard deviation in one period (the AR(1) series is stationary)."""
        return self.innovation_sd / np.sqrt(1 - self.rho**2)


def draw_noise(rng: np.random.Generator, units: int, periods: int, noise: Noise) -> np.ndarray:
    """A units x periods draw of the noise: stationary AR(1) per unit plus the shared shock."""
    innovations = rng.normal(0, noise.innovation_sd, (units, periods))
    innovations[:, 0] /= np.sqrt(1 - noise.rho**2)  # start in the stationary distribution
    own = signal.lfilter([1.0], [1.0, -noise.rho], innovations, axis=1)
    return own + rng.normal(0, noise.shared_sd, periods)[None, :]


def ar1_covariance(periods: int, noise: Noise) -> np.ndarray:
    """One unit's stationary AR(1) covariance: marginal variance times rho^|s - t|."""
    return noise.marginal_sd**2 * linalg.toeplitz(noise.rho ** np.arange(periods))


def panel_covariance(units: int, periods: int, noise: Noise) -> np.ndarray:
    """The full covariance of the unit-major stacked noise (units x periods, flattened)."""
    own = np.kron(np.eye(units), ar1_covariance(periods, noise))
    shared = noise.shared_sd**2 * np.kron(np.ones((units, units)), np.eye(periods))
    return own + shared


def panel_variance(weights: np.ndarray, noise: Noise) -> float:
    """``w' Sigma w`` for a units x periods weight matrix, without building ``Sigma``."""
    own = float(np.einsum("us,st,ut->", weights, ar1_covariance(weights.shape[1], noise), weights))
    shared = noise.shared_sd**2 * float(np.sum(weights.sum(axis=0) ** 2))
    return own + shared


def linear_weights(regressors: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """``w`` with ``w' y = contrast' beta_OLS`` (the minimum-norm solution if ``X`` is rank-deficient)."""
    return contrast @ np.linalg.pinv(regressors)


def oracle_regressors(after: np.ndarray, comparison: bool, periods_per_year: int) -> tuple[np.ndarray, np.ndarray]:
    """The correct mean model's regressors (rows unit-major) and the effect's contrast.

    ``after`` is units x periods: 0 before go-live (and for comparison units), else the unit's
    cohort number (1, 2, ...) from its go-live on. A cohort with no after-period yet has no
    column: its units are not yet treated, which the model knows. The season's sine and cosine
    have the DGP's frequency (``periods_per_year``), counted from the first period.
    """
    units, periods = after.shape
    unit_of = np.repeat(np.arange(units), periods)
    period_of = np.tile(np.arange(periods), units)
    columns = [(unit_of[:, None] == np.arange(units)[None, :]).astype(float)]
    if comparison:
        columns.append((period_of[:, None] == np.arange(1, periods)[None, :]).astype(float))
    else:
        angle = 2 * np.pi * period_of / periods_per_year
        columns.append(np.column_stack([period_of, np.sin(angle), np.cos(angle)]).astype(float))
    cohorts = [c for c in np.unique(after) if c > 0]
    flat = after.reshape(-1)
    columns.append(np.column_stack([(flat == c).astype(float) for c in cohorts]))
    share = np.array([(flat == c).sum() for c in cohorts], dtype=float) / sum((flat == c).sum() for c in cohorts)
    weights = list(share)
    if not comparison:
        # Without comparison units the model the issue names: a level and a slope change at go-live,
        # the effect averaged over the after window (level + slope x mean periods since go-live).
        for c, cohort_share in zip(cohorts, share):
            since = np.where(flat == c, period_of - period_of[flat == c].min(), 0.0)
            columns.append(since[:, None])
            weights.append(cohort_share * float(since[flat == c].mean()))
    regressors = np.column_stack(columns)
    contrast = np.zeros(regressors.shape[1])
    contrast[-len(weights) :] = weights
    return regressors, contrast


def normal_power(effect: float, sd: float, confidence: float = 0.95) -> float:
    """Power of a two-sided fixed-sample z-test at ``confidence`` against ``effect``."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    return float(stats.norm.cdf(abs(effect) / sd - z) + stats.norm.cdf(-abs(effect) / sd - z))


def oracle_weights(after: np.ndarray, comparison: bool, periods_per_year: int) -> np.ndarray:
    """The units x periods weights of the oracle effect (see the module)."""
    regressors, contrast = oracle_regressors(after, comparison, periods_per_year)
    return linear_weights(regressors, contrast).reshape(after.shape)


def fixed_horizon_periods(
    sd_at: Callable[[int], float], effect: float, min_post: int, max_post: int, confidence: float = 0.95
) -> int | None:
    """The fewest after-periods in ``[min_post, max_post]`` at which the fixed-sample test of the
    oracle (standard error ``sd_at(n)``) has ``POWER`` against ``effect``; None beyond."""
    return next((n for n in range(min_post, max_post + 1) if normal_power(effect, sd_at(n), confidence) >= POWER), None)
