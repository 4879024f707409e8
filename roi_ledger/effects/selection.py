"""The primary-method rule: which estimate of a claim the grades, money and report rest on.

By default the primary estimate is the first, in the registry's order of preference, that has an
interval (stacked DiD, Callaway–Sant'Anna, DiD, synthetic DiD, synthetic control, ITS,
before/after: ``roi_ledger.effects.registry``). For one go-live date, whether DiD's plain average
of the comparison units is the right counterfactual is a question the site's own history can
answer, in two ways:

- every method that can (``Estimator.point``) is refitted at ``BACKDATED_GO_LIVES`` go-lives
  moved back into the before window, where the true effect is zero, and its **backdated error**
  — the root mean square of those estimates — says how far it strays on this very site;
- a synthetic twin's **fit**: how much closer than the comparison units' plain average it followed
  the site before go-live, per degree of freedom (``twin_fit_ratio``).

A synthetic method takes over from a DiD-type default when its twin fits clearly closer
(``TWIN_FIT_RATIO``) and it strays no more at the backdated go-lives: the site does not move like
the average, and a mix of neighbours does. Any method takes over when its backdated error is
below ``CLEARLY_BETTER`` times the default's (a site drifting on its own goes to ITS). Where
every site moves alike, neither happens and DiD stays primary: a close call keeps the default,
whose interval is usually the narrowest.

Backdated windows: the after window is as long as the real one, up to a quarter of the before
window; the earliest backdated go-live leaves half of the before window as history, the latest
ends its after window at the real go-live. The errors are on the estimation scale (log-ratio for
a metric estimated on the log scale), so every method is compared on the same footing.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import polars as pl

from roi_ledger.effects.panel import POST, PRE, TREATED, Panel
from roi_ledger.effects.registry import estimator_of
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.effects.synthetic import effective_donors, site_and_donors
from roi_ledger.effects.twins import WEIGHTED_METHODS

BACKDATED_GO_LIVES = 8
MIN_BACKDATED = 4  # fewer backdated fits say too little to overturn the default
# Backdated windows overlap, so a few dozen periods give only two or three independent ones and
# the ratio of two methods' errors is noisy: at 0.7 the demo's monthly satisfaction KPI (34 months,
# a real +0.4) went from DiD, which covered it, to ITS at 0.60. Clear divergence is far below 0.5
# (Proposition 99: 0.21).
CLEARLY_BETTER = 0.5
# A synthetic twin takes over from DiD when it followed the site before go-live this much more
# closely than the plain average did (root mean square per degree of freedom), and strayed no more
# at the backdated go-lives. Where every site moves alike the ratio stays at 0.94-1.0 (a twin of 6
# donors over 104 weeks, 16 businesses); a site unlike its neighbours gives 0.57-0.94.
TWIN_FIT_RATIO = 0.9


def backdated_panels(panel: Panel) -> list[Panel]:
    """The panel cut at backdated go-lives inside its before window (single go-live only)."""
    if panel.is_staggered:
        return []
    pre_starts = sorted(panel.treated.filter(pl.col("window") == PRE)["period_start"].unique().to_list())
    real_after = panel.periods(TREATED, POST)
    after = min(real_after, len(pre_starts) // 4)
    if after < 1:
        return []
    first, last = len(pre_starts) // 2, len(pre_starts) - after
    go_lives = np.unique(np.linspace(first, last, BACKDATED_GO_LIVES).astype(int)) if last > first else []
    panels = []
    for go_live in go_lives:
        cut, end = pre_starts[go_live], pre_starts[go_live + after - 1]
        frame = panel.frame.filter((pl.col("window") == PRE) & (pl.col("period_start") <= end)).with_columns(
            pl.when(pl.col("period_start") >= cut).then(pl.lit(POST)).otherwise(pl.lit(PRE)).alias("window")
        )
        panels.append(replace(panel, frame=frame))
    return panels


def backdated_error(panel: Panel, method: str, backdated: list[Panel]) -> float | None:
    """Root mean square of ``method``'s estimates at the backdated go-lives (None when it has no
    point function or fewer than ``MIN_BACKDATED`` of them give an estimate)."""
    estimator = estimator_of(method)
    if estimator is None or estimator.point is None:
        return None
    errors = []
    for fake in backdated:
        try:
            estimate = estimator.point(fake)
        except Exception:  # a method that cannot fit a backdated window has no say there
            estimate = None
        if estimate is not None and math.isfinite(estimate):
            errors.append(estimate)
    if len(errors) < MIN_BACKDATED:
        return None
    return float(np.sqrt(np.mean(np.square(errors))))


def twin_fit_ratio(panel: Panel, method: str) -> float | None:
    """How much closer ``method``'s synthetic twin followed the site before go-live than the
    comparison units' plain average did: the root mean square of each before-window gap (its
    mean left aside, as DiD leaves the level aside), per degree of freedom — the twin spends one
    per effective donor it weights, the average none — twin over average. None for a method
    without a twin."""
    table = site_and_donors(panel) if method in WEIGHTED_METHODS else None
    if table is None:
        return None
    weights = WEIGHTED_METHODS[method](table)[1]
    mix = np.array([weights[n] for n in table.donor_names])
    pre = ~table.after
    twin, average = (table.site[pre] - m @ table.donors[:, pre] for m in (mix, np.full(len(mix), 1 / len(mix))))
    used = effective_donors(weights)  # a ridge-penalised mix (synthetic DiD) spends less than a weight per donor
    periods = int(pre.sum())
    if periods - used < 2:
        return None
    twin_rss, average_rss = (float(np.sum((g - g.mean()) ** 2)) for g in (twin, average))
    if not average_rss > 0:
        return None
    return float(np.sqrt((twin_rss / (periods - used)) / (average_rss / (periods - 1))))


def _overturned(best: EffectEstimate, why: str) -> EffectEstimate:
    return replace(best, note="; ".join(n for n in (best.note, f"primary because {why}") if n))


def _twin_instead(panel: Panel, primary: EffectEstimate, challengers: list[EffectEstimate], looks: int):
    """The synthetic row that takes over from a DiD-type default (``TWIN_FIT_RATIO``), or None."""
    default = estimator_of(primary.method)
    if default is None or not default.parallel_trends:
        return None
    fits = {r.method: twin_fit_ratio(panel, r.method) for r in challengers if r.method in WEIGHTED_METHODS}
    twins = [
        r
        for r in challengers
        if fits.get(r.method) is not None
        and fits[r.method] < TWIN_FIT_RATIO
        and r.backdated_rmse <= primary.backdated_rmse
    ]
    if not twins:
        return None
    twin = min(twins, key=lambda r: r.backdated_rmse)
    return _overturned(
        twin,
        f"the site did not move like the comparison units' average: its twin followed it before go-live "
        f"{1 - fits[twin.method]:.0%} closer (per degree of freedom) and strayed no more at {looks} backdated "
        f"go-lives (root mean square {twin.backdated_rmse:.3g}, {primary.method} {primary.backdated_rmse:.3g})",
    )


def choose_primary(panel: Panel, rows: list[EffectEstimate]) -> list[EffectEstimate]:
    """Every row with its backdated error where computable, and ``is_primary`` on the one the
    rule picks (see the module); the primary row's note says why when the rule overturned the
    default."""
    if not rows:
        return rows
    bounded = [r for r in rows if r.ci_low is not None]
    default = bounded[0] if bounded else rows[0]
    backdated = backdated_panels(panel)
    errors = {r.method: backdated_error(panel, r.method, backdated) for r in bounded} if backdated else {}
    rows = [replace(r, backdated_rmse=errors.get(r.method)) for r in rows]
    primary = next(r for r in rows if r.method == default.method)
    if primary.backdated_rmse is not None:
        challengers = [r for r in rows if r.ci_low is not None and r.backdated_rmse is not None and r is not primary]
        best = min(challengers, key=lambda r: r.backdated_rmse, default=None)
        chosen = _twin_instead(panel, primary, challengers, len(backdated))
        if chosen is None and best is not None and best.backdated_rmse < CLEARLY_BETTER * primary.backdated_rmse:
            chosen = _overturned(
                best,
                f"it strayed least at {len(backdated)} go-lives backdated into the site's own history "
                f"(root mean square {best.backdated_rmse:.3g}, {primary.method} {primary.backdated_rmse:.3g})",
            )
        primary = chosen or primary
    rows = [primary if r.method == primary.method else r for r in rows]
    return [replace(r, is_primary=r.method == primary.method) for r in rows]
