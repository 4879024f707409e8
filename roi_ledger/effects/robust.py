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

with ``rho`` from the Yule-Walker equation on the OLS residuals (lag-1 autocovariance over
variance, each divided by its own number of terms: statsmodels' ``adjusted`` method, less biased
towards zero in short series) and ``s^2`` their variance
(degrees-of-freedom corrected). This is the parametric, AR(1) plug-in form of an
autocorrelation-consistent covariance (Andrews 1991; den Haan & Levin 1997). Intervals and
tests use Student's t with ``n - k - 1`` degrees of freedom (``rho`` is estimated too). With no
autocorrelation ``rho`` is near zero and this is the ordinary OLS interval.

Keeping OLS for the estimate (rather than re-weighting by GLS) leaves every effect equal to the
plain comparison the docs describe; only its interval changes. In simulations matching our
series (AR(1) noise with rho up to 0.95, 30 to 150 periods, with and without season dummies)
these 95% intervals covered the truth 74-96% of the time where Newey-West's covered 54-92%
(``tests/test_effects.py`` checks the covariance against the textbook formula).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.linalg import toeplitz
from statsmodels.regression.linear_model import RegressionResults, RegressionResultsWrapper, yule_walker

MAX_RHO = 0.95  # beyond this the series is close to a random walk; the interval is very wide
DESCRIPTION = "OLS with AR(1)-noise errors"


def ar1_rho(residuals: np.ndarray) -> float:
    """First-order autocorrelation of ``residuals`` (Yule-Walker), kept inside ``MAX_RHO``."""
    if len(residuals) < 3 or not np.any(residuals):
        return 0.0
    rho, _ = yule_walker(np.asarray(residuals, dtype=float), order=1, method="adjusted", demean=False)
    return float(np.clip(np.atleast_1d(rho)[0], -MAX_RHO, MAX_RHO))


def ar1_covariance(X: np.ndarray, residuals: np.ndarray) -> tuple[np.ndarray, float]:
    """Covariance of the OLS coefficients under AR(1) noise, and the ``rho`` used."""
    n, k = X.shape
    rho = ar1_rho(residuals)
    variance = float(residuals @ residuals) / max(n - k, 1)
    noise = variance * toeplitz(rho ** np.arange(n))
    bread = np.linalg.pinv(X.T @ X)
    return bread @ X.T @ noise @ X @ bread, rho


def _with_ar1_errors(model) -> RegressionResultsWrapper:
    plain = model.fit()
    cov, rho = ar1_covariance(np.asarray(model.exog, dtype=float), np.asarray(plain.resid, dtype=float))
    model.df_resid = max(plain.df_resid - 1, 1)  # rho is estimated as well
    results = RegressionResults(model, np.asarray(plain.params), normalized_cov_params=cov, use_t=True)
    # statsmodels multiplies normalized_cov_params by the residual variance it computes itself.
    results.normalized_cov_params = cov / results.scale
    results.rho = rho
    return RegressionResultsWrapper(results)


def fit_ar1(formula: str, data: pd.DataFrame) -> RegressionResultsWrapper:
    """OLS of ``formula`` on ``data`` (rows in time order) with AR(1)-noise standard errors.

    The results carry named ``params``, ``bse``, ``pvalues``, ``conf_int()`` and ``t_test``,
    on Student's t with ``df_resid`` degrees of freedom, and the ``rho`` used.
    """
    return _with_ar1_errors(smf.ols(formula, data=data))


def fit_ar1_arrays(y: np.ndarray, X: np.ndarray) -> RegressionResultsWrapper:
    """``fit_ar1`` for a design matrix instead of a formula."""
    return _with_ar1_errors(sm.OLS(y, X))
