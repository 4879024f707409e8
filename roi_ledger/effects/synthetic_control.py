"""Synthetic control (Abadie, Diamond & Hainmueller 2010), with the site's own level allowed.

The site's counterfactual is a mix of donors with non-negative weights summing to one, chosen
so that the mix's path before go-live follows the site's as closely as possible (least squares
over every before period). Classic synthetic control also asks the mix to match the site's
level, which a mix of neighbours cannot do for a site bigger or smaller than all of them; so
every unit's series is then taken relative to its own before-window mean (the "demeaned"
synthetic control of Ferman & Pinto 2021, Doudchenko & Imbens 2016): the mix matches the site's
ups and downs — its trend and season — and the effect is the after-window gap less the
before-window gap, as in DiD. Where the site lies among its neighbours, classic synthetic control
fits nearly as well and is kept (``CLASSIC_FIT_TOLERANCE``): it asks less of the donors.

The weights are diff-diff's ``SyntheticControl`` (every before period an equally weighted
predictor; validated against R's ``Synth``). The interval is placebo in space, as synthetic
control studies infer (``synthetic.placebo_interval``).
"""

from __future__ import annotations

import warnings

import numpy as np

from roi_ledger.effects.panel import Panel
from roi_ledger.effects.registry import SINGLE_GO_LIVE, estimator
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.effects.synthetic import (
    SITE,
    SiteAndDonors,
    placebo_interval,
    remembered,
    site_and_donors,
    synthetic_estimate,
)
from roi_ledger.register import DEFAULT_CONFIDENCE_LEVEL

METHOD = "synthetic_control"
# Classic (level-matching) synthetic control is kept where the site's before-window level lies
# among the donors' and its before-window fit is at most this much worse (root mean square) than
# the demeaned fit's, which has the level as a free parameter: a mix of donors then matches the
# site by itself, without the level being extrapolated (Proposition 99: 1.66 against 0.96).
CLASSIC_FIT_TOLERANCE = 2.0


def fitted_weights(table: SiteAndDonors, demeaned: bool) -> np.ndarray:
    """diff-diff's donor weights fitted to the site's before-window path: levels as they are
    (classic), or each series relative to its own before-window mean (demeaned)."""
    from diff_diff import SyntheticControl

    pre = ~table.after
    site, donors = table.site, table.donors
    if demeaned:
        site = site - site[pre].mean()
        donors = donors - donors[:, pre].mean(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit-quality notes are the claim checks' job here
        fit = SyntheticControl(v_method="custom", custom_v=np.ones(table.n_pre), standardize="none").fit(
            table.long(site=site, donors=donors),
            "y",
            "treated_now",
            "unit",
            "time",
            post_periods=table.post_times,
            treated_unit=SITE,
        )
    return np.array([float(fit.donor_weights.get(name, 0.0)) for name in table.donor_names])


def before_gap(table: SiteAndDonors, weights: np.ndarray, demeaned: bool) -> np.ndarray:
    """The site less its mix over the before window (less its mean, for the demeaned fit)."""
    gap = table.site[~table.after] - weights @ table.donors[:, ~table.after]
    return gap - gap.mean() if demeaned else gap


def fit(table: SiteAndDonors) -> tuple[np.ndarray, bool]:
    """The donor weights, and whether they are the classic fit: kept where the site's
    before-window level lies among the donors' and the classic fit is within
    ``CLASSIC_FIT_TOLERANCE`` of the demeaned one's, else the demeaned fit."""
    classic, demeaned = fitted_weights(table, demeaned=False), fitted_weights(table, demeaned=True)
    levels = table.donors[:, ~table.after].mean(axis=1)
    among = levels.min() <= table.site[~table.after].mean() <= levels.max()
    classic_rms, demeaned_rms = (
        np.sqrt(np.mean(before_gap(table, w, d) ** 2)) for w, d in ((classic, False), (demeaned, True))
    )
    use_classic = bool(among and classic_rms <= CLASSIC_FIT_TOLERANCE * demeaned_rms)
    return (classic if use_classic else demeaned), use_classic


def _effect(table: SiteAndDonors) -> tuple[float, dict[str, float]]:
    """The after-window gap between the site and its mix (less the before-window gap for the
    demeaned fit), and the donor weights."""
    weights, classic = fit(table)
    gap = table.site - weights @ table.donors
    effect = float(gap[table.after].mean() - (0.0 if classic else gap[~table.after].mean()))
    return effect, dict(zip(table.donor_names, weights.tolist(), strict=True))


effect_of = remembered(_effect)


def point_estimate(panel: Panel) -> float | None:
    """The synthetic control estimate alone (the primary-method rule's backdated fits)."""
    table = site_and_donors(panel)
    return None if table is None else effect_of(table)[0]


@estimator(METHOD, preference=22, uses_comparison_units=True, designs=[SINGLE_GO_LIVE], point=point_estimate)
def estimate_synthetic_control(panel: Panel, confidence: float = DEFAULT_CONFIDENCE_LEVEL) -> EffectEstimate | None:
    """Synthetic control: the site against the mix of comparison units (non-negative weights
    summing to one) whose path before go-live followed the site's (Abadie et al. 2010)."""
    table = site_and_donors(panel)
    if table is None:
        return None
    effect, weights = effect_of(table)
    interval, inference = placebo_interval(table, effect_of, effect, confidence)
    # The classic fit puts no level between the site and its mix; the demeaned fit leaves one.
    gap = table.site - np.array([weights[n] for n in table.donor_names]) @ table.donors
    classic = abs(effect - float(gap[table.after].mean())) < 1e-12 * max(1.0, abs(effect))
    form = "classic: the mix matches the site's level" if classic else "demeaned: the site's own level allowed"
    inference = f"{form}; {inference}"
    return synthetic_estimate(
        panel, table, method=METHOD, effect=effect, interval=interval, inference=inference, weights=weights
    )
