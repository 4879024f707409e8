"""How long until we know: each claim's minimum detectable effect and the periods still needed.

From a claim's primary estimate alone (docs/claims.md, "Power and time to a verdict"):

- its standard error, from the interval: ``se = (ci_high - ci_low) / (2 z)``, with ``z`` the
  normal quantile of the business's confidence level (the estimators' t quantiles are a little
  wider with few degrees of freedom, so this is slightly generous to the claim);
- the **minimum detectable effect** at 80% power and the business's two-sided level:
  ``mde = (z + z_power) * se``;
- the **expected effect**: the registered business case's expected change for the metric (a
  percentage) times the counterfactual level;
- **power now** against that expected effect: ``Phi(|expected| / se - z)``;
- the **periods to a verdict**: an effect estimated as a difference of a before and an after mean
  has variance proportional to ``1/pre + 1/post``, so with ``post'`` periods after go-live the
  error becomes ``se * sqrt((1/pre + 1/post') / (1/pre + 1/post))``. The smallest ``post'`` that
  brings the MDE down to the expected effect, less the periods already after go-live, is how many
  more periods are needed; if even endless after-periods cannot (the before window limits it),
  none is given and ``reachable`` is false: more comparison units, a longer before window or a
  larger expected change are the only ways.

The scaling assumes the noise is independent between periods; with positively autocorrelated
noise the true wait is longer. These are planning figures, published beside the estimate, never
in place of its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl
from scipy import stats

POWER = 0.8


@dataclass(frozen=True)
class Power:
    se: float
    mde: float
    expected_effect: float | None
    power_now: float | None
    periods_to_verdict: int | None
    reachable: bool | None


MAX_PERIODS = 520  # ten years of weeks: beyond this a plan is not a plan


def z_of(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def detectable(sd: float, pre: int, post: int, confidence: float, power: float = POWER) -> float:
    """The MDE of a before/after difference of means with per-period noise ``sd``:
    ``(z + z_power) * sd * sqrt(1/pre + 1/post)``."""
    return (z_of(confidence) + float(stats.norm.ppf(power))) * sd * math.sqrt(1 / pre + 1 / post)


def periods_for(sd: float, pre: int, expected: float, confidence: float, power: float = POWER) -> int | None:
    """The fewest after-periods whose MDE is at most |expected|; None if no number up to
    ``MAX_PERIODS`` is (the before window alone leaves too much noise)."""
    factor = (z_of(confidence) + float(stats.norm.ppf(power))) * sd
    room = (abs(expected) / factor) ** 2 - 1 / pre  # 1/post must not exceed it
    if room <= 0:
        return None
    needed = math.ceil(1 / room)
    return needed if needed <= MAX_PERIODS else None


def power_of(
    *, ci_low: float, ci_high: float, confidence: float, pre: int, post: int, expected_effect: float | None, power: float = POWER
) -> Power:
    """The planning figures of one estimate (see the module's docstring)."""
    z, z_power = z_of(confidence), float(stats.norm.ppf(power))
    se = (ci_high - ci_low) / (2 * z)
    mde = (z + z_power) * se
    if expected_effect is None or expected_effect == 0 or se <= 0:
        return Power(se, mde, expected_effect, None, None, None)
    size = abs(expected_effect)
    power_now = float(stats.norm.cdf(size / se - z))
    if mde <= size:
        return Power(se, mde, expected_effect, power_now, 0, True)
    # the per-period noise that gives this error with these windows, then the same rule as a plan's
    needed = periods_for(se / math.sqrt(1 / pre + 1 / post), pre, size, confidence, power)
    if needed is None:
        return Power(se, mde, expected_effect, power_now, None, False)
    return Power(se, mde, expected_effect, power_now, max(0, needed - post), True)


POWER_SCHEMA = {
    "initiative_id": pl.String,
    "metric": pl.String,
    "method": pl.String,
    "period": pl.String,
    "pre_periods": pl.Int64,
    "post_periods": pl.Int64,
    "standard_error": pl.Float64,
    "mde_abs": pl.Float64,
    "mde_pct": pl.Float64,
    "expected_change_pct": pl.Float64,
    "expected_effect_abs": pl.Float64,
    "power_now": pl.Float64,
    "periods_to_verdict": pl.Int64,
    "verdict_reachable": pl.Boolean,
    "grade": pl.String,
}


def claim_power(estimates: pl.DataFrame, grades: pl.DataFrame, expected_changes: dict[tuple[str, str], float]) -> pl.DataFrame:
    """One row per claim with a primary estimate: its MDE, power now and periods to a verdict
    against the expected change of its (registered) business case."""
    grade_of = {(r["initiative_id"], r["metric"]): r["grade"] for r in grades.filter(pl.col("metric").is_not_null()).iter_rows(named=True)}
    rows = []
    for e in estimates.filter(pl.col("is_primary")).iter_rows(named=True):
        if e["ci_low"] is None or e["ci_high"] is None or not e["pre_periods"] or not e["post_periods"]:
            continue
        key = (e["initiative_id"], e["metric"])
        change = expected_changes.get(key)
        level = e["counterfactual_value"]
        expected = change / 100 * level if change is not None and level is not None else None
        p = power_of(
            ci_low=e["ci_low"], ci_high=e["ci_high"], confidence=e["confidence_level"],
            pre=e["pre_periods"], post=e["post_periods"], expected_effect=expected,
        )
        rows.append(
            {
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
                "grade": grade_of.get(key),
            }
        )
    return pl.DataFrame(rows, schema=POWER_SCHEMA)
