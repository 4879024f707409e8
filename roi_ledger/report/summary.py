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

from dataclasses import dataclass
from datetime import date

import polars as pl

from roi_ledger.claims.labels import GRADES, Grade
from roi_ledger.words import change, money, percent

GRADE_WORDS = {
    Grade.RELIABLE: "the data support this claim",
    Grade.NEEDS_MORE_DATA: "too early to tell",
    Grade.SUSPICIOUS: "something else may explain this number",
    Grade.UNRELIABLE: "the data do not support this claim",
}


def month(day: date) -> str:
    return day.strftime("%B %Y")


@dataclass(frozen=True)
class Paragraph:
    initiative_id: str
    title: str
    lines: tuple[str, ...]


def effect_sentence(effect: dict, label: str | None, unit: str = "number", currency: str = "") -> str:
    """'Hours per week spent on invoicing: down 1.39 (-41%), between -1.47 and -1.32 (95% range),
    per unit and week.' A share reads in points from its level without to its level with:
    'Share of orders that had to be corrected: down 2.4 points, from 6.1% to 3.7%, ...'."""
    what = label or effect["metric"]
    value = effect["effect_abs"]
    if value is None:
        return f"{what}: no estimate yet."
    direction = "up" if value > 0 else "down" if value < 0 else "unchanged"
    size = change(value, unit, currency, sign=False)
    low, high = effect.get("ci_low"), effect.get("ci_high")
    level = f"{effect['confidence_level']:.0%}" if effect.get("confidence_level") else "95%"
    if low is not None and high is not None:
        between = f", between {change(low, unit, currency)} and {change(high, unit, currency)} ({level} range)"
    else:
        between = ", with no range (too little data to say how sure)"
    if unit == "share":
        before, after = effect.get("counterfactual_value"), effect.get("observed_value")
        where = f", from {percent(before)} to {percent(after)}" if before is not None and after is not None else ""
    else:
        where = f" ({effect['effect_pct']:+.0f}%)" if effect.get("effect_pct") is not None else ""
    grain = f"per unit and {effect['period']}" if effect.get("period") else "per unit"
    return f"{what}: {direction} {size}{where}{between}, {grain}."


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
    units = metric_units(catalogue)
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
            effect_sentence(e, labels.get(e["metric"]), units.get(e["metric"], "number"), row["currency"])
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


def metric_units(catalogue: pl.DataFrame) -> dict[str, str]:
    """Each metric's unit (``marts.metric_catalogue.unit``: share, currency or number)."""
    if "unit" not in catalogue.columns:
        return {}
    return dict(zip(catalogue["metric"], catalogue["unit"].fill_null("number")))


def _plain_reason(value_source: str) -> str:
    if value_source.startswith("strategic metric"):
        return "a strategic measure with no price set"
    return value_source


def portfolio_sentence(portfolio: dict) -> str:
    """The portfolio in one sentence (a ``marts.portfolio_roi`` row); its benefit only over the
    initiatives valued in money (``n_valued``), and "not valued in money" when none is."""
    currency = portfolio["currency"]
    n, valued = portfolio["n_initiatives"], portfolio.get("n_valued", portfolio["n_initiatives"])
    spent = f"{money(portfolio['cost_to_date'], currency)} spent"
    measured = (
        f"As of {portfolio['as_of']:%d %B %Y}: {n} initiative{'s' if n != 1 else ''} measured, "
        f"{portfolio['n_reliable']} of them supported by the data."
    )
    if not valued:
        return f"{measured} Not valued in money (nothing they are measured on has a price); {spent}."
    of_them = "" if valued == n else f", from the {valued} of them valued in money"
    return (
        f"{measured} Benefit so far {money(portfolio['benefit_to_date'], currency)} "
        f"(between {money(portfolio['benefit_ci_low'], currency)} and "
        f"{money(portfolio['benefit_ci_high'], currency)}{of_them}) against {spent}."
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
