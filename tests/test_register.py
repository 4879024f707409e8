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
        (("    metrics: [order_error_rate]", "    metrics: [order_error_rate]\n    go_live_date: 2025-01-01"), 'initiative "checks", field go_live_date: unknown key'),
        (("status: live\n    go_live: 2025-03-03", "status: golden\n    go_live: 2025-03-03"), 'initiative "checks", field status'),
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
