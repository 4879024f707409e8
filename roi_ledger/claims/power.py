"""How long until we know: each claim's minimum detectable effect and the periods still needed.

From a claim's primary estimate alone (docs/claims.md, "Power and time to a verdict"), under the
rule the grade uses — the always-valid interval must exclude zero (``sequential.py``: its
boundary ``c(post)`` in standard errors at each weekly look, most of the error budget spent by
the claim's verdict horizon):

- its standard error, from the interval: ``se = (ci_high - ci_low) / (2 z)``, with ``z`` the
  normal quantile of the business's confidence level (the estimators' t quantiles are a little
  wider with few degrees of freedom, so this is slightly generous to the claim);
- an effect estimated as a difference of a before and an after mean has variance proportional
  to ``1/pre + 1/post``, so the per-period noise is ``sd = se / sqrt(1/pre + 1/post)`` and with
  ``post'`` after-periods the error would be ``se' = sd sqrt(1/pre + 1/post')``;
- the **minimum detectable effect** at 80% power after ``post'`` periods is the always-valid
  half-width plus the power margin: ``mde = c(post') se' + z_power se'``;
- the **expected effect**: the registered business case's expected change for the metric (a
  percentage) times the counterfactual level;
- **power now** against that expected effect: ``Phi((|expected| - c(post) se) / se)``;
- the **periods to a verdict**, following the grade's own rule: 0 when the always-valid
  interval already excludes zero (``basis`` "now"); else, while the data cannot yet detect the
  expected effect, the fewest ``post'`` whose MDE is at most it, less the periods already after
  go-live (``basis`` "expected"); else — the data could detect the expected effect and have
  not, or no effect is expected — the fewest ``post'`` at which the effect *as measured* would
  clear the boundary, ``c(post') se' <= |effect|`` (``basis`` "measured": what the wait is if the
  effect stays at its measured size). If no ``post'`` up to ``_MAX_PERIODS`` does (the before
  window limits it), none is given and ``reachable`` is false: more comparison units, a longer
  before window or a larger change are the only ways.

The scaling assumes the noise is independent between periods; with positively autocorrelated
noise the true wait is longer. These are planning figures, published beside the estimate, never
in place of its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
from scipy import stats

from roi_ledger.claims.sequential import DEFAULT_HORIZON_PERIODS, always_valid, boundary
from roi_ledger.claims.thresholds import MIN_POST_PERIODS
from roi_ledger.register import Register
from roi_ledger.tables import schema

if TYPE_CHECKING:  # only named in annotations: the proposals' plans import this module without the estimators
    from roi_ledger.claims.replays import ReplayRates
    from roi_ledger.claims.sensitivity import Breakdown, TrendSensitivity

# Not thresholds: no check or grade reads these planning figures. 80% is the power in the
# definition of a minimum detectable effect (the convention its reader expects); a plan needing
# more than ten years of weeks is no plan; a caller that gives no ``min_post`` gets the weekly
# default of ``min_post_weeks``.
_POWER = 0.8
_MAX_PERIODS = 520
_DEFAULT_MIN_POST = MIN_POST_PERIODS["week"]


@dataclass(frozen=True)
class Power:
    se: float
    mde: float
    expected_effect: float | None
    power_now: float | None
    periods_to_verdict: int | None
    reachable: bool | None
    basis: str | None = None  # now | expected | measured: what periods_to_verdict is counted for


@dataclass(frozen=True)
class Looks:
    """When a claim is graded: its first gradeable look and its verdict horizon, in after-periods."""

    min_post: int = _DEFAULT_MIN_POST
    horizon: int = DEFAULT_HORIZON_PERIODS


def z_of(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _se(sd: float, pre: int, post: int) -> float:
    return sd * math.sqrt(1 / pre + 1 / post)


def _half_width(sd: float, pre: int, post: int, confidence: float, looks: Looks) -> float:
    """The always-valid half-width after ``post`` periods."""
    return boundary(pre, post, looks.min_post, looks.horizon, confidence) * _se(sd, pre, post)


def detectable(
    sd: float, pre: int, post: int, confidence: float, power: float = _POWER, looks: Looks = Looks()
) -> float:
    """The MDE after ``post`` periods of a before/after difference of means with per-period
    noise ``sd``, under the always-valid rule: ``c(post) se + z_power se`` with
    ``se = sd sqrt(1/pre + 1/post)``."""
    return _half_width(sd, pre, post, confidence, looks) + float(stats.norm.ppf(power)) * _se(sd, pre, post)


def periods_for(
    sd: float, pre: int, expected: float, confidence: float, power: float = _POWER, looks: Looks = Looks()
) -> int | None:
    """The fewest after-periods (at least ``min_post``) whose MDE is at most |expected|; None if
    no number up to ``_MAX_PERIODS`` is (the before window alone leaves too much noise). The
    boundary rises after the horizon, so the MDE need not fall with every period: scanned."""
    return next(
        (
            n
            for n in range(looks.min_post, _MAX_PERIODS + 1)
            if detectable(sd, pre, n, confidence, power, looks) <= abs(expected)
        ),
        None,
    )


def power_of(
    *,
    ci_low: float,
    ci_high: float,
    confidence: float,
    pre: int,
    post: int,
    expected_effect: float | None,
    effect: float | None = None,
    power: float = _POWER,
    looks: Looks = Looks(),
) -> Power:
    """The planning figures of one estimate (see the module's docstring); ``effect`` is the
    measured one (the middle of the interval when not given)."""
    se = (ci_high - ci_low) / (2 * z_of(confidence))
    if se <= 0:
        return Power(se, 0.0, expected_effect, None, None, None)
    effect = (ci_low + ci_high) / 2 if effect is None else effect
    sd = se / math.sqrt(1 / pre + 1 / post)
    mde = detectable(sd, pre, post, confidence, power, looks)
    width = _half_width(sd, pre, post, confidence, looks)
    power_now = None
    if expected_effect:
        power_now = float(stats.norm.cdf((abs(expected_effect) - width) / se))
    if abs(effect) >= width:
        return Power(se, mde, expected_effect, power_now, 0, True, "now")
    if expected_effect and mde > abs(expected_effect):
        needed, basis = periods_for(sd, pre, expected_effect, confidence, power, looks), "expected"
    else:
        needed, basis = periods_for(sd, pre, effect, confidence, 0.5, looks) if effect else None, "measured"
    if needed is None:
        return Power(se, mde, expected_effect, power_now, None, False, basis)
    return Power(se, mde, expected_effect, power_now, max(1, needed - post), True, basis)


POWER_SCHEMA = schema("claim_power")  # the published columns and types (its mart yml)


def claim_looks(register: Register, estimates: pl.DataFrame) -> dict[tuple[str, str], Looks]:
    """Per claim with a primary estimate, its first gradeable look and verdict horizon in
    after-periods of its series, from the thresholds in force for its initiative."""
    by_id = {i.id: i for i in register.initiatives}
    looks = {}
    for e in estimates.filter(pl.col("is_primary")).iter_rows(named=True):
        if e["initiative_id"] in by_id:
            thresholds = register.thresholds_for(by_id[e["initiative_id"]])
            looks[(e["initiative_id"], e["metric"])] = Looks(
                thresholds.min_post(e["period"]), thresholds.horizon_periods(e["period"])
            )
    return looks


def expected_changes(registered: Register) -> dict[tuple[str, str], float]:
    """Per claim (initiative, metric), the change in percent its business case expects
    (``registered``: the register with each case as registered, ``business_case.as_registered``)."""
    return {
        (i.id, metric): change
        for i in registered.initiatives
        if i.expected
        for metric, change in i.expected.changes.items()
    }


def claim_power(
    estimates: pl.DataFrame,
    grades: pl.DataFrame,
    expected_changes: dict[tuple[str, str], float],
    looks: dict[tuple[str, str], Looks] | None = None,
    replay_rates: dict | None = None,
    sensitivities: dict | None = None,
    breakdowns: dict | None = None,
) -> pl.DataFrame:
    """One row per claim with a primary estimate: its MDE, power now and periods to a verdict
    against the expected change of its (registered) business case, its always-valid interval,
    (``replay_rates``: (initiative, metric) -> ``replays.ReplayRates``) its placebo replays and
    (``sensitivities``: -> ``sensitivity.TrendSensitivity``) its breakdown differential trend and
    (``breakdowns``: -> ``sensitivity.Breakdown``) its relative-magnitudes breakdown value."""
    grade_of = {
        (r["initiative_id"], r["metric"]): r["grade"]
        for r in grades.filter(pl.col("metric").is_not_null()).iter_rows(named=True)
    }
    looks, replay_rates, sensitivities, breakdowns = (
        looks or {},
        replay_rates or {},
        sensitivities or {},
        breakdowns or {},
    )
    rows = []
    for e in estimates.filter(pl.col("is_primary")).iter_rows(named=True):
        if e["ci_low"] is None or e["ci_high"] is None or not e["pre_periods"] or not e["post_periods"]:
            continue
        key = (e["initiative_id"], e["metric"])
        claim_looks = looks.get(key, Looks())
        rows.append(
            {
                **_planning_columns(e, expected_changes.get(key), claim_looks),
                "grade": grade_of.get(key),
                **_interval_columns(e, claim_looks),
                **_evidence_columns(replay_rates.get(key), sensitivities.get(key), breakdowns.get(key)),
            }
        )
    return pl.DataFrame(rows, schema=POWER_SCHEMA)


def _planning_columns(e: dict, change: float | None, looks: Looks) -> dict:
    """One primary estimate's planning figures (``power_of``) against the expected ``change`` (%)."""
    level = e["counterfactual_value"]
    expected = change / 100 * level if change is not None and level is not None else None
    p = power_of(
        ci_low=e["ci_low"],
        ci_high=e["ci_high"],
        confidence=e["confidence_level"],
        pre=e["pre_periods"],
        post=e["post_periods"],
        expected_effect=expected,
        effect=e["effect_abs"],
        looks=looks,
    )
    return {
        "initiative_id": e["initiative_id"],
        "metric": e["metric"],
        "method": e["method"],
        "period": e["period"],
        "pre_periods": e["pre_periods"],
        "post_periods": e["post_periods"],
        "standard_error": p.se,
        "mde_abs": p.mde,
        "mde_pct": 100 * p.mde / abs(level) if level else None,
        "expected_change_pct": change,
        "expected_effect_abs": expected,
        "power_now": p.power_now,
        "periods_to_verdict": p.periods_to_verdict,
        "verdict_reachable": p.reachable,
        "verdict_basis": p.basis,
        "verdict_horizon_periods": looks.horizon,
    }


def _interval_columns(e: dict, looks: Looks) -> dict:
    """One primary estimate's interval and the always-valid interval the grade rests on."""
    bounds = always_valid(
        effect=e["effect_abs"],
        ci_low=e["ci_low"],
        ci_high=e["ci_high"],
        confidence=e["confidence_level"],
        pre=e["pre_periods"],
        post=e["post_periods"],
        min_post=looks.min_post,
        horizon=looks.horizon,
    )
    return {
        "inference": e["inference"],
        "ci_low": e["ci_low"],
        "ci_high": e["ci_high"],
        "always_valid_low": bounds.low if bounds else None,
        "always_valid_high": bounds.high if bounds else None,
    }


def _evidence_columns(replays: ReplayRates | None, trend: TrendSensitivity | None, bound: Breakdown | None) -> dict:
    """One claim's placebo replays, breakdown differential trend and relative-magnitudes
    breakdown (None: not computed)."""
    return {
        "placebo_replays": replays.replays if replays else 0,
        "placebo_false_positive_rate": replays.false_positive_rate if replays else None,
        "placebo_share_as_large": replays.share_as_large if replays else None,
        "sensitivity_scale": trend.scale if trend else None,
        "pre_trend_slope": trend.pre_trend_slope if trend else None,
        "pre_trend_slope_se": trend.pre_trend_se if trend else None,
        "trend_breakdown_slope": trend.breakdown_slope if trend else None,
        "trend_breakdown_in_pre_se": trend.breakdown_in_pre_se if trend else None,
        "breakdown_rm": bound.relative_magnitude if bound else None,
        "breakdown_rm_bin_periods": bound.bin_periods if bound else None,
        "breakdown_rm_pre_bins": bound.pre_bins if bound else None,
        "breakdown_rm_post_bins": bound.post_bins if bound else None,
        "breakdown_rm_covariance": bound.covariance if bound else None,
    }
