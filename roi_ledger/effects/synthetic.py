"""What synthetic control and synthetic DiD share: the site and its donors as a balanced table.

Both methods build the treated site's counterfactual as a weighted mix of the comparison units
(the donors) instead of their plain average, so a site unlike its neighbours — a shop that grows
faster than the others, an office with a busier season — is compared with the mix of neighbours
that moved like it before go-live. The weights are fitted by ``diff-diff`` (validated against R's
``Synth`` and ``synthdid``); this module only shapes the panel for it and says the weights in words.

Several treated units that went live on one day are averaged into one site first (Abadie,
Diamond & Hainmueller 2010 treat an aggregate the same way); a phased rollout is left to the
staggered estimators. Only periods every unit reports are used, and the ramp-up is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
import polars as pl

from roi_ledger.effects.panel import POST, PRE, TREATED, Panel
from roi_ledger.effects.result import EffectEstimate, t_quantile

SITE = "treated site"
MIN_DONORS = 2
SIGNIFICANT_DIGITS = 10
MIN_PLACEBO_DONORS = 3  # a placebo site needs two donors of its own, and a spread needs three
MIN_PRE_PERIODS = 6
# Weights below this share are left out when the mix is said in words.
NAMED_WEIGHT = 0.01


@dataclass(frozen=True)
class SiteAndDonors:
    """The treated site (mean of the treated units) and each donor, on the periods all report."""

    periods: list[date]
    after: np.ndarray  # bool per period
    site: np.ndarray  # (periods,)
    donors: np.ndarray  # (donors, periods)
    donor_names: list[str]
    n_treated: int

    @property
    def n_pre(self) -> int:
        return int((~self.after).sum())

    @property
    def n_post(self) -> int:
        return int(self.after.sum())

    def long(self, site: np.ndarray | None = None, donors: np.ndarray | None = None) -> pd.DataFrame:
        """The table in diff-diff's long shape: unit, time (period number), y, ever-treated and
        treated-now indicators; ``site``/``donors`` replace the values (e.g. demeaned)."""
        site = self.site if site is None else site
        donors = self.donors if donors is None else donors
        names = [SITE, *self.donor_names]
        values = np.vstack([site, donors])
        periods = len(self.periods)
        frame = pd.DataFrame(
            {
                "unit": np.repeat(names, periods),
                "time": np.tile(np.arange(periods), len(names)),
                "y": values.ravel(),
            }
        )
        frame["ever_treated"] = (frame["unit"] == SITE).astype(int)
        frame["treated_now"] = (frame["ever_treated"] == 1) & self.after[frame["time"].to_numpy()]
        frame["treated_now"] = frame["treated_now"].astype(int)
        return frame

    @property
    def post_times(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(self.after)]

    def with_donor_as_site(self, i: int) -> SiteAndDonors:
        """Donor ``i`` posing as the site, the other donors as its donors (the real site left
        out, so its own effect cannot leak into a placebo)."""
        return replace(
            self,
            site=self.donors[i],
            donors=np.delete(self.donors, i, axis=0),
            donor_names=[n for k, n in enumerate(self.donor_names) if k != i],
            n_treated=1,
        )


def settled(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits of the largest of them. The weights
    are fitted with thresholds (synthetic DiD's Frank-Wolfe zeroes weights below a quarter of the
    largest, as R's synthdid does), so the last-bit noise of a warehouse's parallel sums could
    otherwise move a rerun's interval: rounded, a rerun fits the very same numbers."""
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if not largest > 0:
        return values
    return np.round(values, digits - 1 - int(np.floor(np.log10(largest))))


def site_and_donors(panel: Panel) -> SiteAndDonors | None:
    """The balanced table, or None for a phased rollout, fewer than ``MIN_DONORS`` donors or
    ``MIN_PRE_PERIODS`` before periods, or no after period."""
    if panel.is_staggered:
        return None
    frame = panel.frame.filter(pl.col("window").is_in([PRE, POST])).drop_nulls("value")
    treated = frame.filter(pl.col("role") == TREATED)
    site = treated.group_by("period_start").agg(pl.col("value").mean().alias(SITE), pl.col("window").first())
    donors = frame.filter(pl.col("role") != TREATED).pivot(on="unit_id", index="period_start", values="value")
    table = site.join(donors, on="period_start", how="inner").drop_nulls().sort("period_start")
    names = sorted(c for c in donors.columns if c != "period_start")
    after = (table["window"] == POST).to_numpy()
    if len(names) < MIN_DONORS or (~after).sum() < MIN_PRE_PERIODS or after.sum() < 1:
        return None
    return SiteAndDonors(
        periods=table["period_start"].to_list(),
        after=after,
        site=settled(table[SITE].to_numpy().astype(float)),
        donors=settled(table.select(names).to_numpy().T.astype(float)),
        donor_names=names,
        n_treated=treated["unit_id"].n_unique(),
    )


