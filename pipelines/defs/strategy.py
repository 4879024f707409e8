"""Strategy: the objectives scorecard, alignment, portfolio priorities and rollout phases."""

from dagster import AssetExecutionContext, Definitions

from pipelines.runtime.resources import RunResource
from pipelines.runtime.steps import Inputs, Outputs, python_step
from pipelines.runtime.warehouse import UNIT_HOURLY_COST, unit_hourly_costs
from roi_ledger.strategy.measurement_plan import measurement_plans
from roi_ledger.strategy.objectives import objective_progress
from roi_ledger.strategy.portfolio import initiative_alignment, portfolio_priorities
from roi_ledger.strategy.rollout import rollout_phases

ROI, EFFECTS, SERIES = "python.initiative_roi", "python.initiative_effects", "marts.metric_series"


@python_step(
    group="strategy",
    reads=[ROI, EFFECTS, SERIES, UNIT_HOURLY_COST],
    writes=[
        "objective_progress",
        "objective_contributions",
        "initiative_alignment",
        "portfolio_priorities",
        "rollout_phases",
        "measurement_plans",
    ],
)
def strategy(context: AssetExecutionContext, run: RunResource, inputs: Inputs) -> Outputs:
    """Judge objectives, alignment and proposals against what was measured (roi_ledger.strategy)."""
    run_context = run.context
    register, catalogue, as_of = run_context.register, list(run_context.catalogue), run_context.as_of
    series, estimates = inputs[SERIES], inputs[EFFECTS]
    progress, contributions = objective_progress(register, series, estimates, catalogue, as_of)
    costs = unit_hourly_costs(inputs[UNIT_HOURLY_COST])
    frames = {
        "objective_progress": progress,
        "objective_contributions": contributions,
        "initiative_alignment": initiative_alignment(register, estimates, set(series["metric"].unique().to_list())),
        "portfolio_priorities": portfolio_priorities(register, inputs[ROI], catalogue),
        "rollout_phases": rollout_phases(register, series, estimates, catalogue, as_of, costs),
        "measurement_plans": measurement_plans(register, series, as_of),
    }
    context.log.info(f"{progress.height} objectives, {frames['portfolio_priorities'].height} proposals")
    return Outputs(frames)


defs = Definitions(assets=[strategy])
