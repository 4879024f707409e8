"""Per claim, what ``marts.claim_power`` publishes beside the grade: the fewest after-periods the
checks accept, the placebo replays on the business's own data, and for a DiD claim the trend that
would overturn it and for every DiD claim its breakdown value under relative magnitudes
(``power.py``, ``replays.py``, ``sensitivity.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from roi_ledger.claims.replays import ReplayRates, rates, replay_claim
from roi_ledger.claims.sensitivity import Breakdown, TrendSensitivity, honest_breakdown, trend_sensitivity
from roi_ledger.effects.panel import build_panel
from roi_ledger.effects.registry import parallel_trend_methods
from roi_ledger.incremental import KeptResults
from roi_ledger.register import Register

Key = tuple[str, str]  # (initiative_id, metric)


@dataclass
class Evidence:
    min_posts: dict[Key, int] = field(default_factory=dict)
    replay_rates: dict[Key, ReplayRates] = field(default_factory=dict)
    sensitivities: dict[Key, TrendSensitivity] = field(default_factory=dict)
    breakdowns: dict[Key, Breakdown] = field(default_factory=dict)

    def merged(self, other: Evidence) -> Evidence:
        """This evidence with ``other``'s claims added (``other`` wins where both have a claim)."""
        return Evidence(
            {**self.min_posts, **other.min_posts},
            {**self.replay_rates, **other.replay_rates},
            {**self.sensitivities, **other.sensitivities},
            {**self.breakdowns, **other.breakdowns},
        )


# One row per claim of ``Evidence``, as the claims step stores it between runs.
EVIDENCE_SCHEMA = {
    "initiative_id": pl.String,
    "metric": pl.String,
    "min_post": pl.Int64,
    "replays": pl.Int64,
    "false_positive_rate": pl.Float64,
    "share_as_large": pl.Float64,
    "scale": pl.String,
    "periods_apart": pl.Float64,
    "pre_trend_slope": pl.Float64,
    "pre_trend_se": pl.Float64,
    "breakdown_slope": pl.Float64,
    "breakdown_in_pre_se": pl.Float64,
    "relative_magnitude": pl.Float64,
    "bin_periods": pl.Int64,
    "pre_bins": pl.Int64,
    "post_bins": pl.Int64,
    "covariance": pl.String,
}
_RATES = ("replays", "false_positive_rate", "share_as_large")
_TREND = ("scale", "periods_apart", "pre_trend_slope", "pre_trend_se", "breakdown_slope", "breakdown_in_pre_se")
_BREAKDOWN = ("relative_magnitude", "bin_periods", "pre_bins", "post_bins", "covariance")


def evidence_frame(evidence: Evidence) -> pl.DataFrame:
    """``evidence`` as rows (``EVIDENCE_SCHEMA``): the inverse of ``evidence_from_frame``."""
    rows = []
    for key, min_post in evidence.min_posts.items():
        rates_, trend, bound = (
            evidence.replay_rates.get(key),
            evidence.sensitivities.get(key),
            evidence.breakdowns.get(key),
        )
        rows.append(
            {
                "initiative_id": key[0],
                "metric": key[1],
                "min_post": min_post,
                **{name: getattr(rates_, name) if rates_ else None for name in _RATES},
                **{name: getattr(trend, name) if trend else None for name in _TREND},
                **{name: getattr(bound, name) if bound else None for name in _BREAKDOWN},
            }
        )
    return pl.DataFrame(rows, schema=EVIDENCE_SCHEMA)


def evidence_from_frame(frame: pl.DataFrame) -> Evidence:
    """The ``Evidence`` that ``evidence_frame`` wrote."""
    evidence = Evidence()
    for row in frame.iter_rows(named=True):
        key = (row["initiative_id"], row["metric"])
        evidence.min_posts[key] = row["min_post"]
        if row["replays"] is not None:
            evidence.replay_rates[key] = ReplayRates(*(row[name] for name in _RATES))
        if row["scale"] is not None:
            evidence.sensitivities[key] = TrendSensitivity(*(row[name] for name in _TREND))
        if row["relative_magnitude"] is not None:
            evidence.breakdowns[key] = Breakdown(*(row[name] for name in _BREAKDOWN))
    return evidence


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
                register,
                initiative,
                e["metric"],
                metric_series,
                traits,
                e["method"],
                confidence,
                min_pre=thresholds.min_pre(e["period"]),
                min_post=evidence.min_posts[key],
            )
            evidence.replay_rates[key] = rates(replays, e["effect_abs"])
            if e["method"] in parallel_trend_methods() and e["ci_low"] is not None:
                panel = build_panel(register, initiative, e["metric"], metric_series, traits)
                _add_trend_evidence(evidence, key, panel, e, confidence)
        except Exception as exc:  # one claim's extras must not hide the others'
            problems.append(f"{e['initiative_id']} x {e['metric']}: placebo replays or trend sensitivity failed: {exc}")
    return evidence


def _add_trend_evidence(evidence: Evidence, key: Key, panel, e: dict, confidence: float) -> None:
    """One claim's linear-trend sensitivity (a DiD claim's) and relative-magnitudes breakdown (any
    claim resting on parallel trends with the comparison units' average; ``sensitivity.py``),
    where they can be computed. A synthetic twin's claim has neither: its comparison is the twin."""
    if panel is None:
        return
    interval = {"ci_low": e["ci_low"], "ci_high": e["ci_high"], "confidence": confidence}
    if e["method"] == "did" and e["observed_value"]:
        trend = trend_sensitivity(panel, effect=e["effect_abs"], observed=e["observed_value"], **interval)
        if trend:
            evidence.sensitivities[key] = trend
    bound = honest_breakdown(panel, **interval)
    if bound:
        evidence.breakdowns[key] = bound


def evidence_keeping(
    register: Register,
    series: pl.DataFrame,
    estimates: pl.DataFrame,
    traits: dict,
    kept: KeptResults,
    problems: list[str] | None = None,
) -> tuple[Evidence, pl.DataFrame]:
    """The evidence of every claim — ``kept``'s initiatives' as the last run stored it (their
    estimates' inputs are unchanged), the others' computed again — and the table to store for the
    next run (``EVIDENCE_SCHEMA`` rows in ``kept``, by initiative)."""
    fresh = claim_evidence(
        register, series, estimates.filter(~pl.col("initiative_id").is_in(list(kept.kept))), traits, problems
    )
    return evidence_from_frame(kept.kept_rows()).merged(fresh), kept.table(evidence_frame(fresh))
