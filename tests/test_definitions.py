"""The Dagster code location loads, with the job, schedule and lineage the docs describe."""

from dagster import AssetKey


def test_definitions_load_with_job_schedule_and_lineage():
    from pipelines.definitions import defs

    job = defs.get_job_def("nightly")
    assert job is not None
    schedule = defs.get_schedule_def("nightly_at_2am")
    assert schedule.cron_schedule == "0 2 * * *"
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw/orders", "staging/stg_orders", "marts/metric_series", "estimates/effect_estimates",
            "marts/initiative_effects", "marts/runs"} <= keys
    # the estimators sit between the two dbt layers
    assert AssetKey(["marts", "metric_series"]) in graph.get(AssetKey(["estimates", "effect_estimates"])).parent_keys
    assert AssetKey(["estimates", "effect_estimates"]) in graph.get(AssetKey(["marts", "initiative_effects"])).parent_keys
