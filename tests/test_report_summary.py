"""The morning summary's words, checked against hand-made marts rows."""

from datetime import date

import polars as pl

from roi_ledger.report.summary import effect_sentence, money_sentence, paragraphs, portfolio_sentence
from roi_ledger.words import change, money, number, percent, points

ROI = {
    "initiative_id": "tills",
    "name": "Self-service tills",
    "currency": "GBP",
    "cost_to_date": 33093.2,
    "benefit_to_date": 0.0,
    "benefit_ci_low": 0.0,
    "benefit_ci_high": 0.0,
    "payback_date": None,
    "projected_payback_date": None,
    "grade": "reliable",
}


def test_figures_carry_their_unit_and_the_digits_that_matter():
    assert money(3198.19, "GBP") == "£3,198" and money(-8229.2, "EUR") == "-€8,229" and money(12, "CHF") == "12 CHF"
    assert number(1.3937) == "1.39" and number(0.02441) == "0.024" and number(932.4) == "932"
    # two significant digits below 1, three from 1, whole from 100, no trailing zeros or exponents
    assert [number(v) for v in (-0.9084, 0.009392, 0.02, 12.345, 1896.2, 1234567.0, 1.222e-59)] == [
        "-0.91",
        "0.0094",
        "0.02",
        "12.3",
        "1,896",
        "1,234,567",
        "0",
    ]


def test_a_share_reads_in_percent_and_its_change_in_points():
    assert (
        percent(0.061) == "6.1%" and percent(0.0366) == "3.7%" and percent(0.0005) == "0.05%" and percent(1) == "100%"
    )
    assert points(-0.0244) == "2.4 points" and points(0.01) == "1 point"
    assert change(-0.0244, "share") == "-2.4 points" and change(-1896.2, "currency", "GBP") == "-£1,896"
    assert change(0.0094, "number") == "+0.0094" and change(0, "share") == "0 points"


def test_a_share_effect_reads_in_points_from_its_level_without_to_its_level_with():
    effect = {
        "metric": "order_error_rate",
        "effect_abs": -0.0244,
        "effect_pct": -40.0,
        "counterfactual_value": 0.0610,
        "observed_value": 0.0366,
        "ci_low": -0.0312,
        "ci_high": -0.0176,
        "confidence_level": 0.95,
        "period": "week",
    }
    assert effect_sentence(effect, "Share of orders that had to be corrected", "share") == (
        "Share of orders that had to be corrected: down 2.4 points, from 6.1% to 3.7%, "
        "between -3.1 points and -1.8 points (95% range), per unit and week."
    )


def test_a_money_metric_reads_in_the_currency():
    effect = {
        "metric": "revenue_per_week",
        "effect_abs": 932.4,
        "effect_pct": 23.0,
        "ci_low": -1896.2,
        "ci_high": 2610.4,
        "confidence_level": 0.95,
        "period": "week",
    }
    assert effect_sentence(effect, "Revenue of completed orders per week", "currency", "GBP") == (
        "Revenue of completed orders per week: up £932 (+23%), between -£1,896 and +£2,610 (95% range), "
        "per unit and week."
    )


PORTFOLIO = {
    "as_of": date(2026, 11, 22),
    "currency": "GBP",
    "n_initiatives": 2,
    "n_reliable": 1,
    "cost_to_date": 4206.4,
    "benefit_to_date": 0.0,
    "benefit_ci_low": 0.0,
    "benefit_ci_high": 0.0,
}


def test_a_portfolio_with_nothing_priced_is_not_valued_in_money_rather_than_a_loss():
    sentence = portfolio_sentence({**PORTFOLIO, "n_valued": 0})
    assert sentence == (
        "As of 22 November 2026: 2 initiatives measured, 1 of them supported by the data. "
        "Not valued in money (nothing they are measured on has a price); £4,206 spent."
    )
    assert "£0" not in sentence
    some = portfolio_sentence({**PORTFOLIO, "n_valued": 1, "benefit_to_date": 950.0, "benefit_ci_high": 1900.0})
    assert some.endswith(
        "Benefit so far £950 (between £0 and £1,900, from the 1 of them valued in money) against £4,206 spent."
    )


def test_an_effect_reads_with_its_direction_range_and_grain():
    effect = {
        "metric": "hours_invoicing",
        "effect_abs": -1.3937,
        "effect_pct": -40.8,
        "ci_low": -1.468,
        "ci_high": -1.319,
        "confidence_level": 0.95,
        "period": "week",
    }
    assert effect_sentence(effect, "Hours per week spent on invoicing") == (
        "Hours per week spent on invoicing: down 1.39 (-41%), between -1.47 and -1.32 (95% range), per unit and week."
    )


def test_an_effect_without_money_is_not_a_benefit_of_zero():
    sentence = money_sentence(
        ROI, valued=False, reason_not_valued="a strategic measure with no price set", grade="reliable"
    )
    assert sentence == "Not valued in money (a strategic measure with no price set); £33,093 spent so far."


def test_a_claim_that_is_not_reliable_shows_no_payback_date():
    roi = {
        **ROI,
        "benefit_to_date": 4043.0,
        "benefit_ci_low": -8229.0,
        "benefit_ci_high": 11326.0,
        "payback_date": date(2025, 12, 22),
        "grade": "suspicious",
    }
    sentence = money_sentence(roi, valued=True, reason_not_valued=None, grade="suspicious")
    assert "2025" not in sentence and "No payback date while something else may explain this number" in sentence
    reliable = money_sentence(
        {**roi, "grade": "reliable", "payback_date": None, "projected_payback_date": date(2028, 3, 9)},
        valued=True,
        reason_not_valued=None,
        grade="reliable",
    )
    assert reliable.endswith("at this rate it pays back in March 2028.")


def test_paragraphs_put_supported_claims_first_and_say_why_once():
    roi = pl.DataFrame([ROI, {**ROI, "initiative_id": "widget", "name": "Widget", "grade": "suspicious"}])
    effects = pl.DataFrame(
        [
            {
                "initiative_id": "tills",
                "metric": "m",
                "is_primary": True,
                "effect_abs": -0.02,
                "effect_pct": -23.0,
                "ci_low": -0.03,
                "ci_high": -0.01,
                "confidence_level": 0.95,
                "period": "week",
            },
        ]
    )
    metric_money = pl.DataFrame(
        [
            {
                "initiative_id": "tills",
                "metric": "m",
                "valued": False,
                "value_source": "strategic metric: no money value",
            },
            {"initiative_id": "widget", "metric": "r", "valued": True, "value_source": "gross_margin"},
        ]
    )
    reasons = pl.DataFrame(
        [{"initiative_id": "widget", "metric": None, "message": "Seasons differ."}] * 2,
        schema={"initiative_id": pl.String, "metric": pl.String, "message": pl.String},
    )
    catalogue = pl.DataFrame({"metric": ["m"], "label": ["Median hours to fulfil"]})
    first, second = paragraphs(roi, effects, metric_money, reasons, catalogue)
    assert first.title == "Self-service tills: the data support this claim."
    assert (
        first.lines[0].startswith("Median hours to fulfil: down 0.02 (-23%)")
        and "Not valued in money" in first.lines[1]
    )
    assert second.lines.count("Why: Seasons differ.") == 1
