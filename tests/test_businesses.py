"""Many businesses, one deployment: the businesses file, the partitioned nightly job, and
``roi run-all`` running three businesses of which one is broken and fails alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from dagster import build_schedule_context

from pipelines.commands import main as roi_main
from pipelines.commands.exit_codes import EXIT_RUN_FAILED
from pipelines.defs import schedule
from pipelines.runtime.businesses import BusinessesError, load_businesses
from pipelines.runtime.settings import BUSINESSES_VAR
from tests.conftest import query


def write_businesses(root: Path, entries: list[dict]) -> Path:
    path = root / "businesses.yml"
    path.write_text(yaml.safe_dump({"businesses": entries}, sort_keys=False))
    return path


def entry(name: str) -> dict:
    return {
        "name": name,
        "data": f"{name}/data",
        "config": f"{name}/initiatives.yml",
        "warehouse": f"{name}/roi.duckdb",
    }


def test_paths_are_relative_to_the_businesses_file(tmp_path):
    [business] = load_businesses(write_businesses(tmp_path, [entry("bakery")]))
    assert business.name == "bakery"
    assert business.data_dir == tmp_path / "bakery" / "data"
    assert business.warehouse == tmp_path / "bakery" / "roi.duckdb"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "a", "data": "d", "config": "c.yml"}], "business 1: missing warehouse"),
        ([entry("a"), entry("a")], "business 2: name 'a' is used twice"),
        ([entry("a b")], "business 1: name 'a b' may hold only letters"),
        ([entry("a"), {**entry("b"), "warehouse": "a/roi.duckdb"}], "two businesses write to the same warehouse"),
        ([{**entry("a"), "salt": "x"}], "business 1: unknown field(s) salt"),
    ],
)
def test_a_bad_businesses_file_is_refused_naming_the_entry(tmp_path, entries, message):
    path = write_businesses(tmp_path, entries)
    with pytest.raises(
        BusinessesError, match=str(path).replace(".", r"\.") + ".*" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        load_businesses(path)


def test_each_business_is_a_partition_with_its_own_paths_and_its_own_night(tmp_path, monkeypatch):
    for name, zone in (("berlin", "Europe/Berlin"), ("auckland", "Pacific/Auckland")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "initiatives.yml").write_text(
            yaml.safe_dump({"business": {"name": name, "currency": "EUR", "timezone": zone}, "initiatives": []})
        )
    monkeypatch.setenv(BUSINESSES_VAR, str(write_businesses(tmp_path, [entry("berlin"), entry("auckland")])))
    defs = schedule.definitions()
    job = defs.resolve_job_def("nightly_by_business")
    assert job.partitions_def.get_partition_keys() == ["berlin", "auckland"]
    config = job.partitioned_config.get_run_config_for_partition_key("auckland")["resources"]["run"]["config"]
    assert config["warehouse_path"] == str(tmp_path / "auckland" / "roi.duckdb")
    assert config["data_dir"] == str(tmp_path / "auckland" / "data")

    # noon UTC on 1 December is 13:00 in Berlin (its last complete day 30 November) and 01:00 on
    # 2 December in Auckland (its last complete day 1 December)
    tick = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    context = build_schedule_context(scheduled_execution_time=tick, repository_def=defs.get_repository_def())
    requests = list(defs.resolve_schedule_def("nightly_by_business_at_2am").evaluate_tick(context).run_requests)
    as_of = {r.partition_key: r.run_config["resources"]["run"]["config"]["as_of"] for r in requests}
    assert as_of == {"berlin": "2026-11-30", "auckland": "2026-12-01"}
    assert {r.run_key for r in requests} == {"berlin:2026-11-30", "auckland:2026-12-01"}


def small_business(root: Path, *, broken: bool) -> None:
    """A monthly KPI for two shops, one of them treated from month 24; ``broken`` leaves the
    value column out of the KPI file, which the first step refuses."""
    rng = np.random.default_rng(len(root.name))
    months = [date(2023 + m // 12, m % 12 + 1, 1) for m in range(36)]
    rows = [
        {
            "unit_id": unit,
            "period_start": month.isoformat(),
            "metric": "on_time_rate",
            "value": 80 + rng.normal(0, 1) - (3 if unit == "north" and m >= 24 else 0),
        }
        for unit in ("north", "south")
        for m, month in enumerate(months)
    ]
    kpis = pl.DataFrame(rows)
    (root / "data").mkdir(parents=True)
    (kpis.drop("value") if broken else kpis).write_csv(root / "data" / "kpis.csv")
    register = {
        "business": {"name": root.name, "currency": "EUR", "timezone": "UTC"},
        "initiatives": [
            {
                "id": "route_planner",
                "name": "Route planner",
                "status": "live",
                "go_live": "2025-01-01",
                "treated_units": ["north"],
                "metrics": ["on_time_rate"],
            }
        ],
    }
    (root / "initiatives.yml").write_text(yaml.safe_dump(register, sort_keys=False))


@pytest.mark.e2e
def test_run_all_runs_every_business_and_a_broken_one_fails_alone(tmp_path, capsys):
    names = ["alpha", "broken", "gamma"]
    for name in names:
        small_business(tmp_path / name, broken=name == "broken")
    path = write_businesses(tmp_path, [entry(n) for n in names])

    code = roi_main(["run-all", "--businesses", str(path), "--parallel", "2", "--as-of", "2025-12-31"])
    out = capsys.readouterr().out

    assert code == EXIT_RUN_FAILED
    assert "2 of 3 businesses done" in out and "failed: broken" in out
    assert "FAILED broken (exit 2" in out and "value" in out  # the missing column is named
    assert "Error" not in out and "roi_ledger." not in out  # in words, no class names (tests/test_run_messages.py)
    for name in ("alpha", "gamma"):
        effects = query(tmp_path / name / "roi.duckdb", "select * from marts.initiative_effects where is_primary")
        assert effects["initiative_id"].to_list() == ["route_planner"]
        runs = query(tmp_path / name / "roi.duckdb", "select as_of from marts.runs")
        assert runs["as_of"].to_list() == [date(2025, 12, 31)]
    assert not (tmp_path / "broken" / "roi.duckdb").exists()
