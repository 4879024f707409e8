"""Strategy: the objectives scorecard, alignment, portfolio priorities and rollout phases."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.defs.money import hourly_cost_by_unit
from pipelines.resources import RoiSettings
from roi_ledger.catalogue import load_catalogue
from roi_ledger.strategy.objectives import objective_progress
from roi_ledger.strategy.portfolio import initiative_alignment, portfolio_priorities
from roi_ledger.strategy.rollout import rollout_phases

STRATEGY_TABLES = {
    "objective_progress": "Per objective: baseline, current value, target, status (published as marts.objective_progress).",
    "objective_contributions": "Each initiative's measured share of its objective's change (marts.objective_contributions).",
    "initiative_alignment": "Whether each initiative serves an objective it measurably moves (marts.initiative_alignment).",
    "portfolio_priorities": "Proposals ranked by benefit discounted by the track record (marts.portfolio_priorities).",
    "rollout_phases": "Each phase of a phased rollout, with projected money (marts.rollout_phases).",
}


@multi_asset(
    specs=[
        AssetSpec(
            ["estimates", table],
            group_name="strategy",
            description=description,
            deps=[AssetKey(["estimates", "initiative_roi"]), AssetKey(["estimates", "effect_estimates"]), AssetKey(["marts", "metric_series"])],
        )
        for table, description in STRATEGY_TABLES.items()
    ],
)
def strategy(context: AssetExecutionContext, settings: RoiSettings):
    """Judge objectives, alignment and proposals against what was measured (roi_ledger.strategy)."""
    register = settings.register()
    catalogue = load_catalogue(register.catalogue, source=str(settings.config))
    as_of = settings.as_of()
    with settings.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        estimates = con.sql("select * from intermediate.effect_estimates").pl()
        roi = con.sql("select * from intermediate.money_initiative_roi").pl()
        hourly = hourly_cost_by_unit(con)
        progress, contributions = objective_progress(register, series, estimates, catalogue, as_of)
        frames = {
            "objective_progress": progress,
            "objective_contributions": contributions,
            "initiative_alignment": initiative_alignment(register, estimates, set(series["metric"].unique().to_list())),
            "portfolio_priorities": portfolio_priorities(register, roi, catalogue),
            "rollout_phases": rollout_phases(register, series, estimates, catalogue, as_of, hourly),
        }
        for name, frame in frames.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create or replace table intermediate.strategy_{name} as select * from frame")
            con.unregister("frame")
    for name, frame in frames.items():
        yield MaterializeResult(asset_key=AssetKey(["estimates", name]), metadata={"rows": frame.height})
    context.log.info(f"{progress.height} objectives, {frames['portfolio_priorities'].height} proposals")
