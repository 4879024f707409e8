"""The register is validated at the edge: every mistake names the file, initiative and field."""

from datetime import date

import pytest
import yaml

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
    with pytest.raises(RegisterError, match="initiatives.yml: cannot be read as YAML at line"):
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


# --- nonsense found by hostile input (issue #37): each refused, naming the field ---------------

COST = "    costs: [{kind: one_off, amount: AMOUNT, date: 2025-01-01}]\n"
NONSENSE = {
    "astronomical cost": (ONE + COST.replace("AMOUNT", "1.7e308"), "field costs.0.amount: 1.7e+308 is over the limit"),
    "cost over the limit": (
        ONE + COST.replace("AMOUNT", "1000000000001"),
        "field costs.0.amount: 1,000,000,000,001 is over",
    ),
    "cost yes": (ONE + COST.replace("AMOUNT", "yes"), "field costs.0.amount: yes/true/on is not a number"),
    "cost true": (ONE + COST.replace("AMOUNT", "true"), "field costs.0.amount: yes/true/on is not a number"),
    "cost off": (ONE + COST.replace("AMOUNT", "off"), "field costs.0.amount: no/false/off is not a number"),
    "benefit yes": (ONE + "    expected: {annual_benefit: yes}\n", "field expected.annual_benefit: yes/true/on"),
    "benefit astronomical": (
        ONE + "    expected: {annual_benefit: 1e300}\n",
        "field expected.annual_benefit: 1e+300 is over the limit",
    ),
    "hourly cost yes": (
        ONE.replace("timezone: UTC}", "timezone: UTC, loaded_hourly_cost: yes}"),
        "field business.loaded_hourly_cost: yes/true/on is not a number",
    ),
    "margin true": (
        ONE.replace("timezone: UTC}", "timezone: UTC, values: {gross_margin: true}}"),
        "field business.values.gross_margin: yes/true/on",
    ),
    "ramp-up yes": (ONE + "    ramp_up_days: yes\n", "field ramp_up_days: yes/true/on is not a number"),
    "change of -1000%": (
        ONE + "    expected: {changes: {m: -1000}}\n",
        "field expected.changes.m: -1000% is not a change a metric can make",
    ),
    "change of -100%": (
        ONE + "    expected: {changes: {m: -100}}\n",
        "field expected.changes.m: -100% is not a change",
    ),
    "change yes": (ONE + "    expected: {changes: {m: yes}}\n", "field expected.changes.m: yes/true/on"),
    "target of -1000%": (
        ONE + "objectives:\n  - {id: o, statement: S, target_change_pct: -1000}\n",
        'objective "o", field target_change_pct: Input should be greater than or equal to -100',
    ),
    "threshold yes": (
        ONE + "    claim_checks: {min_pre_weeks: yes}\n",
        "r.yml: initiative 'a', field claim_checks: min_pre_weeks: yes/true/on is not a number",
    ),
    "empty id": (ONE.replace("id: a", 'id: ""'), "initiative #1, field id: the id is empty"),
    "blank id": (ONE.replace("id: a", 'id: "  "'), "initiative #1, field id: the id is empty"),
    "empty objective id": (
        ONE + "objectives:\n  - {id: '', statement: S}\n",
        "objective #1, field id: the id is empty",
    ),
    "zero-width in an id": (ONE.replace("id: a", 'id: "a\\u200b"'), "U+200B (ZERO WIDTH SPACE)"),
    "right-to-left override in an id": (ONE.replace("id: a", 'id: "a\\u202eb"'), "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    "zero-width in a unit": (
        ONE.replace("[u1]", '["u\\u200d1"]'),
        'initiative "a", field treated_units.0: the unit holds the invisible character U+200D',
    ),
    "bidi mark in a unit": (ONE.replace("[u1]", '["u1\\u200f"]'), "field treated_units.0: the unit holds"),
    "full-width twin of an id": (
        ONE + ONE.split("initiatives:\n")[1].replace("id: a", "id: ａ").replace("[u1]", "[u2]"),
        "r.yml: initiative id 'a' appears twice",
    ),
    "path as an id": (ONE.replace("id: a", "id: ../../etc/passwd"), "'../../etc/passwd' is not a usable id"),
    "markup as an id": (ONE.replace("id: a", "id: '<svg onload=alert(1)>'"), "is not a usable id"),
    "path as a metric": (ONE.replace("[m]", "['../../etc/passwd']"), "field metrics.0: '../../etc/passwd' is not"),
    "markup as a metric": (ONE.replace("[m]", "['<svg onload=alert(1)>']"), "field metrics.0: '<svg"),
    "markup as a changed metric": (
        ONE + "    expected: {changes: {'<svg onload=x>': 5}}\n",
        "field expected.changes.<svg onload=x>.[key]: '<svg onload=x>' is not a metric name",
    ),
    "megabyte unit": (ONE.replace("[u1]", "[" + "u" * 1_000_000 + "]"), "is at most 1,000,000"),
    "long unit": (ONE.replace("[u1]", "[" + "u" * 101 + "]"), "the unit is 101 characters long; the limit is 100"),
    "deep nesting": (
        ONE + "    claim_checks: {x: " + "[" * 10_000 + "]" * 10_000 + "}\n",
        "r.yml, line 9: nested more than 20 levels deep",
    ),
    "alias bomb": (
        ONE + "    claim_checks: {a: &a [1, 2], b: [" + ", ".join(["*a"] * 101) + "]}\n",
        "r.yml, line 9: more than 100 *aliases",
    ),
}


