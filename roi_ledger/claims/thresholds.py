"""Every claim-check threshold, with its documented default, in one place.

Override any of them for the whole business (``claim_checks:`` at the top of initiatives.yml)
or for one initiative (``claim_checks:`` inside it); unknown names are rejected. See
docs/claims.md for what each check does with its threshold.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Periods needed before and after go-live, by the series' grain.
MIN_PRE_PERIODS = {"week": 8, "month": 3, "quarter": 2, "year": 2}
MIN_POST_PERIODS = {"week": 4, "month": 2, "quarter": 1, "year": 1}
# Days a series' last period may end before the run date before it counts as stale.
# Days after go-live by which a business case expects a verdict: half a year.
VERDICT_HORIZON_DAYS = 182
STALE_AFTER_DAYS = {"week": 14, "month": 62, "quarter": 123, "year": 400}


class ClaimThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        # Every threshold is a number; YAML reads `yes` as true, which pydantic would take for 1.
        if isinstance(value, bool):
            raise ValueError(f"{'yes/true/on' if value else 'no/false/off'} is not a number: write the number")
        return value

    # not_enough_data
    min_pre_weeks: int = Field(MIN_PRE_PERIODS["week"], ge=1)
    min_post_weeks: int = Field(MIN_POST_PERIODS["week"], ge=1)
    min_pre_months: int = Field(MIN_PRE_PERIODS["month"], ge=1)
    min_post_months: int = Field(MIN_POST_PERIODS["month"], ge=1)
    min_pre_quarters: int = Field(MIN_PRE_PERIODS["quarter"], ge=1)
    min_post_quarters: int = Field(MIN_POST_PERIODS["quarter"], ge=1)
    min_pre_years: int = Field(MIN_PRE_PERIODS["year"], ge=1)
    min_post_years: int = Field(MIN_POST_PERIODS["year"], ge=1)
    min_volume_per_period: float = Field(20.0, ge=0)  # records per treated unit-period
    # data_gaps: share of periods with data in each window
    min_data_share: float = Field(0.8, ge=0, le=1)
    # stale_data: days behind the run date, by grain (defaults in STALE_AFTER_DAYS)
    stale_after_weeks_days: int = Field(STALE_AFTER_DAYS["week"], ge=0)
    stale_after_months_days: int = Field(STALE_AFTER_DAYS["month"], ge=0)
    stale_after_quarters_days: int = Field(STALE_AFTER_DAYS["quarter"], ge=0)
    stale_after_years_days: int = Field(STALE_AFTER_DAYS["year"], ge=0)
    # practically_zero: smallest change worth having, % of the counterfactual
    min_meaningful_change_pct: float = Field(2.0, ge=0)
    # suspicious_size (Twyman's law): |effect| as a share of the baseline
    max_plausible_change: float = Field(0.5, gt=0)
    # pre_trend: significance of treated-vs-control divergence before go-live, and the share of
    # the effect a significant drift must reach, carried on to the after window, to fail
    pre_trend_alpha: float = Field(0.05, gt=0, lt=1)
    pre_trend_material_share: float = Field(0.5, ge=0)
    # placebo_in_time: share of fake go-lives whose |effect| >= the real one that is too many
    max_placebo_share: float = Field(0.2, ge=0, le=1)
    # trend_continuation: share of the naive change the pre-trend alone explains
    max_trend_share: float = Field(0.5, ge=0)
    # seasonality: how different the windows' month mixes may be (total-variation distance)
    # before seasons are looked at, and the significance of season-of-year differences
    max_season_mix_difference: float = Field(0.25, ge=0, le=1)
    seasonality_alpha: float = Field(0.05, gt=0, lt=1)
    # regression_to_mean: t-statistic of the last periods before go-live against the earlier course
    rtm_recent_periods: int = Field(4, ge=1)
    rtm_max_z: float = Field(2.0, gt=0)
    # volume_shift: relative change of the treated units' volume at go-live (beyond controls')
    max_volume_shift: float = Field(0.25, ge=0)
    # outliers: capping the top share of records moves the effect by more than this share
    outlier_cap_share: float = Field(0.01, gt=0, lt=0.5)
    max_outlier_sensitivity: float = Field(0.25, ge=0)
    # novelty_decay: second-half effect below this share of the first-half effect
    min_effect_retention: float = Field(0.5, ge=0)
    # nightly_interval_covers_zero: the business case's horizon, when a verdict is expected; the
    # always-valid interval spends most of its error budget on the weeks up to it (sequential.py)
    verdict_horizon_days: int = Field(VERDICT_HORIZON_DAYS, ge=7)
    # control_contamination's spillover test: the share of the effect (in its direction) the
    # comparison units must shift by at go-live to be worth a warning. Its level is the
    # business's confidence level, like ci_covers_zero's and every interval's.
    spillover_material_share: float = Field(0.5, ge=0)
    # synthetic_fit: the twin's before-window misfit (root mean square of the site-minus-twin gap)
    # as a share of the site's own before-window standard deviation; donor_concentration: the
    # fewest effective donors, and how far (half-widths of the interval) leaving out the heaviest
    # donor may move the effect
    max_twin_misfit: float = Field(0.9, gt=0)
    min_effective_donors: float = Field(1.5, ge=1)
    max_donor_sensitivity: float = Field(1.0, ge=0)

    def min_pre(self, period: str) -> int:
        return getattr(self, f"min_pre_{period}s")

    def min_post(self, period: str) -> int:
        return getattr(self, f"min_post_{period}s")

    def horizon_periods(self, period: str) -> int:
        """The verdict horizon in after-periods of ``period`` (at least the fewest gradeable)."""
        from roi_ledger.effects.seasons import PERIOD_DAYS  # effects imports the register, which imports this

        return max(self.min_post(period), math.ceil(self.verdict_horizon_days / PERIOD_DAYS[period]))

    def stale_after_days(self, period: str) -> int:
        return getattr(self, f"stale_after_{period}s_days")


DEFAULTS = ClaimThresholds()
