"""Each published table is declared once, in its mart's yml (roi_ledger/tables.py): what is
generated from it and what is checked against it."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import polars as pl
import pytest
import yaml

from pipelines.runtime.project import GENERATED_SOURCES, generated_files
from roi_ledger.effects.result import EffectEstimate
from roi_ledger.tables import MARTS_DIR, POLARS_TYPES, TableShapeError, conform, published_tables, schema


def mart_models() -> list[dict]:
    models = []
    for path in MARTS_DIR.glob("*.yml"):
        models += (yaml.safe_load(path.read_text()) or {}).get("models", [])
    return models


def test_every_mart_has_an_enforced_contract_with_a_known_type_per_column():
    models = mart_models()
    assert len(models) == 27
    for model in models:
        assert model["config"]["contract"]["enforced"] is True, model["name"]
        for column in model["columns"]:
            assert column.get("data_type") in POLARS_TYPES, f"{model['name']}.{column['name']}"


def test_a_table_republished_as_is_has_a_generated_model_and_no_sql_of_its_own():
    files = generated_files()
    python_tables = [t for t in published_tables().values() if t.published_from_python]
    republished = {t.name for t in python_tables if t.republished_as_is}
    assert len(republished) == 21
    assert {name.removesuffix(".sql") for name in files if name.endswith(".sql")} == republished
    assert not [name for name in republished if (MARTS_DIR / f"{name}.sql").exists()]
    # initiative_roi joins columns of its own onto the Python step's table
    assert (MARTS_DIR / "initiative_roi.sql").exists() and "initiative_roi" not in republished
    sources = yaml.safe_load(files[GENERATED_SOURCES])["sources"][0]
    assert [t["name"] for t in sources["tables"]] == [t.name for t in python_tables]


def test_the_generated_models_are_the_ones_set_up_wrote():
    from pipelines.runtime.project import GENERATED_DIR

    on_disk = {path.name: path.read_text() for path in GENERATED_DIR.iterdir()}
    assert on_disk == generated_files(), "run ./dev setup (python -m pipelines.runtime.project) to regenerate them"


def test_an_effect_estimate_row_has_exactly_the_published_columns():
    row_keys = [f.name for f in fields(EffectEstimate)] + ["effect_pct"]
    assert set(row_keys) == set(schema("initiative_effects"))


def test_a_python_table_without_its_own_columns_leaves_out_what_dbt_adds():
    roi = published_tables()["initiative_roi"]
    assert len(roi.columns) == 28 and len(roi.schema) == 22
    assert "benefit_signed_off" not in roi.schema and list(roi.schema)[-1] == "grade"


def test_conform_puts_a_frame_in_the_declared_order_and_types_its_empty_columns():
    frame = pl.DataFrame(
        {
            "level": ["metric"],
            "check_id": ["outliers"],
            "description": [None],
            "check_class": ["robustness"],
        }
    )
    conformed = conform("claim_check_definitions", frame)
    assert conformed.columns == ["check_id", "level", "check_class", "description"]
    assert conformed.schema["description"] == pl.String


def test_conform_names_the_table_and_column_that_differ():
    good = pl.DataFrame({"check_id": ["a"], "level": ["metric"], "check_class": ["x"], "description": ["d"]})
    with pytest.raises(TableShapeError, match=r"claim_check_definitions: .*lacks columns \['description'\]"):
        conform("claim_check_definitions", good.drop("description"))
    with pytest.raises(TableShapeError, match=r"undeclared columns \['extra'\]"):
        conform("claim_check_definitions", good.with_columns(pl.lit(1).alias("extra")))
    with pytest.raises(TableShapeError, match=r"claim_check_definitions.level is Date .* declared string"):
        conform("claim_check_definitions", good.with_columns(pl.lit(date(2026, 1, 1)).alias("level")))
