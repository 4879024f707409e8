"""Each preset's full mapping is in docs/sources.md as YAML that can be copied and edited: the
blocks are the presets (generated from ``connectors.presets``, and held equal here so the doc
cannot drift), and a block pasted into sources.yml without ``preset:`` is the same source as the
preset. A localised export's headers map in one round (``header_aliases``)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from connectors.files import land_files
from connectors.landing import ensure_raw_schema
from connectors.presets import PRESETS, canonical_headers, preset_yaml
from connectors.sources import load_sources, source_files

DOC = Path(__file__).parents[1] / "docs" / "sources.md"
EXPORTS = Path(__file__).parent / "exports"
KINDS = [(name, kind) for name, preset in PRESETS.items() for kind in ("files", "rest_api") if kind in preset]


def doc_block(name: str, kind: str) -> str:
    found = re.search(rf"<!-- preset: {name} {kind} -->\n```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert found, f"docs/sources.md has no block for preset {name} ({kind}): add '<!-- preset: {name} {kind} -->'"
    return found.group(1)


@pytest.mark.parametrize(("name", "kind"), KINDS)
def test_the_docs_carry_each_preset_in_full(name, kind):
    assert doc_block(name, kind) == preset_yaml(name, kind), (
        "docs/sources.md differs from connectors/presets.py: run python -m connectors.presets docs/sources.md"
    )


@pytest.mark.parametrize(("name", "kind"), KINDS)
def test_a_copied_block_is_the_same_source_as_the_preset(tmp_path, name, kind):
    [(copied_name, copied)] = yaml.safe_load(doc_block(name, kind))["sources"].items()
    extra = {"path": copied["path"]} if kind == "files" else {"kind": kind}
    (tmp_path / "sources.yml").write_text(
        yaml.safe_dump({"sources": {copied_name: copied, "by_preset": {"preset": name, **extra}}})
    )
    sources = load_sources(tmp_path)
    by_copy = sources[copied_name].model_dump(exclude={"preset"})
    assert by_copy == sources["by_preset"].model_dump(exclude={"preset"})


def test_a_german_zendesk_header_is_renamed_in_one_round():
    english = (EXPORTS / "zendesk_tickets.csv").read_text().splitlines()[0].split(",")
    german = [GERMAN.get(name, name) for name in english]
    renames = canonical_headers("zendesk", german)
    assert renames == {GERMAN[name]: name for name in PRESET_HEADERS}
    assert canonical_headers("zendesk", english) == {}  # the English export as it is
    assert canonical_headers("shopify", german) == {} and canonical_headers(None, german) == {}


# The headers the Zendesk preset maps, and the German names it knows for them
PRESET_HEADERS = [
    "Id",
    "Group",
    "Created at",
    "Solved at",
    "First reply time in minutes",
    "Reopens",
    "Satisfaction Score",
]
GERMAN = {
    "Id": "ID",
    "Group": "Gruppe",
    "Created at": "Erstellt am",
    "Solved at": "Gelöst am",
    "First reply time in minutes": "Zeit bis zur ersten Reaktion in Minuten",
    "Reopens": "Erneute Öffnungen",
    "Satisfaction Score": "Zufriedenheitsbewertung",
}


def test_a_german_zendesk_export_lands_like_the_english_one(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lines = (EXPORTS / "zendesk_tickets.csv").read_text().splitlines()
    header = ",".join(GERMAN.get(name, name) for name in lines[0].split(","))
    body = "\n".join(lines[1:]).replace(",Good,", ",Gut,").replace(",Bad,", ",Schlecht,")
    (data / "tickets_de.csv").write_text(header + "\n" + body + "\n")
    shutil.copy(EXPORTS / "zendesk_tickets.csv", data / "tickets_en.csv")
    (data / "sources.yml").write_text(
        "sources:\n  de: {preset: zendesk, path: tickets_de.csv}\n  en: {preset: zendesk, path: tickets_en.csv}\n"
    )
    con = duckdb.connect()
    ensure_raw_schema(con)
    sources = load_sources(data)
    loads = {}
    for name in ("de", "en"):  # the German export first, then the same tickets in English
        source = sources[name]
        at = datetime(2024, 2, 1, tzinfo=UTC)
        [loads[name]] = land_files(
            con, name, source, "tickets", source_files(data, source), load_id=name, loaded_at=at, salt=None
        )
    assert (loads["de"].rows_loaded, loads["de"].rows_rejected) == (3, 1)
    # the English records are the German ones: held already, nothing written again
    assert (loads["en"].rows_loaded, loads["en"].rows_unchanged, loads["en"].rows_rejected) == (0, 3, 1)
