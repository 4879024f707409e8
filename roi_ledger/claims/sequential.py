"""Intervals that stay valid when the estimate is redone every week (docs/claims.md, "Stable grades").

A 95% interval is a promise about one look. ROI Ledger looks every night, and a weekly series
changes once a week: under no effect an ordinary interval that excludes zero 5% of the time on
each look excludes it on *some* week far more often (27% of null claims within a year), and a
grade that turns ``reliable`` on that week is luck. So a claim can be ``reliable`` only when its
**always-valid interval** excludes zero: ``effect +- c_k se``, with a boundary ``c_k`` for the
k-th look that keeps the chance of *ever* crossing, under no effect, at most ``alpha`` however
long the claim is watched.

**The rule: alpha spending over the weekly looks** (Lan & DeMets 1983, the group-sequential
design of clinical trials with interim analyses). The looks are the after-periods a claim is
graded at: ``min_post``, ``min_post + 1``, ... (one per week, month or quarter of the series; the
nights between redo the same numbers). An estimate that compares a before and an after mean
has variance proportional to ``1/pre + 1/post``, so its information at look ``post`` is
``I(post) = 1 / (1/pre + 1/post)``: it grows with every period and levels off at ``pre`` — the
before window bounds what any wait can learn. The z-statistics of successive looks are then
those of a Brownian motion observed at these information times (correlation
``sqrt(I_j / I_k)``), and the boundaries come from the exact recursive integration of
Armitage, McPherson & Rowe (1969): ``c_k`` is set so that the chance of first crossing at look
k is what the **spending function** allots to it,

    spent(u) = alpha (1 - exp(-gamma u)) / (1 - exp(-gamma u_max)),   u = I(post) / I(horizon),

a Hwang-Shih-DeCani function of the information relative to the **registered horizon** (the
after-periods by which the business case expects a verdict, ``verdict_horizon_days``, half a year
by default), reaching ``alpha`` only at ``u_max = I(oo) / I(horizon) = 1 + pre / horizon``.
``gamma`` is chosen so that ``HORIZON_SHARE`` (80%) of ``alpha`` is spent by the horizon: the
error budget goes to the looks where the owner expects an answer, and what is left keeps every
later look — years of them — covered (with no before-window bound, ``u_max`` is infinite and
the function still ends at ``alpha``). The guarantee is the design's own: whatever the number of
looks, under no effect the chance of ever crossing is at most ``alpha``, exactly for Gaussian
estimates with this information growth.

Why not the normal-mixture confidence sequence used before (Johari et al. 2017): it protects
continuous watching, which weekly looks are not, and its half-width never falls below about 2.8
standard errors; the spending boundaries are 2.3 to 2.8 at the looks before the horizon, and the
time to a verdict grows with the square of the boundary (``benchmarks/inference.py`` measures
both rules' times against a fixed-horizon test). ``tests/test_claims.py`` checks the recursion
against published boundaries (Lan-DeMets O'Brien-Fleming- and Pocock-type spending, five equally
spaced looks) and the guarantee by simulation over one and ten years of weekly looks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize, stats

HORIZON_SHARE = 0.8  # share of alpha spent by the registered horizon (see the module)
_GRID = np.linspace(-9.0, 9.0, 901)  # z values the recursion integrates over (step 0.02)


@dataclass(frozen=True)
class AlwaysValid:
    low: float
    high: float
    half_width: float
    boundary: float  # the half-width in standard errors at this look

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def information(pre: float, post: float) -> float:
    """Information of a before/after comparison with ``pre`` and ``post`` periods (per unit noise)."""
    return 1.0 / (1.0 / pre + 1.0 / post)


def spending_shape(pre: float, horizon: int) -> tuple[float, float]:
    """``(gamma, u_max)`` of the spending function for a claim with ``pre`` periods before go-live
    and a registered horizon of ``horizon`` after-periods: HORIZON_SHARE of alpha by the horizon."""
    u_max = 1.0 + pre / horizon if math.isfinite(pre) else math.inf
    if 1.0 / u_max >= HORIZON_SHARE:  # a before window this short leaves little to wait for: spend evenly
        return 1e-6, u_max

    def share_at_horizon(gamma: float) -> float:
        tail = 0.0 if math.isinf(u_max) else math.exp(-gamma * u_max)
        return (1 - math.exp(-gamma)) / (1 - tail) - HORIZON_SHARE

    return float(optimize.brentq(share_at_horizon, 1e-6, 50.0)), u_max


def spent(u: np.ndarray, gamma: float, u_max: float, alpha: float) -> np.ndarray:
    """The Hwang-Shih-DeCani spending function at information fractions ``u`` of the horizon's."""
    tail = 0.0 if math.isinf(u_max) else math.exp(-gamma * u_max)
    return alpha * (1 - np.exp(-gamma * np.minimum(u, u_max))) / (1 - tail)


def spending_boundaries(info: np.ndarray, cumulative_alpha: np.ndarray) -> np.ndarray:
    """Two-sided boundaries ``c_k`` for z-statistics observed at information times ``info``
    (a Brownian motion), such that the chance of first crossing at look k is
    ``cumulative_alpha[k] - cumulative_alpha[k - 1]``: the recursive numerical integration of
    Armitage, McPherson & Rowe (1969) on a grid of z values, each point standing for the mass
    of its cell (so a boundary falls between grid points, not on them)."""
    looks = _Looks.start()
    for k, look_alpha in enumerate(cumulative_alpha):
        looks.add(info[k - 1] if k else None, info[k], look_alpha)
    return np.array(looks.bounds)


