"""Strategy: the objectives scorecard, alignment, portfolio priorities and rollout phases."""

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
from roi_ledger.strategy.measurement_plan import measurement_plans
from roi_ledger.strategy.objectives import objective_progress
from roi_ledger.strategy.portfolio import initiative_alignment, portfolio_priorities
from roi_ledger.strategy.rollout import rollout_phases

STRATEGY_TABLES = {
    "objective_progress": "Per objective: baseline, current value, target, status (published as marts.objective_progress).",
    "objective_contributions": "Each initiative's measured share of its objective's change (marts.objective_contributions).",
    "initiative_alignment": "Whether each initiative serves an objective it measurably moves (marts.initiative_alignment).",
    "portfolio_priorities": "Proposals ranked by benefit discounted by the track record (marts.portfolio_priorities).",
    "rollout_phases": "Each phase of a phased rollout, with projected money (marts.rollout_phases).",
    "measurement_plans": "Per proposed or approved initiative x metric: units to hold back, weeks needed, MDE (marts.measurement_plans).",
}


@multi_asset(
    specs=[
        AssetSpec(
            [INTERMEDIATE, table],
            group_name="strategy",
            description=description,
            deps=[
                AssetKey([INTERMEDIATE, "initiative_roi"]),
                AssetKey([INTERMEDIATE, "initiative_effects"]),
                AssetKey(["marts", "metric_series"]),
                AssetKey(["intermediate", "int_unit_hourly_cost"]),
            ],
        )
        for table, description in STRATEGY_TABLES.items()
    ],
)
def strategy(context: AssetExecutionContext, run: RunResource):
    """Judge objectives, alignment and proposals against what was measured (roi_ledger.strategy)."""
    run_context = run.context
    register, catalogue, as_of = run_context.register, list(run_context.catalogue), run_context.as_of
    with run.warehouse.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        estimates = con.sql(f"select * from {INTERMEDIATE}.initiative_effects").pl()
        roi = con.sql(f"select * from {INTERMEDIATE}.initiative_roi").pl()
        progress, contributions = objective_progress(register, series, estimates, catalogue, as_of)
        frames = {
            "objective_progress": progress,
            "objective_contributions": contributions,
            "initiative_alignment": initiative_alignment(register, estimates, set(series["metric"].unique().to_list())),
            "portfolio_priorities": portfolio_priorities(register, roi, catalogue),
            "rollout_phases": rollout_phases(register, series, estimates, catalogue, as_of, unit_hourly_costs(con)),
            "measurement_plans": measurement_plans(register, series, as_of),
        }
        for name, frame in frames.items():
            replace_table(con, f"{INTERMEDIATE}.{name}", frame)
    for name, frame in frames.items():
        yield MaterializeResult(asset_key=AssetKey([INTERMEDIATE, name]), metadata={"rows": frame.height})
    context.log.info(f"{progress.height} objectives, {frames['portfolio_priorities'].height} proposals")


defs = Definitions(assets=[strategy])
