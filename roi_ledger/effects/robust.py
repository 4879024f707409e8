"""Regressions on one time series whose noise is autocorrelated.

Business metrics wobble slowly: a team's satisfaction stays low for a few months, a shop's
error rate drifts for a season. Regressing such a series on a before/after step with ordinary
least squares treats each period as independent evidence, and the intervals come out far too
narrow. The usual remedy, Newey-West (HAC) errors, needs long series: with two or three years
of weeks and a year of season dummies, or thirty months of a KPI, the long-run variance it
estimates from the residuals' autocovariances is itself so noisy that intervals still come out
too narrow (over 20 re-drawn demo businesses, the 95% intervals of a two-versus-three-unit
hours comparison covered the truth 75% of the time, those of a monthly KPI 55%).

So the noise is modelled instead of averaged over: the coefficients are ordinary least squares
(statsmodels), and their covariance assumes first-order autoregressive noise,

    u_t = rho u_{t-1} + e_t,   Cov(u) = s^2 * R(rho),   R_ij = rho^|i-j|,
    Cov(b) = (X'X)^-1 X' Cov(u) X (X'X)^-1,

with ``rho`` and ``s^2`` estimated from the OLS residuals ``e`` *allowing for the design*.
Residuals are not the noise: ``e = M u`` with ``M = I - X(X'X)^-1 X'``, and fitting a step, a
trend and a year of season dummies to a few dozen periods removes much of the noise's slow
wobble, so the residuals' plain lag-1 autocorrelation (Yule-Walker) is biased towards zero, or
below it. Instead ``rho`` solves

    e'S e / e'e  =  tr(M S M R(rho)) / tr(M R(rho)),    S = (L + L')/2, L the lag-1 shift,

the observed lag-1 autocorrelation of the residuals equal to the one AR(1) noise with that
``rho`` would leave in residuals of this very design (the design-aware bias correction of
residual autocorrelation used for fMRI time series; Worsley et al. 2002, NeuroImage 15:1),
and ``s^2 = e'e / tr(M R(rho))``, the residual sum of squares over its expectation per unit of
noise variance. Where the series is a difference of several units' series (DiD with few
units), ``panel_noise`` estimates it the same way from every unit's fixed-effects residuals
pooled, which says far more about how slowly the noise wobbles than one short series does
(in the spirit of Hansen 2007's bias-corrected panel AR estimate); with that much data it
also separates a slow AR(1) wobble from white noise on top of it (``share``).

This is the parametric, AR(1) plug-in form of an autocorrelation-consistent covariance
(Andrews 1991; den Haan & Levin 1997). Intervals and tests use Student's t with
``n - k - 1`` degrees of freedom (``rho`` is estimated too). With no autocorrelation ``rho`` is
near zero and this is the ordinary OLS interval.

Keeping OLS for the estimate (rather than re-weighting by GLS) leaves every effect equal to the
plain comparison the docs describe; only its interval changes. In simulations matching our
series (AR(1) noise with rho 0 to 0.95, 34 to 150 periods, with and without a trend and season
dummies) these 95% intervals covered the truth 84-95% of the time, where the plain Yule-Walker
``rho`` gave 75-95% and Newey-West 54-92%; the shortest, most persistent series are still the
hardest (``tests/test_effects.py`` checks the covariance against the textbook formula and that
``rho`` is unbiased on a short seasonal design where Yule-Walker's is not).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.optimize import brentq, least_squares
from statsmodels.regression.linear_model import RegressionResults, RegressionResultsWrapper
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

MAX_RHO = 0.95  # beyond this the series is close to a random walk; the interval is very wide
DESCRIPTION = "OLS with AR(1)-noise errors"


def series_lags(periods: np.ndarray) -> np.ndarray:
    """Periods between every two observations of one series; ``periods`` counts periods
    (``seasons.period_number``), so a gap in the series is as many periods as it lasted."""
    periods = np.asarray(periods, dtype=float)
    return np.abs(np.subtract.outer(periods, periods))


def panel_lags(unit: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Periods between every two observations of a panel (``inf`` between different units,
    whose noise is independent); ``period`` counts periods, so gaps are allowed for."""
    same_unit = np.equal.outer(unit, unit)
    distance = np.abs(np.subtract.outer(period, period)).astype(float)
    return np.where(same_unit, distance, np.inf)


def residual_maker(X: np.ndarray) -> np.ndarray:
    """``M = I - X(X'X)^-1 X'``: OLS residuals of design ``X`` are ``M`` times the noise."""
    return np.eye(len(X)) - X @ np.linalg.pinv(X)


