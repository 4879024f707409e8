"""Intervals that stay valid when the estimate is redone every night (docs/claims.md, "Stable grades").

A 95% interval is a promise about one look. ROI Ledger looks every night: under no effect an
ordinary interval that excludes zero 5% of the time on each look excludes it on *some* night far
more often, and a grade that turns ``reliable`` on that night is luck. The rule here: a claim can
be ``reliable`` only when its **always-valid interval** excludes zero. It is the normal-mixture
confidence sequence (Robbins 1970; the mixture sequential probability ratio test of Johari,
Koomen, Pekelis & Walsh 2017, *Operations Research* 70(3), used for A/B tests that are watched
continuously): for an estimate with standard error ``se`` (variance ``V = se^2``) and mixing
variance ``tau^2``, zero is rejected — on any look, however many — when

    |effect| >= sqrt( V (1 + V / tau^2) (log(1 + tau^2 / V) + 2 log(1 / a)) )

and the chance that this ever happens under no effect, however long it is watched, is at most
``a`` (for a Gaussian estimate watched continuously). ROI Ledger's looks are weekly at most (a
weekly series changes once a week; the nights between redo the same numbers), a subset of
continuous watching, so the bound is loose: on Gaussian estimates of a null effect looked at
weekly from 4 to 56, 260 and 520 periods after go-live (20,000 paths each), the sequence at
``a = alpha`` is ever crossed in 1.5%, 2.0% and 2.1%; at ``a = 2 alpha`` in 3.0%, 3.8% and 4.0%
— still under ``alpha`` = 5% over ten years of weekly looks — and at ``a = 3 alpha`` in 4.5%,
5.6% and 5.9%, over it. So ``a = LEVEL_FACTOR x alpha`` with ``LEVEL_FACTOR = 2``: the largest
multiple that keeps the chance of a null claim ever being graded reliable under ``alpha`` for a
decade of nightly runs, which makes the interval about 7% narrower than ``a = alpha`` would
(``tests/test_claims.py`` re-runs the one-year and ten-year simulations).

``tau`` sets where the sequence is tightest; any value fixed in advance keeps the guarantee. It
is fixed at ``sqrt(TAU_RATIO)`` times the standard error the claim had (or would have had) at its
first gradeable look, with the fewest after-periods the claim checks accept — from then on the
half-width is about 2.8 to 3.3 standard errors instead of 1.96. That is the price of watching
every night; ``benchmarks/inference.py`` measures what it buys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

TAU_RATIO = 10.0  # tau^2 / V at the first gradeable look: near the narrowest the boundary gets
LEVEL_FACTOR = 2.0  # the mixture's level as a multiple of 1 - confidence (see the module)


@dataclass(frozen=True)
class AlwaysValid:
    low: float
    high: float
    half_width: float
    tau: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def half_width(se: float, tau: float, confidence: float) -> float:
    """The normal-mixture boundary for an estimate with standard error ``se`` (see the module)."""
    alpha = min(LEVEL_FACTOR * (1 - confidence), 0.5)
    v, t2 = se * se, tau * tau
    return math.sqrt(v * (1 + v / t2) * (math.log(1 + t2 / v) + 2 * math.log(1 / alpha)))


def first_look_se(se: float, pre: int, post: int, min_post: int) -> float:
    """The standard error with ``min_post`` after-periods instead of ``post``, by the usual
    ``1/pre + 1/post`` scaling of a difference of a before and an after mean."""
    return se * math.sqrt((1 / pre + 1 / min_post) / (1 / pre + 1 / post))


def always_valid(
    *, effect: float, ci_low: float, ci_high: float, confidence: float, pre: int, post: int, min_post: int
) -> AlwaysValid | None:
    """The always-valid interval of one estimate (its ordinary interval gives its ``se``)."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    se = (ci_high - ci_low) / (2 * z)
    if not se > 0 or pre <= 0 or post <= 0:
        return None
    tau = math.sqrt(TAU_RATIO) * first_look_se(se, pre, post, max(1, min(min_post, post)))
    width = half_width(se, tau, confidence)
    return AlwaysValid(effect - width, effect + width, width, tau)