@pytest.mark.parametrize("case", NONSENSE)
def test_hostile_nonsense_is_refused_naming_the_field(case):
    text, message = NONSENSE[case]
    with pytest.raises(RegisterError) as refused:
        parse_register(text, "r.yml")
    assert message in str(refused.value) and str(refused.value).startswith("r.yml")
    assert "Traceback" not in str(refused.value) and "pydantic" not in str(refused.value)


def test_identifiers_are_read_in_their_nfkc_form():
    register = parse_register(ONE.replace("[u1]", "[ｕ１]").replace("id: a", "id: ａ"), "r.yml")
    assert register.initiatives[0].id == "a" and register.initiatives[0].treated_units == ["u1"]


def test_the_demo_register_passes_the_rules():
    import re

    from roi_ledger.demo.register import _REGISTER
    from roi_ledger.demo.world import BUSINESS_VALUES

    numbers = {"loaded_hourly_cost", *BUSINESS_VALUES}
    text = re.sub(r"\$(\w+)", lambda m: "0.5" if m[1] in numbers else "2025-01-06", _REGISTER.template)
    assert len(parse_register(text, "demo/initiatives.yml").initiatives) > 5


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", ["cost yes", "change of -1000%", "path as an id", "deep nesting", "megabyte unit"])
def test_roi_validate_and_run_exit_2_naming_the_field(case, command, tmp_path, capsys):
    from pipelines.commands import main as roi_main

    text, message = NONSENSE[case]
    (tmp_path / "data").mkdir()
    config = tmp_path / "r.yml"
    config.write_text(text, encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    flags = ["--warehouse", str(warehouse)] if command == "run" else []
    assert roi_main([command, "--data", str(tmp_path / "data"), "--config", str(config), *flags]) == 2
    assert not warehouse.exists()
    err = capsys.readouterr().err
    assert message.removeprefix("r.yml") in err and str(config) in err and "Traceback" not in err


def test_a_register_file_over_the_size_limit_is_refused_unread(tmp_path):
    from roi_ledger.register import load_register

    path = tmp_path / "initiatives.yml"
    path.write_text("# " + "x" * 1_000_001)
    with pytest.raises(RegisterError, match=r"initiatives.yml: 1,000,003 bytes; a register is at most 1,000,000"):
        load_register(path)


@pytest.mark.parametrize(
    ("money", "message"),
    [
        ("{kind: fixed, value_per_unit: yes, basis: per_period}", "money.value_per_unit: yes/true/on is not a number"),
        ("{kind: fixed, value_per_unit: .inf, basis: per_period}", "money.value_per_unit: Input should be a finite"),
        ("{kind: fixed, value_per_unit: 1.7e308, basis: per_period}", "money.value_per_unit: Input should be less"),
    ],
)
def test_a_catalogue_entry_in_the_register_refuses_nonsense_numbers(money, message):
    from roi_ledger.catalogue import CatalogueError, catalogue_entries

    entry = yaml.safe_load(
        f"{{name: returns_per_week, dataset: orders, aggregation: count, good_direction: down, money: {money}}}"
    )
    with pytest.raises(CatalogueError, match=message.replace(".", r"\.")):
        catalogue_entries([entry], "r.yml")