EffectOf = Callable[[SiteAndDonors], tuple[float, dict[str, float]]]


# Fits kept per method; beyond this many tables a method's are dropped and fitted again.
MAX_REMEMBERED_FITS = 256


def remembered(effect_of: EffectOf) -> EffectOf:
    """``effect_of``, fitted once per table: the estimate, the primary-method rule, the published
    weights, the chart and the twin checks all ask for the same fit of the same site and donors."""
    fits: dict[tuple, tuple[float, dict[str, float]]] = {}

    def fit(table: SiteAndDonors) -> tuple[float, dict[str, float]]:
        key = (table.site.tobytes(), table.donors.tobytes(), table.after.tobytes(), tuple(table.donor_names))
        if key not in fits:
            if len(fits) >= MAX_REMEMBERED_FITS:
                fits.clear()
            fits[key] = effect_of(table)
        effect, weights = fits[key]
        return effect, dict(weights)

    return fit


def placebo_interval(
    table: SiteAndDonors, effect_of: EffectOf, effect: float, confidence: float
) -> tuple[tuple[float | None, float | None, float | None], str]:
    """Placebo in space: each donor poses as the site, fitted from the other donors by the same
    method; the spread of those placebo effects is the standard error (t with J − 1 df for J
    donors, the spread being estimated from J of them), and the share of placebo effects at
    least as large as the site's is the p-value. No interval below ``MIN_PLACEBO_DONORS``."""
    donors = len(table.donor_names)
    if donors < MIN_PLACEBO_DONORS:
        return (None, None, None), f"no interval: placebo in space needs {MIN_PLACEBO_DONORS} donors or more"
    placebos = np.array([effect_of(table.with_donor_as_site(i))[0] for i in range(donors)])
    se = float(np.std(placebos, ddof=1))
    described = (
        f"placebo in space over the {donors} donors, each posing as the site (SE = spread of placebo "
        f"effects, t with {donors - 1} df)"
    )
    if not se > 0:
        return (None, None, None), described
    quantile = t_quantile(confidence, donors - 1)
    p_value = float((np.sum(np.abs(placebos) >= abs(effect)) + 1) / (donors + 1))
    return (effect - quantile * se, effect + quantile * se, p_value), described


def weights_in_words(weights: dict[str, float]) -> str:
    """ "41% York, 35% Harrogate, 24% Leeds": the donors a method mixed, largest first."""
    named = sorted(((w, u) for u, w in weights.items() if w >= NAMED_WEIGHT), reverse=True)
    return ", ".join(f"{w:.0%} {u}" for w, u in named)


def effective_donors(weights: dict[str, float]) -> float:
    """How many donors the mix rests on: 1 / sum of squared weights (the inverse Herfindahl)."""
    squares = sum(w * w for w in weights.values())
    return 1.0 / squares if squares > 0 else 0.0


def synthetic_estimate(
    panel: Panel,
    table: SiteAndDonors,
    *,
    method: str,
    effect: float,
    interval: tuple[float | None, float | None, float | None],
    inference: str,
    weights: dict[str, float],
) -> EffectEstimate:
    """The result row of a synthetic method: the site's own before and after means, and the
    donor mix in the note (``roi explain`` and the report read it from there)."""
    low, high, p_value = interval
    observed = float(table.site[table.after].mean())
    note = f"synthetic twin built from {weights_in_words(weights)} ({effective_donors(weights):.1f} effective donors)"
    return EffectEstimate(
        initiative_id=panel.initiative.id,
        metric=panel.metric,
        method=method,
        period=panel.period,
        pre_periods=table.n_pre,
        post_periods=table.n_post,
        baseline_value=float(table.site[~table.after].mean()),
        observed_value=observed,
        counterfactual_value=observed - effect,
        effect_abs=effect,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n_treated_units=table.n_treated,
        n_control_units=len(table.donor_names),
        inference=inference,
        note=note,
    )
