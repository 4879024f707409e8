"""The morning summary's words, checked against hand-made marts rows."""

from datetime import date

import polars as pl

from roi_ledger.report.summary import effect_sentence, money, money_sentence, number, paragraphs

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
    assert number(1.3937) == "1.39" and number(0.02441) == "0.0244" and number(932.4) == "932"


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
        first.lines[0].startswith("Median hours to fulfil: down 0.0200 (-23%)")
        and "Not valued in money" in first.lines[1]
    )
    assert second.lines.count("Why: Seasons differ.") == 1