def _lag_moment(maker: np.ndarray, residuals: np.ndarray, lags: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """The residuals' lag-``k`` autocorrelation, and the matrix A with E[e'S_k e] = tr(A Cov(u))
    (``S_k`` picks the pairs ``k`` periods apart, so e'S_k e sums e_t * e_(t-k))."""
    pairs = (lags == k).astype(float) / 2
    return maker @ pairs @ maker, float(residuals @ pairs @ residuals) / float(residuals @ residuals)


def ar1_rho(X: np.ndarray, residuals: np.ndarray, lags: np.ndarray | None = None, maker: np.ndarray | None = None) -> float:
    """``rho`` of AR(1) noise that would leave OLS residuals of design ``X`` as autocorrelated
    at lag 1 as ``residuals`` are, kept inside ``MAX_RHO``.

    ``lags`` (``series_lags`` by default, ``panel_lags`` to pool several units' residuals)
    says which observations are how many periods apart; ``maker`` is ``residual_maker(X)``
    when the caller has it already.
    """
    n = len(residuals)
    lags = series_lags(np.arange(n)) if lags is None else lags
    if n < 3 or not np.any(residuals) or not (lags == 1).any():
        return 0.0
    maker = residual_maker(X) if maker is None else maker
    return _solve_rho(maker, *_lag_moment(maker, residuals, lags, 1), lags)


def _solve_rho(maker: np.ndarray, lag_one: np.ndarray, observed: float, lags: np.ndarray) -> float:
    """The ``rho`` whose expected lag-1 residual autocorrelation is ``observed``: scanned on a
    grid and the crossing refined by root finding; where no ``rho`` reaches the observed
    value, the closest one."""

    def gap(rho: float) -> float:
        correlation = rho**lags
        return float(np.sum(lag_one * correlation) / np.sum(maker * correlation)) - observed

    grid = np.linspace(-MAX_RHO, MAX_RHO, 39)
    gaps = np.array([gap(r) for r in grid])
    crossings = np.flatnonzero(np.sign(gaps[:-1]) != np.sign(gaps[1:]))
    if len(crossings) == 0:
        return float(grid[np.argmin(np.abs(gaps))])
    # Of several crossings (tiny designs), the one nearest the residuals' own autocorrelation.
    i = crossings[np.argmin(np.abs(grid[crossings] - observed))]
    return float(brentq(gap, grid[i], grid[i + 1], xtol=1e-8))


def noise_correlation(rho: float, share: float, lags: np.ndarray) -> np.ndarray:
    """Correlation of AR(1) noise plus white noise: ``share * rho^k`` at lag k >= 1, where
    ``share`` is the autocorrelated part of the variance (1: pure AR(1)); 0 across units."""
    finite = np.isfinite(lags)
    correlation = np.where(finite, share * np.power(rho, np.where(finite, lags, 1.0)), 0.0)
    np.fill_diagonal(correlation, 1.0)
    return correlation


def ar1_covariance(
    X: np.ndarray,
    residuals: np.ndarray,
    rho: float | None = None,
    share: float = 1.0,
    periods: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Covariance of the OLS coefficients under AR(1) noise (plus white noise when ``share`` <
    1), and the ``rho`` used (estimated by ``ar1_rho`` unless given). ``periods`` counts the
    rows' periods; without it the rows are consecutive periods."""
    maker = residual_maker(X)
    lags = series_lags(np.arange(X.shape[0]) if periods is None else periods)
    rho = ar1_rho(X, residuals, lags, maker) if rho is None else rho
    correlation = noise_correlation(rho, share, lags)
    expected_share = float(np.sum(maker * correlation))  # E[e'e] / s^2
    variance = float(residuals @ residuals) / max(expected_share, 1e-12)
    bread = np.linalg.pinv(X.T @ X)
    return variance * bread @ X.T @ correlation @ X @ bread, rho


def _with_ar1_errors(
    model, rho: float | None = None, share: float = 1.0, periods: np.ndarray | None = None
) -> RegressionResultsWrapper:
    plain = model.fit()
    X, residuals = np.asarray(model.exog, dtype=float), np.asarray(plain.resid, dtype=float)
    cov, rho = ar1_covariance(X, residuals, rho, share, periods)
    model.df_resid = max(plain.df_resid - 1, 1)  # rho is estimated as well
    results = RegressionResults(model, np.asarray(plain.params), normalized_cov_params=cov, use_t=True)
    # statsmodels multiplies normalized_cov_params by the residual variance it computes itself.
    results.normalized_cov_params = cov / results.scale
    results.rho, results.share = rho, share
    return RegressionResultsWrapper(results)


def fit_ar1(
    formula: str,
    data: pd.DataFrame,
    rho: float | None = None,
    share: float = 1.0,
    period: str | None = None,
) -> RegressionResultsWrapper:
    """OLS of ``formula`` on ``data`` (rows in time order) with AR(1)-noise standard errors.

    ``period`` names the column counting each row's period (``seasons.period_number``), so that
    rows a gap apart are not taken for neighbours; without it the rows are consecutive periods.

    ``rho`` is estimated from the residuals (``ar1_rho``) unless given, e.g. pooled over the
    units a difference series is made of (``panel_noise``, which also gives the ``share`` of
    the noise that is autocorrelated). The results carry named ``params``, ``bse``,
    ``pvalues``, ``conf_int()`` and ``t_test``, on Student's t with ``df_resid`` degrees of
    freedom, and the ``rho`` and ``share`` used.
    """
    model = smf.ols(formula, data=data)
    if period is None:
        return _with_ar1_errors(model, rho, share)
    # The formula drops rows with missing values: take the periods of the rows it kept.
    periods = data.loc[model.data.row_labels, period].to_numpy(dtype=float)
    return _with_ar1_errors(model, rho, share, periods)


def fit_ar1_arrays(y: np.ndarray, X: np.ndarray, periods: np.ndarray | None = None) -> RegressionResultsWrapper:
    """``fit_ar1`` for a design matrix instead of a formula (``periods``: each row's period)."""
    return _with_ar1_errors(sm.OLS(y, X), periods=periods)


# Pooling is quadratic in observations; beyond this many the difference series' own rho is used.
MAX_PANEL_OBSERVATIONS = 2500


def panel_noise(formula: str, data: pd.DataFrame, unit: str, period: str) -> tuple[float, float] | None:
    """``(rho, share)`` of the noise common to every unit of a panel, from the residuals of
    ``formula`` (OLS) pooled over units: several units' series say far more about how slowly
    the noise wobbles than one series of their differences. ``period`` counts periods. None
    when the panel is too large to pool (``MAX_PANEL_OBSERVATIONS``).

    The noise is AR(1) plus white noise (a slow wobble under measurement or survey noise): its
    correlation is ``share * rho^k`` at lag k. Both are fitted to the residuals' lag-1 and
    lag-2 autocorrelations by the same design-aware moment equations as ``ar1_rho``. A pure
    AR(1) fitted to such noise matches lag 1 with a smaller ``rho`` and understates how long
    the wobble lasts: on a monthly KPI like the demo's satisfaction (34 months, 5 units) its
    95% intervals covered 87%, these 94%.
    """
    if len(data) > MAX_PANEL_OBSERVATIONS:
        return None
    with warnings.catch_warnings():
        # Fixed-effects designs are often rank-deficient by construction (unit dummies span a
        # treated-only seasonal pattern); the residuals are unique all the same.
        warnings.simplefilter("ignore", SingularMatrixWarning)
        fit = smf.ols(formula, data=data).fit()
    X, residuals = np.asarray(fit.model.exog, dtype=float), np.asarray(fit.resid, dtype=float)
    lags = panel_lags(data[unit].to_numpy(), data[period].to_numpy())
    if len(residuals) < 3 or not np.any(residuals) or not (lags == 1).any():
        return 0.0, 1.0
    maker = residual_maker(X)
    moments = [_lag_moment(maker, residuals, lags, k) for k in (1, 2)]
    rho = _solve_rho(maker, *moments[0], lags)
    if not (lags == 2).any():
        return rho, 1.0

    def gaps(parameters: np.ndarray) -> list[float]:
        correlation = noise_correlation(parameters[1], parameters[0], lags)
        expected_sum_of_squares = np.sum(maker * correlation)
        return [float(np.sum(lagged * correlation) / expected_sum_of_squares) - observed for lagged, observed in moments]

    starts = ([1.0, rho], [0.5, min(max(rho, 0.0) + 0.3, MAX_RHO)])
    best = min(
        (least_squares(gaps, start, bounds=([0.0, -MAX_RHO], [1.0, MAX_RHO])) for start in starts),
        key=lambda result: result.cost,
    )
    share, rho = (float(v) for v in best.x)
    return rho, share