def _stop_at(mass: np.ndarray, alpha: float, step: float) -> tuple[float, np.ndarray]:
    """The boundary ``c`` whose two tails hold ``alpha`` of ``mass`` (each grid point's mass
    spread evenly over its cell), and the mass left inside it."""
    distance = np.abs(_GRID)
    cells = np.rint(distance / step).astype(int)  # cell of |z|: 0, 1, 2, ... from zero outwards
    folded = np.bincount(cells, weights=mass)
    beyond = np.concatenate([np.cumsum(folded[::-1])[::-1][1:], [0.0]])  # mass above each cell
    reaching = np.flatnonzero(beyond + folded >= alpha)
    if alpha <= 0 or not reaching.size:
        return float(distance.max() + step / 2), mass
    j = int(reaching[-1])
    share = min(max((alpha - beyond[j]) / folded[j], 0.0), 1.0) if folded[j] > 0 else 0.0
    keep = np.where(cells > j, 0.0, np.where(cells == j, 1.0 - share, 1.0))
    return float((j + 0.5 - share) * step), mass * keep


def _moved(mass: np.ndarray, r: float) -> np.ndarray:
    """Cell masses of ``z_k = r z_(k-1) + sqrt(1 - r^2) e`` given those of ``z_(k-1)``: each
    cell's mass moved to ``r z`` (split between the two nearest cells, so none is lost), then
    spread by the Gaussian step (``scipy.ndimage``)."""
    step = _GRID[1] - _GRID[0]
    position = (r * _GRID - _GRID[0]) / step
    below = np.floor(position).astype(int)
    upper_share = position - below
    moved = np.bincount(below, weights=mass * (1 - upper_share), minlength=len(_GRID))
    moved += np.bincount(np.minimum(below + 1, len(_GRID) - 1), weights=mass * upper_share, minlength=len(_GRID))
    spread = math.sqrt(max(1 - r * r, 0.0)) / step
    if spread < 1e-3:
        return moved[: len(_GRID)]
    return ndimage.gaussian_filter1d(moved[: len(_GRID)], spread, mode="constant", truncate=8.0)


@dataclass
class _Looks:
    """The boundaries computed so far for one claim design, and the state to go on from: the
    mass of the paths not yet stopped and the alpha they have spent."""

    bounds: list[float]
    mass: np.ndarray
    used: float

    @classmethod
    def start(cls) -> _Looks:
        return cls([], stats.norm.pdf(_GRID) * (_GRID[1] - _GRID[0]), 0.0)

    def add(self, previous_info: float | None, info: float, cumulative_alpha: float) -> None:
        """One more look at information ``info``, spending up to ``cumulative_alpha`` in all."""
        if previous_info is not None:
            self.mass = _moved(self.mass, math.sqrt(previous_info / info))
        bound, kept = _stop_at(self.mass, max(cumulative_alpha - self.used, 0.0), _GRID[1] - _GRID[0])
        self.used += float(self.mass.sum() - kept.sum())
        self.mass = kept
        self.bounds.append(bound)


_CACHE: dict[tuple, _Looks] = {}


def _boundaries_to(pre: float, min_post: int, horizon: int, alpha: float, look: int) -> list[float]:
    """Boundaries of looks ``min_post``, ``min_post + 1``, ... up to index ``look``, extended
    from what earlier calls computed (a boundary depends only on the looks before it)."""
    gamma, u_max = spending_shape(pre, horizon)
    state = _CACHE.setdefault((pre, min_post, horizon, alpha), _Looks.start())
    while len(state.bounds) <= look:
        post = min_post + len(state.bounds)
        target = float(spent(np.array([information(pre, post) / information(pre, horizon)]), gamma, u_max, alpha)[0])
        state.add(information(pre, post - 1) if state.bounds else None, information(pre, post), target)
    return state.bounds


def boundary(pre: float, post: int, min_post: int, horizon: int, confidence: float) -> float:
    """The always-valid boundary, in standard errors, at the look with ``post`` after-periods."""
    min_post = max(1, min_post)
    look = max(post, min_post) - min_post
    return _boundaries_to(float(pre), min_post, max(horizon, 1), round(1 - confidence, 10), look)[look]


def always_valid(
    *,
    effect: float,
    ci_low: float,
    ci_high: float,
    confidence: float,
    pre: int,
    post: int,
    min_post: int,
    horizon: int | None = None,
) -> AlwaysValid | None:
    """The always-valid interval of one estimate (its ordinary interval gives its ``se``);
    ``horizon`` is the registered horizon in after-periods (26 when not given: half a year of weeks)."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    se = (ci_high - ci_low) / (2 * z)
    if not se > 0 or pre <= 0 or post <= 0:
        return None
    c = boundary(pre, post, min_post, horizon or DEFAULT_HORIZON_PERIODS, confidence)
    return AlwaysValid(effect - c * se, effect + c * se, c * se, c)


DEFAULT_HORIZON_PERIODS = 26
