"""The register is validated at the edge: every mistake names the file, initiative and field."""

from datetime import date

import pytest

from roi_ledger.register import RegisterError, check_against_data, parse_register

VALID = """
business: {name: Shop, currency: EUR, timezone: Europe/Berlin}
objectives:
  - {id: fewer_errors, statement: Fewer errors, metric: order_error_rate, target_change_pct: -30}
initiatives:
  - id: checks
    name: Order checks
    objective: fewer_errors
    status: live
    go_live: 2025-03-03
    treated_units: [a]
    metrics: [order_error_rate]
  - id: rollout
    name: Staged rollout
    status: live
    phases:
      - {units: [b], go_live: 2025-05-05}
      - {units: [a], go_live: 2025-01-06}
    metrics: [orders_per_week]
"""


def test_valid_register_becomes_typed_objects():
    register = parse_register(VALID, "initiatives.yml")
    checks, rollout = register.initiatives
    assert checks.go_live == date(2025, 3, 3)
    assert checks.costs is None and checks.owner is None  # optional: absence is a finding later
    assert rollout.is_staggered and rollout.first_go_live == date(2025, 1, 6)
    assert [p.units for p in rollout.rollout] == [["a"], ["b"]]
    assert rollout.go_live_of("b") == date(2025, 5, 5)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("go_live: 2025-03-03", "go_live: 2025-13-03"), 'initiative "checks", field go_live'),
        (
            ("    metrics: [order_error_rate]", "    metrics: [order_error_rate]\n    go_live_date: 2025-01-01"),
            'initiative "checks", field go_live_date: unknown key',
        ),
        (
            ("status: live\n    go_live: 2025-03-03", "status: golden\n    go_live: 2025-03-03"),
            'initiative "checks", field status',
        ),
        (("objective: fewer_errors", "objective: nope"), "no objective with id 'nope'"),
        (("    treated_units: [a]\n", ""), 'initiative "checks"'),
        (("timezone: Europe/Berlin", "timezone: Mars/Olympus"), "unknown timezone"),
    ],
)
def test_mistakes_are_named(change, expected):
    old, new = change
    assert old in VALID
    with pytest.raises(RegisterError) as error:
        parse_register(VALID.replace(old, new, 1), "initiatives.yml")
    assert "initiatives.yml" in str(error.value)
    assert expected in str(error.value)


def test_units_and_metrics_are_checked_against_the_data():
    register = parse_register(VALID, "initiatives.yml")
    with pytest.raises(RegisterError) as error:
        check_against_data(register, "initiatives.yml", units={"a"}, metrics={"order_error_rate"})
    message = str(error.value)
    assert "initiative \"rollout\", field phases: unit 'b' is in no dataset" in message
    assert "initiative \"rollout\", field metrics: unknown metric 'orders_per_week'" in message


def test_not_yaml_is_a_clear_error():
    with pytest.raises(RegisterError, match="initiatives.yml: not valid YAML"):
        parse_register("business: [", "initiatives.yml")


# --- rules a user would expect (docs/register.md "What the register refuses") --------------

ONE = """business: {name: T, currency: EUR, timezone: UTC}
initiatives:
  - id: a
    name: A
    status: live
    go_live: 2025-01-06
    treated_units: [u1]
    metrics: [m]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ONE.replace("    status: live\n", "    status: live\n    status: proposed\n"), "key 'status' appears twice"),
        (ONE.replace("status: live", "status: retired"), 'initiative "a": a retired initiative needs retired_on'),
        (ONE + "    retired_on: 2025-06-01\n", 'initiative "a": retired_on is set but status is live'),
        (
            ONE + "    costs: [{kind: one_off, amount: .inf, date: 2025-01-01}]\n",
            "field costs.0.amount: Input should be a finite number",
        ),
        (
            ONE + "    expected: {annual_benefit: -5}\n",
            "field expected.annual_benefit: Input should be greater than or equal to 0",
        ),
        (ONE.replace("EUR", "$$$"), "field business.currency: '$$$' is not a currency code"),
        (ONE + "    ramp_up_days: 100000\n", "field ramp_up_days: Input should be less than or equal to 365"),
        (
            ONE + "    costs: [{kind: one_off, amount: 5, date: 1900-01-01}]\n",
            "field costs.0.date: 1900-01-01 is outside the years 1970-2100",
        ),
        (ONE.replace("go_live: 2025-01-06", "go_live: 2999-01-06"), "2999-01-06 is outside the years"),
        (
            ONE + "    control_units: [u2]\n  - id: b\n    name: B\n    status: live\n    go_live: 2025-01-06\n"
            "    treated_units: [u2]\n    control_units: [u1]\n    metrics: [m]\n",
            "initiatives 'a' and 'b' each compare against the other's treated units",
        ),
    ],
)
def test_the_register_refuses_nonsense_naming_the_field(text, message):
    with pytest.raises(RegisterError) as refused:
        parse_register(text, "r.yml")
    assert message in str(refused.value) and str(refused.value).startswith("r.yml")


def test_a_live_initiative_cannot_go_live_after_today():
    from roi_ledger.register import check_against_today

    register = parse_register(ONE.replace("go_live: 2025-01-06", "go_live: 2030-01-07"), "r.yml")
    with pytest.raises(RegisterError, match='initiative "a", field status: live, but it goes live on 2030-01-07'):
        check_against_today(register, "r.yml", date(2026, 12, 1))
    check_against_today(register, "r.yml", date(2030, 1, 7))  # the day it goes live
