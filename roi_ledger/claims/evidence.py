"""Per claim, what ``marts.claim_power`` publishes beside the grade: the fewest after-periods the
checks accept, the placebo replays on the business's own data, and for a DiD claim the trend that
would overturn it (``power.py``, ``replays.py``, ``sensitivity.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from roi_ledger.claims.replays import ReplayRates, rates, replay_claim
from roi_ledger.claims.sensitivity import TrendSensitivity, trend_sensitivity
from roi_ledger.effects.panel import build_panel
from roi_ledger.register import Register

Key = tuple[str, str]  # (initiative_id, metric)


@dataclass
class Evidence:
    min_posts: dict[Key, int] = field(default_factory=dict)
    replay_rates: dict[Key, ReplayRates] = field(default_factory=dict)
    sensitivities: dict[Key, TrendSensitivity] = field(default_factory=dict)


def claim_evidence(
    register: Register, series: pl.DataFrame, estimates: pl.DataFrame, traits: dict, problems: list[str] | None = None
) -> Evidence:
    """The evidence of every claim with a primary estimate; a claim whose replays or sensitivity
    cannot be computed is left without them and the reason added to ``problems``."""
    problems = problems if problems is not None else []
    confidence = register.business.confidence_level
    by_id = {i.id: i for i in register.initiatives}
    evidence = Evidence()
    for e in estimates.filter(pl.col("is_primary")).iter_rows(named=True):
        initiative, key = by_id.get(e["initiative_id"]), (e["initiative_id"], e["metric"])
        if initiative is None:
            continue
        thresholds = register.thresholds_for(initiative)
        evidence.min_posts[key] = thresholds.min_post(e["period"])
        metric_series = series.filter(pl.col("metric") == e["metric"])
        try:
            replays = replay_claim(
                register, initiative, e["metric"], metric_series, traits, e["method"], confidence,
                min_pre=thresholds.min_pre(e["period"]), min_post=evidence.min_posts[key],
            )
            evidence.replay_rates[key] = rates(replays, e["effect_abs"])
            if e["method"] == "did" and e["ci_low"] is not None and e["observed_value"]:
                panel = build_panel(register, initiative, e["metric"], metric_series, traits)
                trend = panel and trend_sensitivity(
                    panel, effect=e["effect_abs"], ci_low=e["ci_low"], ci_high=e["ci_high"],
                    observed=e["observed_value"], confidence=confidence,
                )
                if trend:
                    evidence.sensitivities[key] = trend
        except Exception as exc:  # one claim's extras must not hide the others'
            problems.append(f"{e['initiative_id']} x {e['metric']}: placebo replays or trend sensitivity failed: {exc}")
    return evidence
