"""Money: benefit, ROI, payback and NPV from the primary effects and the register's costs."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Definitions,
    MaterializeResult,
    multi_asset,
)

from pipelines.resources import RunResource
from pipelines.warehouse import INTERMEDIATE, replace_table, unit_hourly_costs
from roi_ledger.money.ledger import compute_money
from roi_ledger.oversight.business_case import as_registered

MONEY_TABLES = {
    "initiative_roi": "One row per live or retired initiative as of the run (published as marts.initiative_roi).",
    "initiative_roi_periods": "The weekly cost and benefit curve (published as marts.initiative_roi_periods).",
    "initiative_metric_money": "What each metric contributed, or why it was not counted (marts.initiative_metric_money).",
}


@multi_asset(
    specs=[
        AssetSpec(
            [INTERMEDIATE, table],
            group_name="money",
            description=description,
            deps=[
                AssetKey([INTERMEDIATE, "initiative_effects"]),
                AssetKey([INTERMEDIATE, "claim_reliability"]),
                AssetKey(["marts", "metric_series"]),
                AssetKey(["intermediate", "int_unit_hourly_cost"]),
                AssetKey([INTERMEDIATE, "business_cases"]),
            ],
        )
        for table, description in MONEY_TABLES.items()
    ],
)
def money(context: AssetExecutionContext, run: RunResource):
    """Turn the primary effects into money and set them against the costs (roi_ledger.money)."""
    run_context = run.context
    with run.warehouse.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        # Realisation is judged against the business cases as registered (docs/oversight.md).
        registered = as_registered(run_context.register, con.sql(f"select * from {INTERMEDIATE}.business_cases").pl())
        frames = compute_money(
            registered,
            series,
            con.sql(f"select * from {INTERMEDIATE}.initiative_effects").pl(),
            con.sql(f"select * from {INTERMEDIATE}.claim_reliability").pl(),
            catalogue=list(run_context.catalogue),
            traits=run_context.traits(set(series["metric"].unique().to_list())),
            as_of=run_context.as_of,
            hourly_cost_by_unit=unit_hourly_costs(con),
        )
        for name, frame in frames.items():
            replace_table(con, f"{INTERMEDIATE}.{name}", frame)
    for name, frame in frames.items():
        yield MaterializeResult(asset_key=AssetKey([INTERMEDIATE, name]), metadata={"rows": frame.height})
    context.log.info(f"money for {frames['initiative_roi'].height} initiatives")


defs = Definitions(assets=[money])
