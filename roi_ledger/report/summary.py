"""The morning summary in words an owner reads, from the published marts.

Pure functions on frames shaped like the marts (``initiative_roi``, ``initiative_effects``,
``initiative_metric_money``, ``claim_reliability``, ``claim_reliability_reasons``,
``metric_catalogue``). The rules an owner can rely on:

- every figure has a unit and its range;
- an effect with no money value says "not valued in money" and keeps its own figure: it is never
  a benefit of 0 or an ROI of -100%;
- a claim that is not reliable shows no payback date, and says why in the checks' own sentences;
- no internal column or check names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from roi_ledger.claims.labels import GRADES, Grade

GRADE_WORDS = {
    Grade.RELIABLE: "the data support this claim",
    Grade.NEEDS_MORE_DATA: "too early to tell",
    Grade.SUSPICIOUS: "something else may explain this number",
    Grade.UNRELIABLE: "the data do not support this claim",
}
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money(amount: float | None, currency: str) -> str:
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "unknown"
    sign = CURRENCY_SIGNS.get(currency)
    text = f"{abs(amount):,.0f}"
    text = f"{sign}{text}" if sign else f"{text} {currency}"
    return f"-{text}" if amount < 0 else text


def number(value: float) -> str:
    """A figure with the digits that matter (three significant, no scientific notation)."""
    if value == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:,.{digits}f}"


def month(day: date) -> str:
    return day.strftime("%B %Y")


@dataclass(frozen=True)
class Paragraph:
    initiative_id: str
    title: str
    lines: tuple[str, ...]


def effect_sentence(effect: dict, label: str | None) -> str:
    """'Hours per week spent on invoicing: down 1.39 (-41%), between 1.32 and 1.47 (per unit and
    week, measured by comparison with the units without it).'"""
    what = label or effect["metric"]
    value = effect["effect_abs"]
    if value is None:
        return f"{what}: no estimate yet."
    direction = "up" if value > 0 else "down" if value < 0 else "unchanged"
    pct = f" ({effect['effect_pct']:+.0f}%)" if effect.get("effect_pct") is not None else ""
    low, high = effect.get("ci_low"), effect.get("ci_high")
    level = f"{effect['confidence_level']:.0%}" if effect.get("confidence_level") else "95%"
    if low is not None and high is not None:
        between = f", between {_signed(low)} and {_signed(high)} ({level} range)"
    else:
        between = ", with no range (too little data to say how sure)"
    grain = f"per unit and {effect['period']}" if effect.get("period") else "per unit"
    return f"{what}: {direction} {number(abs(value))}{pct}{between}, {grain}."


def _signed(value: float) -> str:
    return f"{'-' if value < 0 else '+'}{number(abs(value))}" if value else "0"


def money_sentence(roi: dict, valued: bool, reason_not_valued: str | None, grade: str) -> str:
    currency = roi["currency"]
    spent = f"{money(roi['cost_to_date'], currency)} spent so far"
    if not valued:
        why = f" ({reason_not_valued})" if reason_not_valued else ""
        return f"Not valued in money{why}; {spent}."
    so_far = (
        f"{money(roi['benefit_to_date'], currency)} of benefit so far (between "
        f"{money(roi['benefit_ci_low'], currency)} and {money(roi['benefit_ci_high'], currency)}) against {spent}"
    )
    if grade != Grade.RELIABLE:
        return f"{so_far}. No payback date while {GRADE_WORDS[grade]}."
    if roi.get("payback_date") is not None:
        return f"{so_far}: it paid back in {month(roi['payback_date'])}."
    if roi.get("projected_payback_date") is not None:
        return f"{so_far}: at this rate it pays back in {month(roi['projected_payback_date'])}."
    return f"{so_far}: at this rate it does not pay back."


def paragraphs(
    roi: pl.DataFrame,
    effects: pl.DataFrame,
    metric_money: pl.DataFrame,
    reasons: pl.DataFrame,
    catalogue: pl.DataFrame,
) -> list[Paragraph]:
    """One paragraph per live or retired initiative: reliable claims first, most net benefit first."""
    labels = dict(zip(catalogue["metric"], catalogue["label"]))
    primary = effects.filter(pl.col("is_primary"))
    ordered = roi.with_columns(
        pl.col("grade")
        .replace_strict({grade.value: rank for rank, grade in enumerate(GRADES)}, default=9)
        .alias("_order"),
        (pl.col("benefit_to_date") - pl.col("cost_to_date")).alias("_net"),
    ).sort(["_order", "_net"], descending=[False, True])
    out = []
    for row in ordered.iter_rows(named=True):
        initiative = row["initiative_id"]
        grade = row["grade"] or Grade.NEEDS_MORE_DATA.value
        lines = [
            effect_sentence(e, labels.get(e["metric"]))
            for e in primary.filter(pl.col("initiative_id") == initiative).sort("metric").iter_rows(named=True)
        ]
        valued = metric_money.filter((pl.col("initiative_id") == initiative) & pl.col("valued"))
        not_valued = metric_money.filter((pl.col("initiative_id") == initiative) & ~pl.col("valued"))
        reason = _plain_reason(not_valued["value_source"][0]) if not_valued.height else None
        lines.append(money_sentence(row, valued.height > 0, reason, grade))
        why = reasons.filter((pl.col("initiative_id") == initiative) & pl.col("metric").is_null())
        for message in dict.fromkeys(why["message"].to_list()):  # each once, in order
            lines.append(f"Why: {message}")
        out.append(Paragraph(initiative, f"{row['name']}: {GRADE_WORDS[grade]}.", tuple(lines)))
    return out


def _plain_reason(value_source: str) -> str:
    if value_source.startswith("strategic metric"):
        return "a strategic measure with no price set"
    return value_source


def portfolio_sentence(portfolio: dict) -> str:
    currency = portfolio["currency"]
    return (
        f"As of {portfolio['as_of']:%d %B %Y}: {portfolio['n_initiatives']} initiatives measured, "
        f"{portfolio['n_reliable']} of them supported by the data. Benefit so far "
        f"{money(portfolio['benefit_to_date'], currency)} (between {money(portfolio['benefit_ci_low'], currency)} "
        f"and {money(portfolio['benefit_ci_high'], currency)}) "
        f"against {money(portfolio['cost_to_date'], currency)} spent."
    )


def breakdown_sentence(power: dict, label: str, benefit: str | None = None) -> str | None:
    """How far a departure from parallel trends could bend one claim (a ``marts.claim_power``
    row; docs/claims.md, "Sensitivity to trends"), in words; None when it was not computed or the
    claim's own interval includes zero (there is no verdict for a trend to bend)."""
    m_bar = power.get("breakdown_rm")
    if m_bar is None or not (power["ci_low"] > 0 or power["ci_high"] < 0):
        return None
    what = f"the {benefit} benefit" if benefit else "the change"
    stretch = f"{power['breakdown_rm_bin_periods']}-{power['period']} stretch"
    if m_bar >= 10:
        return (
            f"{label}: {what} holds even if, after go-live, the gap to the comparison units moved ten times "
            f"as much from one {stretch} to the next as it ever did before go-live."
        )
    if m_bar == 0:
        return (
            f"{label}: {what} rests wholly on the comparison units keeping pace: any drift of the gap to them "
            "after go-live could overturn it."
        )
    warning = " — a drift no larger than those already seen before go-live could overturn it" if m_bar < 1 else ""
    return (
        f"{label}: {what} holds unless, after go-live, the gap to the comparison units moves more than "
        f"{m_bar:.1f}× the worst it moved before go-live, from one {stretch} to the next{warning}."
    )
