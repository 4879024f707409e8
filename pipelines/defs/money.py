"""Money: benefit, ROI, payback and NPV from the primary effects and the register's costs."""

from dagster import AssetExecutionContext, Definitions

from pipelines.runtime.resources import RunResource
from pipelines.runtime.steps import Inputs, Outputs, python_step
from pipelines.runtime.warehouse import UNIT_HOURLY_COST, unit_hourly_costs
from roi_ledger.money.ledger import compute_money
from roi_ledger.oversight.business_case import as_registered

EFFECTS, GRADES, SERIES = "python.initiative_effects", "python.claim_reliability", "marts.metric_series"
CASES = "python.business_cases"


@python_step(
    group="money",
    reads=[EFFECTS, GRADES, SERIES, UNIT_HOURLY_COST, CASES],
    writes=["initiative_roi", "initiative_roi_periods", "initiative_metric_money"],
)
def money(context: AssetExecutionContext, run: RunResource, inputs: Inputs) -> Outputs:
    """Turn the primary effects into money and set them against the costs (roi_ledger.money)."""
    run_context = run.context
    series = inputs[SERIES]
    frames = compute_money(
        # Realisation is judged against the business cases as registered (docs/oversight.md).
        as_registered(run_context.register, inputs[CASES]),
        series,
        inputs[EFFECTS],
        inputs[GRADES],
        catalogue=list(run_context.catalogue),
        traits=run_context.traits(set(series["metric"].unique().to_list())),
        as_of=run_context.as_of,
        hourly_cost_by_unit=unit_hourly_costs(inputs[UNIT_HOURLY_COST]),
    )
    context.log.info(f"money for {frames['initiative_roi'].height} initiatives")
    return Outputs(frames)


defs = Definitions(assets=[money])
