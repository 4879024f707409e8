"""The metric catalogue's one slug rule: Python names split_by metrics as dbt does."""

import re
from pathlib import Path

import pytest

from roi_ledger.catalogue import SLUG_SQL, load_catalogue, slug

MACROS = Path(__file__).resolve().parent.parent / "dbt_project" / "macros" / "roi_helpers.sql"


def test_dbts_slugify_macro_is_the_catalogues_rule_word_for_word():
    body = re.search(r"macro default__slugify\(expr\) -%}\s*(.*?)\s*{%- endmacro", MACROS.read_text(), re.S).group(1)
    assert body.replace("cast({{ expr }} as {{ dbt.type_string() }})", "{value}") == SLUG_SQL


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("invoicing", "invoicing"),
        ("  Invoicing ", "invoicing"),
        ("Front of house", "front_of_house"),
        ("café/bar", "caf__bar"),
        ("B2B-sales", "b2b_sales"),
    ],
)
def test_a_data_value_names_its_metric(value, name):
    assert slug(value) == name
    template = next(m for m in load_catalogue() if m.is_template and m.name == "hours_{activity}")
    assert template.instantiate(value) == f"hours_{name}" and template.matches(f"hours_{name}")
