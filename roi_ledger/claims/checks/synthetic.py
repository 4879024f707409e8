"""Is the synthetic twin a fair stand-in for the site? (synthetic control and synthetic DiD claims)

A synthetic estimate is only as good as the twin it compares the site with. Two things can make
it wrong while its interval looks fine (Abadie 2021, "Using synthetic controls", section 3):

- ``synthetic_fit``: the twin did not follow the site before go-live — its before-window misses
  (root mean square, the level the method takes out left aside) are most of the site's own ups
  and downs (its standard deviation; ``max_twin_misfit``: against the outcome's scale, as Abadie
  2021 judges the fit), or the site ran outside the range of every donor for most of the before
  window, so any mix of donors had to be extrapolated (interpolation bias);
- ``donor_concentration``: the twin rests on one donor — dropping the heaviest donor and
  refitting moves the effect by more than ``max_donor_sensitivity`` half-widths of its interval
  (leave-one-donor-out, as Abadie et al. 2015 check: which donors are in the pool then matters
  more than the sampling noise the interval allows for), or it has fewer than
  ``min_effective_donors`` effective donors (1 / sum of squared weights), so whatever happened
  to that one donor after go-live is read as the initiative's effect.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from roi_ledger.claims.base import CheckClass, CheckResult, MetricClaim, claim_check
from roi_ledger.claims.labels import CheckStatus
from roi_ledger.claims.thresholds import ClaimThresholds
from roi_ledger.effects.synthetic import EffectOf, SiteAndDonors, effective_donors, site_and_donors
from roi_ledger.effects.twins import WEIGHTED_METHODS

NOT_SYNTHETIC = "The estimate is not built on a synthetic twin of the site."
# The share of before-window periods the site may spend outside every donor's range: beyond half,
# the twin extrapolates more than it interpolates.
MAX_OUTSIDE_SHARE = 0.5


@dataclass(frozen=True)
class TwinDiagnostics:
    """What the two checks judge, from one synthetic fit (pure: ``benchmarks/synthetic.py``
    measures the checks' false alarms with it)."""

    misfit: float  # before-window root mean square of site minus twin, as a share of the site's own spread
    outside: float  # share of before periods the site ran outside every donor's range
    effective: float  # effective donors
    heaviest: str
    heaviest_weight: float
    moved: float | None  # |effect without the heaviest donor - effect|, in half-widths of the interval

    def fit_fires(self, thresholds: ClaimThresholds) -> bool:
        return self.misfit > thresholds.max_twin_misfit or self.outside > MAX_OUTSIDE_SHARE

    def concentration_fires(self, thresholds: ClaimThresholds) -> bool:
        too_few = self.effective < thresholds.min_effective_donors
        return too_few or (self.moved is not None and self.moved > thresholds.max_donor_sensitivity)


def twin_diagnostics(table: SiteAndDonors, effect_of: EffectOf, half_width: float | None) -> TwinDiagnostics:
    """Misfit, range and concentration of ``effect_of``'s twin of ``table``'s site (``half_width``:
    of the estimate's interval, the yardstick of how far leaving out a donor may move it)."""
    effect, weights = effect_of(table)
    pre = ~table.after
    gap = table.site[pre] - np.array([weights[n] for n in table.donor_names]) @ table.donors[:, pre]
    gap = gap - gap.mean()  # a level the method takes out (demeaned fit, synthetic DiD) is no misfit
    spread = float(np.std(table.site[pre]))
    misfit = float(np.sqrt(np.mean(gap**2))) / spread if spread > 0 else 0.0
    # Each series relative to its own before-window mean, so a bigger site is not "outside".
    donors = table.donors[:, pre] - table.donors[:, pre].mean(axis=1, keepdims=True)
    site = table.site[pre] - table.site[pre].mean()
    outside = float(np.mean((site < donors.min(axis=0)) | (site > donors.max(axis=0))))
    heaviest = max(weights, key=weights.get)
    moved = None
    if len(table.donor_names) > 2 and half_width:
        i = table.donor_names.index(heaviest)
        others = [n for n in table.donor_names if n != heaviest]
        without = effect_of(replace(table, donors=np.delete(table.donors, i, axis=0), donor_names=others))[0]
        moved = abs(without - effect) / half_width
    return TwinDiagnostics(misfit, outside, effective_donors(weights), heaviest, weights[heaviest], moved)


def _diagnostics(claim: MetricClaim) -> TwinDiagnostics | None:
    """The primary estimate's twin diagnostics, or None when it is not synthetic."""
    effect_of = WEIGHTED_METHODS.get(claim.method or "")
    table = site_and_donors(claim.panel) if effect_of and claim.panel is not None else None
    if table is None:
        return None
    row = claim.primary
    half = (row["ci_high"] - row["ci_low"]) / 2 if row["ci_low"] is not None and row["ci_high"] is not None else None
    return twin_diagnostics(table, effect_of, half)


@claim_check("synthetic_fit", check_class=CheckClass.VALIDITY)
def synthetic_fit(claim: MetricClaim) -> CheckResult:
    """The synthetic twin missed most of the site's ups and downs before go-live, or had to
    extrapolate: the site ran outside every donor's range for most of the before window."""
    found = _diagnostics(claim)
    if found is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, NOT_SYNTHETIC)
    limit = claim.thresholds.max_twin_misfit
    if found.fit_fires(claim.thresholds):
        why = (
            f"before go-live its misses were {found.misfit:.0%} of the site's own ups and downs (root mean square)"
            if found.misfit > limit
            else f"the site ran outside every donor's range in {found.outside:.0%} of the periods before go-live"
        )
        return CheckResult(
            CheckStatus.WARN, f"The synthetic twin is a poor stand-in for the site: {why}.", found.misfit, limit
        )
    return CheckResult(
        CheckStatus.PASS,
        f"The synthetic twin followed the site before go-live (misses {found.misfit:.0%} of the site's ups and downs).",
        found.misfit,
        limit,
    )


@claim_check("donor_concentration", check_class=CheckClass.SUSPICION)
def donor_concentration(claim: MetricClaim) -> CheckResult:
    """The synthetic twin rests on one donor: leaving out the heaviest moves the effect."""
    found = _diagnostics(claim)
    if found is None:
        return CheckResult(CheckStatus.NOT_APPLICABLE, NOT_SYNTHETIC)
    limit, moved = claim.thresholds.max_donor_sensitivity, found.moved
    without = f"without {found.heaviest} ({found.heaviest_weight:.0%} of the twin) the effect"
    if found.concentration_fires(claim.thresholds):
        detail = (
            f"{without} moves by {moved:.1f} times its interval's half-width"
            if moved is not None and moved > limit
            else f"it rests on {found.effective:.1f} effective donors"
        )
        return CheckResult(
            CheckStatus.WARN,
            f"The synthetic twin leans on too few donors: {detail}; what happened to them after go-live "
            "is read as the initiative's effect.",
            moved,
            limit,
        )
    moved_text = f"; {without} moves by {moved:.2f} of its interval's half-width" if moved is not None else ""
    return CheckResult(
        CheckStatus.PASS, f"The twin spreads over {found.effective:.1f} effective donors{moved_text}.", moved, limit
    )
