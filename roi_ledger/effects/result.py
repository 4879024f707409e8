"""The one result type every estimator returns: a row of ``marts.initiative_effects``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl
from scipy import stats

from roi_ledger.tables import schema


@dataclass(frozen=True)
class EffectEstimate:
    """How much a metric moved because of an initiative, per treated unit and period.

    ``effect_abs`` is observed minus counterfactual, in the metric's own units (a rate as a
    fraction, hours per week, ...), averaged over treated unit-periods of the after window;
    ``ci_low``/``ci_high`` are its interval at ``confidence_level`` (the business's, 95% by
    default) and ``inference`` says how they were obtained.
    """

    initiative_id: str
    metric: str
    method: str
    period: str
    pre_periods: int
    post_periods: int
    baseline_value: float | None
    observed_value: float | None
    counterfactual_value: float | None
    effect_abs: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_treated_units: int
    n_control_units: int
    inference: str
    note: str = ""
    is_primary: bool = False
    confidence_level: float | None = None  # set by estimate_effects for every row
    # How far the method strayed at go-lives backdated into the before window (the primary-method
    # rule, ``roi_ledger.effects.selection``); None where it was not refitted.
    backdated_rmse: float | None = None

    @property
    def effect_pct(self) -> float | None:
        if self.effect_abs is None or not self.counterfactual_value:
            return None
        return 100.0 * self.effect_abs / abs(self.counterfactual_value)

    def as_row(self) -> dict:
        row = asdict(self)
        row["effect_pct"] = self.effect_pct
        return row


def t_quantile(confidence: float, df: float) -> float:
    """The two-sided Student's t quantile of a ``confidence`` interval with ``df`` degrees of freedom."""
    return float(stats.t.ppf(0.5 + confidence / 2, df))


def to_frame(estimates: list[EffectEstimate]) -> pl.DataFrame:
    return pl.DataFrame([e.as_row() for e in estimates], schema=schema("initiative_effects"))
