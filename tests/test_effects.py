"""The estimators on small panels whose answers are computed by hand."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from roi_ledger.catalogue import MetricTraits
from roi_ledger.effects import estimate_effects
from roi_ledger.effects import its as its_module
from roi_ledger.effects.ar1_errors import ar1_covariance, ar1_rho, fit_ar1, panel_lags, panel_noise
from roi_ledger.effects.panel import POST, PRE, RAMP, build_panel, control_units, label_windows
from roi_ledger.register import parse_register

MONDAY = date(2024, 1, 1)


def register(extra: str = "", controls: str = "", rollout: str | None = None) -> object:
    """One initiative on metric m: unit a live from week 10 (one-week ramp-up), or ``rollout``."""
    rollout = (
        rollout
        or f"""go_live: {MONDAY + timedelta(weeks=10)}
    treated_units: [a]
    ramp_up_days: 7"""
    )
    return parse_register(
        f"""
business: {{name: T, currency: EUR, timezone: UTC}}
initiatives:
  - id: tool
    name: Tool
    status: live
    {rollout}
    metrics: [m]
    {controls}
{extra}
""",
        "test.yml",
    )


def weekly(values: dict[str, list[float]], metric: str = "m") -> pl.DataFrame:
    rows = []
    for unit, series in values.items():
        for week, value in enumerate(series):
            start = MONDAY + timedelta(weeks=week)
            rows.append((unit, metric, "week", start, start + timedelta(days=7), value, 10.0))
    return pl.DataFrame(
        rows, schema=["unit_id", "metric", "period", "period_start", "period_end", "value", "volume"], orient="row"
    )


def test_windows_leave_out_the_ramp_up_and_periods_after_retirement():
    frame = weekly({"a": [0.0] * 20})
    labelled = label_windows(
        frame, go_live=MONDAY + timedelta(weeks=10, days=2), ramp_up_days=7, retired_on=MONDAY + timedelta(weeks=15)
    )
    windows = labelled["window"].to_list()
    assert windows[:10] == [PRE] * 10  # ended by go-live day
    assert windows[10:12] == [RAMP, RAMP]  # contains go-live (day 2) / starts before go-live + 7
    assert windows[12:15] == [POST] * 3  # starts after the ramp-up, ends by retirement
    assert windows[15:] == [None] * 5


def test_did_is_the_treated_change_minus_the_control_change():
    # Treated: 10 before, 7 after. Controls: 20 -> 19 and 30 -> 29. By hand: (7-10) - (-1) = -2.
    rng = np.random.default_rng(1)
    noise = lambda: rng.normal(0, 0.01, 22)  # noqa: E731
    values = {
        "a": list(np.r_[[10.0] * 10, [8.5], [7.0] * 11] + noise()),
        "b": list(np.r_[[20.0] * 11, [19.0] * 11] + noise()),
        "c": list(np.r_[[30.0] * 11, [29.0] * 11] + noise()),
    }
    effects = estimate_effects(register(), weekly(values))
    did = effects.filter(pl.col("method") == "did").row(0, named=True)
    assert did["effect_abs"] == pytest.approx(-2.0, abs=0.02)
    assert did["is_primary"] and did["n_control_units"] == 2
    assert did["ci_low"] < -2.0 < did["ci_high"]
    naive = effects.filter(pl.col("method") == "before_after").row(0, named=True)
    assert naive["effect_abs"] == pytest.approx(-3.0, abs=0.02)  # 7 - 10
    assert not naive["is_primary"]
    assert (did["pre_periods"], did["post_periods"]) == (10, 11)  # the ramp-up week is left out


def test_its_finds_a_level_shift_on_a_trend():
    # value = 100 + 2t, and 15 lower from the after window on: the effect is -15.
    t = np.arange(40)
    values = 100 + 2.0 * t - 15.0 * (t >= 12) + np.random.default_rng(2).normal(0, 0.5, 40)
    effects = estimate_effects(register(controls="control_units: []"), weekly({"a": list(values)}))
    its = effects.filter(pl.col("method") == "its").row(0, named=True)
    assert its["is_primary"]
    assert its["effect_abs"] == pytest.approx(-15.0, abs=1.0)
    assert its["ci_low"] < -15.0 < its["ci_high"]
    # the naive comparison mixes the trend into the effect: after mean - before mean
    naive = effects.filter(pl.col("method") == "before_after").row(0, named=True)
    assert naive["effect_abs"] > 0


def one_unit_series(values: np.ndarray, go_live_week: int) -> tuple[object, pl.DataFrame]:
    """Unit a alone (no comparison units), live from ``go_live_week`` without a ramp-up."""
    reg = register(
        rollout=f"""go_live: {MONDAY + timedelta(weeks=go_live_week)}
    treated_units: [a]""",
        controls="control_units: []",
    )
    return reg, weekly({"a": list(values)})


def test_its_interval_widens_to_how_wrong_backdated_fits_were_on_an_unadjusted_season():
    # A year of weeks before go-live, half a year after, a seasonal wave (amplitude 3, one year
    # long) that the regression cannot adjust for, and no effect. Backdated go-lives: weeks 6..48
    # (6 weeks of history; after windows of min(26, 52 - g) >= 4 weeks), 20 of them spread evenly.
    t = np.arange(78)
    values = 50 + 3 * np.sin(2 * np.pi * t / 52) + np.random.default_rng(3).normal(0, 0.2, 78)
    reg, series = one_unit_series(values, 52)
    its = estimate_effects(reg, series).filter(pl.col("method") == "its").row(0, named=True)

    # Each backdated error by hand: OLS of the first g + after weeks on 1, t, step, step * (t - g),
    # the effect averaged over the after weeks, at 20 go-lives spread evenly over weeks 6..48.
    errors = []
    go_lives = np.unique(np.linspace(6, 48, 20).astype(int))
    for g in go_lives:
        after = min(26, 52 - g)
        frame = pd.DataFrame({"y": values[: g + after], "t": t[: g + after].astype(float)})
        frame["step"] = (frame["t"] >= g).astype(float)
        frame["since"] = frame["step"] * (frame["t"] - g)
        fit = smf.ols("y ~ t + step + since", frame).fit()
        errors.append(fit.params["step"] + fit.params["since"] * np.mean(np.arange(after)))
    rms = math.sqrt(np.mean(np.square(errors)))
    quantile = stats.t.ppf(0.975, len(go_lives) - 1)
    # Less than a year of history: nothing can tell the wave from a shift, so the interval is at
    # least the backdated errors' width (wider where the AR(1) error times their misfit ratio is).
    assert f"placebo-in-time: at {len(go_lives)} backdated go-lives" in its["inference"]
    assert "nothing can tell a season from a shift" in its["inference"]
    assert its["ci_high"] - its["effect_abs"] >= quantile * rms * (1 - 1e-9)
    assert its["ci_high"] - its["effect_abs"] == pytest.approx(its["effect_abs"] - its["ci_low"], rel=1e-9)
    assert its["ci_low"] < 0 < its["ci_high"]  # the wave is not mistaken for an effect


def test_its_widens_a_seasonal_fit_only_on_evidence_of_misfit():
    # Two years of weeks before go-live, a smooth yearly season and AR(1) noise the regression
    # describes: the backdated errors, in units of each fit's own standard error, stay within what
    # a right-shaped regression shows and the AR(1) interval is kept. Then the same series with a
    # kink the regression has no term for (the trend steepens by 0.15 a week from week 70):
    # backdated go-lives after it find "effects" where nothing was done, and it is widened.
    rng = np.random.default_rng(11)
    t = np.arange(130)
    noise = np.zeros(130)
    for i in range(1, 130):
        noise[i] = 0.5 * noise[i - 1] + rng.normal()
    values = 40 + 0.02 * t + 3 * np.sin(2 * np.pi * t / 52) + noise - 6.0 * (t >= 104)
    reg, series = one_unit_series(values, 104)
    its = estimate_effects(reg, series).filter(pl.col("method") == "its").row(0, named=True)
    assert "yearly Fourier pairs" in its["inference"] and "not widened" in its["inference"]
    assert its["ci_low"] <= -6.0 <= its["ci_high"]
    broken = values + 0.15 * np.maximum(t - 70, 0)
    reg, series = one_unit_series(broken, 104)
    misfit = estimate_effects(reg, series).filter(pl.col("method") == "its").row(0, named=True)
    assert "the regression misfits this series" in misfit["inference"]
    assert misfit["ci_high"] - misfit["ci_low"] > its["ci_high"] - its["ci_low"]


def test_backdating_never_narrows_the_its_interval(monkeypatch):
    # A straight line with noise and a level shift of -5, where the regression is right: the
    # backdated fits (shorter histories) can only widen the AR(1) interval, and it still covers.
    t = np.arange(60)
    values = 20 + 0.1 * t - 5.0 * (t >= 40) + np.random.default_rng(4).normal(0, 0.5, 60)
    reg, series = one_unit_series(values, 40)
    its = estimate_effects(reg, series).filter(pl.col("method") == "its").row(0, named=True)
    monkeypatch.setattr(its_module, "MIN_PLACEBOS", 10**6)  # the AR(1) interval alone
    model_only = estimate_effects(reg, series).filter(pl.col("method") == "its").row(0, named=True)
    assert "placebo-in-time: at 20 backdated go-lives" in its["inference"]  # 20 of go-lives 6..36
    assert "placebo-in-time" not in model_only["inference"]
    assert its["effect_abs"] == model_only["effect_abs"]
    assert its["ci_high"] - its["ci_low"] >= model_only["ci_high"] - model_only["ci_low"]
    assert its["ci_low"] < -5.0 < its["ci_high"]


def test_log_scale_effect_is_reported_in_the_metric_units():
    # Treated doubles at go-live while controls stay flat: tau = ln 2, so with observed 200
    # the counterfactual is 100 and the effect +100 (+100%).
    values = {"a": [100.0] * 11 + [200.0] * 11, "b": [50.0] * 22, "c": [80.0] * 22}
    traits = {"m": MetricTraits(scale="log", datasets=frozenset({"orders"}))}
    effects = estimate_effects(register(), weekly(values), traits=traits)
    did = effects.filter(pl.col("method") == "did").row(0, named=True)
    assert did["observed_value"] == pytest.approx(200.0)
    assert did["counterfactual_value"] == pytest.approx(100.0)
    assert did["effect_abs"] == pytest.approx(100.0)
    assert did["effect_pct"] == pytest.approx(100.0)
    assert "log scale" in did["inference"]


def test_default_controls_leave_out_units_changed_on_related_data():
    extra = f"""  - id: other
    name: Other
    status: live
    go_live: {MONDAY + timedelta(weeks=5)}
    treated_units: [b]
    metrics: [n]
