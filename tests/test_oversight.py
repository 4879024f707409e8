"""People stay in charge: the business case as registered, and sign-off on claims (pure functions)."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from roi_ledger.claims.base import InitiativeClaim
from roi_ledger.claims.checks.governance import business_case_edited, design_changed_after_results
from roi_ledger.oversight.business_case import (
    HISTORY_SCHEMA,
    as_registered,
    judge_cases,
    snapshot_rows,
)
from roi_ledger.oversight.signoff import (
    SignoffError,
    append_entries,
    make_entry,
    read_log,
    signoff_status,
)
from roi_ledger.register import parse_register

REGISTER = """
business: {{name: Shop, currency: EUR, timezone: Europe/Berlin}}
initiatives:
  - id: checks
    name: Order checks
    status: {status}
    go_live: 2025-03-03
    treated_units: [a]
    control_units: [{controls}]
    metrics: [order_error_rate]
    expected: {{annual_benefit: {benefit}, changes: {{order_error_rate: -30}}}}
"""


def register(benefit=12000, controls="b", status="live"):
    return parse_register(REGISTER.format(benefit=benefit, controls=controls, status=status), "initiatives.yml")


def at(day: str, hour: int = 2) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def record(history: pl.DataFrame, reg, run: str, when: datetime) -> pl.DataFrame:
    rows = snapshot_rows(reg, history, run_id=run, recorded_at=when, as_of=when.date())
    return pl.concat([history, rows])


def history_of(*versions):
    """(register, recorded at) in order -> the history every run would have appended."""
    history = pl.DataFrame(schema=HISTORY_SCHEMA)
    for number, (reg, when) in enumerate(versions):
        history = record(history, reg, f"run{number}", when)
    return history


def test_a_run_records_a_case_only_when_it_changed():
    history = history_of((register(), at("2025-02-01")), (register(), at("2025-02-02")))
    assert history.height == 1
    history = record(history, register(benefit=15000), "run2", at("2025-02-03"))
    assert history.height == 2


def test_the_case_before_go_live_is_registered_and_a_later_edit_does_not_change_realisation():
    # recorded twice before go-live (the second is the registered one), then edited after a run had measured it
    history = history_of(
        (register(benefit=10000), at("2025-02-01")),
        (register(benefit=12000), at("2025-03-01")),
        (register(benefit=30000), at("2025-04-10")),
    )
    runs = [at("2025-02-01"), at("2025-03-01"), at("2025-03-10"), at("2025-04-10")]
    cases, records = judge_cases(register(benefit=30000), history, runs[:-1])
    case = cases.row(0, named=True)
    assert case["registered_annual_benefit"] == 12000 and case["registered_before_go_live"]
    assert case["current_annual_benefit"] == 30000
    assert case["n_edits_after_go_live"] == 1 and case["edited_after_results"]
    assert case["edited_fields"] == "expected_annual_benefit" and not case["design_edited"]
    assert records["is_registered_case"].to_list() == [False, True, False]
    assert records["changed_fields"].to_list() == [None, "expected_annual_benefit", "expected_annual_benefit"]
    judged = as_registered(register(benefit=30000), cases)
    assert judged.initiatives[0].expected.annual_benefit == 12000
    assert judged.initiatives[0].expected.changes == {"order_error_rate": -30}
    message = business_case_edited(InitiativeClaim(judged, judged.initiatives[0], case))
    assert message.status == "warn" and "12000" in message.message and "30000" in message.message


def test_go_live_is_judged_by_the_wall_clock_in_the_business_timezone():
    # 23:30 UTC on 2 March is already 3 March (go-live day) in Berlin: not before go-live
    history = history_of((register(), datetime(2025, 3, 2, 23, 30, tzinfo=UTC)))
    cases, _ = judge_cases(register(), history, [])
    assert not cases["registered_before_go_live"][0]


def test_an_edit_before_any_run_measured_it_is_after_go_live_but_not_after_results():
    history = history_of((register(), at("2025-04-01")), (register(benefit=5000), at("2025-04-01", 3)))
    cases, _ = judge_cases(register(benefit=5000), history, [])  # no published run yet
    case = cases.row(0, named=True)
    assert not case["registered_before_go_live"]  # first seen already live: its first record is the case
    assert case["registered_annual_benefit"] == 12000
    assert case["n_edits_after_go_live"] == 1 and not case["edited_after_results"]


def test_changing_comparison_units_after_results_is_suspicious():
    history = history_of((register(controls="b"), at("2025-02-01")), (register(controls="c"), at("2025-05-01")))
    cases, _ = judge_cases(register(controls="c"), history, [at("2025-02-01"), at("2025-04-01")])
    case = cases.row(0, named=True)
    assert case["design_edited"] and case["edited_fields"] == "control_units"
    reg = register(controls="c")
    assert design_changed_after_results(InitiativeClaim(reg, reg.initiatives[0], case)).status == "warn"
    assert business_case_edited(InitiativeClaim(reg, reg.initiatives[0], case)).status == "pass"


def test_an_edit_reverted_leaves_nothing_edited():
    history = history_of(
        (register(), at("2025-02-01")), (register(benefit=1), at("2025-04-01")), (register(), at("2025-04-02"))
    )
    cases, _ = judge_cases(register(), history, [at("2025-03-05")])
    case = cases.row(0, named=True)
    assert case["edited_fields"] is None and case["n_edits_after_go_live"] == 2
    assert business_case_edited(InitiativeClaim(register(), register().initiatives[0], case)).status == "pass"


CLAIM = {
    "initiative_id": "checks",
    "metric": "order_error_rate",
    "run_id": "r1",
    "as_of": date(2025, 6, 1),
    "method": "did",
    "effect_abs": -0.02,
    "ci_low": -0.03,
    "ci_high": -0.01,
    "confidence_level": 0.95,
    "grade": "reliable",
    "benefit": 900.0,
}


def test_accepting_a_claim_below_reliable_needs_a_reason():
    with pytest.raises(SignoffError, match="needs a reason"):
        make_entry({**CLAIM, "grade": "suspicious"}, decision="accept", signed_by="Ana", comment=None)
    with pytest.raises(SignoffError, match="name"):
        make_entry(CLAIM, decision="accept", signed_by=" ", comment=None)
    assert (
        make_entry({**CLAIM, "grade": "suspicious"}, decision="reject", signed_by="Ana", comment=None)["decision"]
        == "reject"
    )
    assert (
        make_entry({**CLAIM, "grade": "suspicious"}, decision="accept", signed_by="Ana", comment="seen the data")[
            "comment"
        ]
        == "seen the data"
    )


def now(**changes) -> pl.DataFrame:
    return pl.DataFrame([{**CLAIM, **changes}])


@pytest.mark.parametrize(
    ("changes", "reasons"),
    [
        ({}, None),
        ({"effect_abs": -0.011, "ci_low": -0.02, "ci_high": -0.002}, None),  # moved, still inside [-0.03, -0.01]
        ({"effect_abs": -0.005}, "the effect -0.005 is outside the signed interval [-0.03, -0.01]"),
        ({"grade": "needs_more_data"}, "the grade dropped from reliable to needs_more_data"),
        ({"method": "its"}, "the method changed from did to its"),
    ],
)
def test_a_signed_claim_is_flagged_when_it_leaves_its_interval_or_its_grade_drops(tmp_path, changes, reasons):
    log = tmp_path / "w-signoffs.jsonl"
    append_entries(log, [make_entry(CLAIM, decision="accept", signed_by="Ana", comment=None)])
    entries, problems = read_log(log)
    assert not problems and entries["chain_intact"].all()
    status = signoff_status(entries, now(**changes)).row(0, named=True)
    assert status["decision"] == "accept" and status["signed_effect_abs"] == -0.02
    assert status["changed_since_signoff"] is (reasons is not None)
    assert status["change_reasons"] == reasons


def test_the_latest_decision_counts_and_a_claim_gone_is_flagged(tmp_path):
    log = tmp_path / "w-signoffs.jsonl"
    append_entries(log, [make_entry(CLAIM, decision="defer", signed_by="Ana", comment="wait a month")])
    append_entries(log, [make_entry(CLAIM, decision="accept", signed_by="Ben", comment=None)])
    entries, _ = read_log(log)
    status = signoff_status(entries, now()).row(0, named=True)
    assert (status["decision"], status["signed_by"], status["n_decisions"]) == ("accept", "Ben", 2)
    gone = signoff_status(entries, now().clear()).row(0, named=True)
    assert gone["changed_since_signoff"] and gone["change_reasons"] == "the claim is no longer estimated"
    unsigned = signoff_status(entries.clear(), now()).row(0, named=True)
    assert unsigned["decision"] is None and unsigned["changed_since_signoff"] is None


def test_an_edited_or_deleted_line_breaks_the_chain(tmp_path):
    log = tmp_path / "w-signoffs.jsonl"
    for who in ("Ana", "Ben", "Cy"):
        append_entries(log, [make_entry(CLAIM, decision="accept", signed_by=who, comment=None)])
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0].replace("Ana", "Eve"), *lines[1:]]) + "\n")
    entries, problems = read_log(log)
    assert entries["chain_intact"].to_list() == [True, False, False]
    assert problems == [f"{log}, line 2: the line before it was changed or removed since it was written"]
    log.write_text("\n".join([lines[0], lines[2]]) + "\n")  # the middle decision deleted
    entries, problems = read_log(log)
    assert entries["chain_intact"].to_list() == [True, False] and "line 2" in problems[0]
