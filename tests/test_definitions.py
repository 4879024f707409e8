"""The Dagster code location loads, with the job, schedule and lineage the docs describe."""

from dagster import AssetKey

from pipelines.definitions import defs


def test_definitions_load_with_job_schedule_and_lineage():
    assert defs.resolve_job_def("nightly") is not None
    schedule = defs.resolve_schedule_def("nightly_at_2am")
    assert schedule.cron_schedule == "0 2 * * *"
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "raw/orders",
        "staging/stg_orders",
        "marts/metric_series",
        "python/initiative_effects",
        "marts/initiative_effects",
        "marts/runs",
    } <= keys


def test_asset_keys_read_as_the_tables_they_write():
    graph = defs.resolve_asset_graph()
    # one name per table: the Python step writes python.<t>, dbt publishes marts.<t>
    for table in ("initiative_effects", "claim_checks", "claim_reliability", "initiative_roi", "objective_progress"):
        published = graph.get(AssetKey(["marts", table]))
        assert AssetKey(["python", table]) in published.parent_keys
    # the estimators sit between the two dbt layers
    effects = graph.get(AssetKey(["python", "initiative_effects"]))
    assert AssetKey(["marts", "metric_series"]) in effects.parent_keys
    claims = graph.get(AssetKey(["python", "claim_checks"]))
    assert AssetKey(["intermediate", "int_metric_values_capped"]) in claims.parent_keys


def test_the_domain_package_imports_no_orchestration_or_connector_code():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "roi_ledger"
    offenders = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.relative_to(package)}: {n}"
                for n in names
                if n.split(".")[0] in ("pipelines", "connectors", "dagster", "dagster_dbt")
            ]
    assert offenders == []