"""
    reg = register(extra=extra)
    traits = {
        "m": MetricTraits(datasets=frozenset({"hours"})),
        "n": MetricTraits(datasets=frozenset({"hours", "orders"})),
    }
    tool = reg.initiative("tool")
    assert control_units(reg, tool, "m", {"a", "b", "c"}, traits) == ["c"]
    unrelated = {"m": MetricTraits(datasets=frozenset({"tickets"})), "n": MetricTraits(datasets=frozenset({"hours"}))}
    assert control_units(reg, tool, "m", {"a", "b", "c"}, unrelated) == ["b", "c"]


def test_an_estimate_is_written_even_from_very_little_data():
    values = {"a": [1.0, 1.2] + [0.0] * 9 + [2.0, 2.0, 2.0]}
    effects = estimate_effects(register(controls="control_units: []"), weekly(values))
    assert set(effects["method"]) >= {"before_after"}
    assert effects.filter(pl.col("is_primary")).height == 1


def test_placebo_in_space_gives_the_spread_of_placebo_effects():
    # One treated unit and 12 controls with known unit-level shocks after go-live: the placebo
    # SE is the standard deviation of the controls' own DiD effects.
    rng = np.random.default_rng(3)
    shocks = rng.normal(0, 1.0, 13)
    values = {f"u{i:02d}": [5.0] * 11 + [5.0 + shocks[i]] * 11 for i in range(13)}
    values["a"] = values.pop("u00")
    effects = estimate_effects(register(), weekly(values))
    did = effects.filter(pl.col("method") == "did").row(0, named=True)
    assert "placebo in space" in did["inference"]
    controls = shocks[1:]
    placebo = [c - (controls.sum() - c) / 11 for c in controls]
    se = float(np.std(placebo, ddof=1))
    # the SE is estimated from the 12 placebos themselves: the interval is t with 11 df
    assert "t with 11 df" in did["inference"]
    assert (did["ci_high"] - did["ci_low"]) / (2 * stats.t.ppf(0.975, 11)) == pytest.approx(se, rel=1e-6)
    assert did["effect_abs"] == pytest.approx(shocks[0] - controls.mean(), abs=1e-9)
    assert math.isfinite(did["p_value"])


def test_ar1_errors_match_the_variance_of_a_difference_of_means_by_hand():
    # Four periods, two before and two after: the effect is mean(after) - mean(before), and
    # under AR(1) noise with variance s2 and autocorrelation r its variance is
    # s2 * ((1 + r) - (r + 2 r^2 + r^3) / 2)  (the two means' variances minus twice their
    # covariance, summed over the pairs of periods).
    X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    residuals = np.array([-0.5, 0.5, 0.5, -0.5])  # y = 1, 2, 4, 3 minus each window's mean
    r = 0.5
    # E[e'e] = s2 * tr(M R): each window's two residuals are (u1 - u2)/2 and its negative, so
    # E[e'e] = 2 windows * 2 * s2 (1 - r) / 2 = 2 s2 (1 - r), and s2 = e'e / (2 (1 - r)) = 1.
    s2 = (residuals @ residuals) / (2 * (1 - r))
    cov, rho, share = ar1_covariance(X, residuals, rho=r)
    assert (rho, share) == (r, 1.0)
    assert cov[1, 1] == pytest.approx(s2 * ((1 + r) - (r + 2 * r**2 + r**3) / 2))


def test_ar1_errors_count_a_gap_between_periods_as_the_periods_it_lasted():
    # The same two-before, two-after design with the ramp-up period 2 left out: periods
    # 0, 1 | 3, 4. The windows' means are now further apart, so their covariance is smaller:
    # s2 * ((1 + r) - (r^2 + 2 r^3 + r^4) / 2)  (pairs 0-3, 0-4, 1-3, 1-4 are 3, 4, 2, 3 apart).
    X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    residuals = np.array([-0.5, 0.5, 0.5, -0.5])
    r = 0.5
    s2 = (residuals @ residuals) / (2 * (1 - r))  # each window's residuals are still adjacent
    cov, _, _ = ar1_covariance(X, residuals, rho=r, periods=np.array([0, 1, 3, 4]))
    assert cov[1, 1] == pytest.approx(s2 * ((1 + r) - (r**2 + 2 * r**3 + r**4) / 2))
    # Through a formula: a row the formula drops (missing value) takes its period with it.
    data = pd.DataFrame({"y": [1.0, 2.0, np.nan, 4.0, 3.0], "after": [0, 0, 1, 1, 1], "t": [0, 1, 2, 3, 4]})
    fit = fit_ar1("y ~ after", data, rho=r, period="t")
    assert fit.bse["after"] ** 2 == pytest.approx(cov[1, 1])


def test_ar1_errors_without_autocorrelation_are_the_ols_errors():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"y": rng.normal(size=30), "after": (np.arange(30) >= 15).astype(float)})
    plain = smf.ols("y ~ after", data=data).fit()
    cov, _, _ = ar1_covariance(plain.model.exog, np.asarray(plain.resid), rho=0.0)
    assert np.sqrt(cov[1, 1]) == pytest.approx(plain.bse["after"])


def test_ar1_rho_allows_for_what_the_design_removes_from_the_residuals():
    # 36 months, a step after 24 and a year of month dummies: 13 regressors soak up much of a
    # slow wobble, so the residuals' own lag-1 autocorrelation is far below the noise's rho.
    # The design-aware estimate is unbiased on average; the plain one is not.
    n, true_rho = 36, 0.6
    months = pd.get_dummies(np.arange(n) % 12, drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(n), (np.arange(n) >= 24).astype(float), months])
    residual_maker = np.eye(n) - X @ np.linalg.pinv(X)
    rng = np.random.default_rng(0)
    corrected, plain = [], []
    for _ in range(300):
        noise = np.empty(n)
        noise[0] = rng.normal() / np.sqrt(1 - true_rho**2)
        for t in range(1, n):
            noise[t] = true_rho * noise[t - 1] + rng.normal()
        residuals = residual_maker @ noise
        corrected.append(ar1_rho(X, residuals))
        plain.append(residuals[1:] @ residuals[:-1] / (residuals @ residuals))
    assert np.mean(corrected) == pytest.approx(true_rho, abs=0.06)
    assert np.mean(plain) < true_rho - 0.1


def test_panel_lags_pair_periods_within_a_unit_only():
    lags = panel_lags(np.array(["a", "a", "a", "b"]), np.array([1, 2, 4, 2]))
    assert lags[0, 1] == 1 and lags[1, 2] == 2  # a gap of one period counts as two apart
    assert np.isinf(lags[1, 3])  # different units: independent noise


def test_rho_pooled_over_units_is_unbiased_and_steadier_than_one_difference_series():
    # Five units, 30 periods, unit and period fixed effects, AR(1) noise with rho 0.6 per unit.
    n_units, n_periods, true_rho = 5, 30, 0.6
    rng = np.random.default_rng(2)
    pooled, single, shares = [], [], []
    for _ in range(150):
        noise = np.empty((n_units, n_periods))
        noise[:, 0] = rng.normal(size=n_units) / np.sqrt(1 - true_rho**2)
        for t in range(1, n_periods):
            noise[:, t] = true_rho * noise[:, t - 1] + rng.normal(size=n_units)
        panel = pd.DataFrame(
            {
                "value": noise.ravel() + np.repeat(rng.normal(size=n_units), n_periods),
                "unit": np.repeat(np.arange(n_units), n_periods).astype(str),
                "t": np.tile(np.arange(n_periods), n_units),
            }
        )
        rho, share = panel_noise("value ~ C(unit) + C(t)", panel, unit="unit", period="t")
        pooled.append(rho)
        shares.append(share)
        difference = pd.DataFrame({"d": noise[:2].mean(axis=0) - noise[2:].mean(axis=0)})
        single.append(fit_ar1("d ~ 1", difference).rho)
    assert np.mean(pooled) == pytest.approx(true_rho, abs=0.05)
    assert np.mean(shares) > 0.9  # pure AR(1): (almost) all the noise is autocorrelated
    assert np.std(pooled) < 0.75 * np.std(single)  # steadier, though two parameters are fitted


def test_one_series_separates_a_slow_wobble_from_white_noise_on_top():
    # 150 weeks of AR(1) noise (rho 0.7) plus as much white noise: half the variance wobbles.
    # Matching lag 2 as well as lag 1 recovers both; a pure AR(1) would take rho near 0.35.
    rng = np.random.default_rng(4)
    n, true_rho = 150, 0.7
    wobble_variance = 1 / (1 - true_rho**2)
    fits = []
    for _ in range(40):
        wobble = np.empty(n)
        wobble[0] = rng.normal() * np.sqrt(wobble_variance)
        for t in range(1, n):
            wobble[t] = true_rho * wobble[t - 1] + rng.normal()
        data = pd.DataFrame(
            {"y": wobble + rng.normal(0, np.sqrt(wobble_variance), n), "after": (np.arange(n) >= 75).astype(float)}
        )
        fit = fit_ar1("y ~ after", data)
        fits.append((fit.rho, fit.share))
    rho, share = np.mean(fits, axis=0)
    assert rho == pytest.approx(true_rho, abs=0.08)
    assert share == pytest.approx(0.5, abs=0.12)


def test_ar1_errors_widen_the_interval_of_a_slowly_wobbling_series():
    rng = np.random.default_rng(3)
    wobble = np.zeros(80)
    for t in range(1, 80):
        wobble[t] = 0.8 * wobble[t - 1] + rng.normal()
    data = pd.DataFrame({"y": wobble, "after": (np.arange(80) >= 40).astype(float)})
    plain = smf.ols("y ~ after", data=data).fit()
    fit = fit_ar1("y ~ after", data)
    assert fit.params["after"] == pytest.approx(plain.params["after"])  # same estimate
    assert fit.rho > 0.5
    assert fit.bse["after"] > 2 * plain.bse["after"]


def phased_register() -> object:
    """Unit a goes live in week 10, unit b in week 16."""
    return register(
        rollout=f"""phases:
      - {{units: [a], go_live: {MONDAY + timedelta(weeks=10)}}}
      - {{units: [b], go_live: {MONDAY + timedelta(weeks=16)}}}"""
    )


def test_its_of_a_phased_rollout_fits_each_cohort_at_its_own_go_live():
    # a drops by 1 from week 10 (16 weeks after), b by 2 from week 16 (10 weeks after). By hand,
    # weighted by treated unit-weeks after go-live: (16 * -1 + 10 * -2) / 26 = -36 / 26.
    rng = np.random.default_rng(5)
    weeks = np.arange(26)
    values = {
        "a": list(5 + np.where(weeks >= 10, -1.0, 0.0) + rng.normal(0, 0.01, 26)),
        "b": list(7 + np.where(weeks >= 16, -2.0, 0.0) + rng.normal(0, 0.01, 26)),
    }
    effects = estimate_effects(phased_register(), weekly(values))
    its = effects.filter(pl.col("method") == "its").row(0, named=True)
    assert its["effect_abs"] == pytest.approx(-36 / 26, abs=0.02)
    assert "per go-live cohort (2 cohorts)" in its["inference"]
    assert its["ci_low"] < -36 / 26 < its["ci_high"]


def test_staggered_interval_carries_the_small_sample_correction_for_few_units():
    # Two cohorts (a at week 10, b at week 16) and two never-treated units: four units, so
    # moderndid's unit-level (cluster-robust) SE is widened by sqrt(G / (G - 1)) and the
    # interval uses t with G - 1 = 3 degrees of freedom, as the DiD's CR1 interval does.
    from roi_ledger.effects.staggered import cohort_panel, group_aggregated_att

    rng = np.random.default_rng(4)
    weeks = 26
    go_live = {"a": 10, "b": 16}
    values = {
        unit: list(rng.normal(0, 0.3, weeks) + 5 + np.where(np.arange(weeks) >= go_live.get(unit, weeks), -1.0, 0.0))
        for unit in ("a", "b", "c", "d")
    }
    staggered_register = phased_register()
    effects = estimate_effects(staggered_register, weekly(values))
    row = effects.filter(pl.col("method") == "staggered_did").row(0, named=True)
    assert row["is_primary"] and "4 units (t with 3 df)" in row["inference"]
    # moderndid's own SE on the same panel, then the correction by hand
    initiative = staggered_register.initiatives[0]
    frame, ramp = cohort_panel(build_panel(staggered_register, initiative, "m", weekly(values)))
    result, _ = group_aggregated_att(frame, ramp)
    half_width = 3.182446305284263 * float(result.overall_se) * math.sqrt(4 / 3)  # t(3) 97.5%
    assert (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(half_width, rel=1e-6)
    assert row["effect_abs"] == pytest.approx(float(result.overall_att))


def test_stacked_did_of_a_phased_rollout_weighs_cohorts_by_treated_unit_periods():
    # Cohort 1 (units a1..a3) drops by 1 from week 20, cohort 2 (b1..b3) by 3 from week 30, six
    # comparison units with AR(1) noise; 40 weeks. Treated unit-weeks after go-live: 3 x 20 and
    # 3 x 10, so the effect averaged over them is (60 x -1 + 30 x -3) / 90 = -5/3. The corrective
    # weights by hand: stack 1 holds 3 x 40 treated and 6 x 40 comparison rows of 240 + 240
    # treated and 480 + 480 comparison rows in all, so its comparison rows weigh (120 / 240) /
    # (240 / 480) = 1, and so do stack 2's.
    from roi_ledger.effects.stacked import corrective_weights, stack

    rng = np.random.default_rng(8)
    weeks = np.arange(40)
    values = {}
    for i in range(6):
        noise = np.zeros(40)
        for w in range(1, 40):
            noise[w] = 0.5 * noise[w - 1] + rng.normal(0, 0.3)
        unit = ["a1", "a2", "a3", "b1", "b2", "b3"][i]
        drop = -1.0 * (weeks >= 20) if unit.startswith("a") else -3.0 * (weeks >= 30)
        values[unit] = list(10 + i + noise + drop)
        values[f"c{i}"] = list(10 + i + rng.normal(0, 0.3, 40))
    reg = register(
        rollout=f"""phases:
      - {{units: [a1, a2, a3], go_live: {MONDAY + timedelta(weeks=20)}}}
      - {{units: [b1, b2, b3], go_live: {MONDAY + timedelta(weeks=30)}}}"""
    )
    series = weekly(values)
    effects = estimate_effects(reg, series)
    stacked = effects.filter(pl.col("method") == "stacked_did").row(0, named=True)
    assert stacked["is_primary"] and "stacked DiD over 2 go-live cohorts" in stacked["inference"]
    assert stacked["effect_abs"] == pytest.approx(-5 / 3, abs=0.15)
    assert stacked["ci_low"] < -5 / 3 < stacked["ci_high"]
    panel = build_panel(reg, reg.initiatives[0], "m", series)
    frame = stack(panel)
    assert frame.height == 2 * 9 * 40 and set(corrective_weights(frame)) == {1.0}
    # Leave out stack 2's comparison rows after its first 35 weeks: each of them weighs more.
    uneven = frame.filter(~((pl.col("stack") == 1) & (pl.col("treated") == 0) & (pl.col("t") > pl.col("t").min() + 35)))
    kept = uneven.filter((pl.col("stack") == 1) & (pl.col("treated") == 0)).height
    weights = corrective_weights(uneven)
    by_stack = uneven.select("stack", "treated").with_columns(pl.Series("weight", weights))
    expected = {(0, 1): 1.0, (1, 1): 1.0, (0, 0): 0.5 / (240 / (240 + kept)), (1, 0): 0.5 / (kept / (240 + kept))}
    for (stack_number, treated), weight in expected.items():
        rows = by_stack.filter((pl.col("stack") == stack_number) & (pl.col("treated") == treated))["weight"]
        assert rows.to_list() == pytest.approx([weight] * rows.len())
