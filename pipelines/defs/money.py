"""Money: benefit, ROI, payback and NPV from the primary effects and the register's costs."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.resources import RoiSettings
from roi_ledger.catalogue import load_catalogue, metric_traits
from roi_ledger.money.ledger import compute_money

MONEY_TABLES = {
    "initiative_roi": "One row per live or retired initiative as of the run (published as marts.initiative_roi).",
    "initiative_roi_periods": "The weekly cost and benefit curve (published as marts.initiative_roi_periods).",
    "initiative_metric_money": "What each metric contributed, or why it was not counted (marts.initiative_metric_money).",
}


def hourly_cost_by_unit(con) -> dict[str, float]:
    """Each unit's loaded hourly cost from the hours data (hours-weighted, entries with a cost)."""
    return dict(
        con.sql(
            """
            select unit_id, sum(hours * hourly_cost) / sum(hours) as hourly_cost
            from staging.stg_hours where hourly_cost is not null and hours > 0
            group by unit_id
            """
        ).fetchall()
    )


@multi_asset(
    specs=[
        AssetSpec(
            ["estimates", table],
            group_name="money",
            description=description,
            deps=[AssetKey(["estimates", "effect_estimates"]), AssetKey(["estimates", "claim_grades"]), AssetKey(["marts", "metric_series"])],
        )
        for table, description in MONEY_TABLES.items()
    ],
)
def money(context: AssetExecutionContext, settings: RoiSettings):
    """Turn the primary effects into money and set them against the costs (roi_ledger.money)."""
    register = settings.register()
    catalogue = load_catalogue(register.catalogue, source=str(settings.config))
    with settings.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        estimates = con.sql("select * from intermediate.effect_estimates").pl()
        grades = con.sql("select * from intermediate.claim_grades").pl()
        frames = compute_money(
            register,
            series,
            estimates,
            grades,
            catalogue=catalogue,
            traits=metric_traits(catalogue, set(series["metric"].unique().to_list())),
            as_of=settings.as_of(),
            hourly_cost_by_unit=hourly_cost_by_unit(con),
        )
        for name, frame in frames.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create or replace table intermediate.money_{name} as select * from frame")
            con.unregister("frame")
    for name, frame in frames.items():
        yield MaterializeResult(asset_key=AssetKey(["estimates", name]), metadata={"rows": frame.height})
    context.log.info(f"money for {frames['initiative_roi'].height} initiatives")
