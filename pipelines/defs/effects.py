"""Effects: estimate every live initiative's effect on its metrics from the metric series."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Definitions,
    MaterializeResult,
    multi_asset,
)

from pipelines.resources import RunResource
from pipelines.warehouse import INTERMEDIATE, replace_table
from roi_ledger.contract import DATASETS
from roi_ledger.effects import estimate_effects
from roi_ledger.effects.registry import methods_frame
from roi_ledger.effects.series import counterfactual_series

EFFECT_TABLES = {
    "initiative_effects": "Every applicable method's estimate per initiative x metric (published as marts.initiative_effects).",
    "estimation_methods": "The registered estimators, most preferred first (published as marts.estimation_methods).",
    "counterfactual_series": "Each primary estimate's treated, comparison and counterfactual series (published as marts.counterfactual_series).",
}


@multi_asset(
    specs=[
        AssetSpec(
            [INTERMEDIATE, table],
            group_name="effects",
            description=description,
            # The staging models are listed so that a failing critical input-quality check on any
            # of them (docs/quality.md) holds back the estimates and everything after them.
            deps=[
                AssetKey(["marts", "metric_series"]),
                AssetKey(["raw", "register_initiatives"]),
                *[AssetKey(["staging", f"stg_{name}"]) for name in DATASETS],
            ],
        )
        for table, description in EFFECT_TABLES.items()
    ],
)
def effect_estimates(context: AssetExecutionContext, run: RunResource):
    """Estimate every effect with every method that applies (roi_ledger.effects)."""
    run_context = run.context
    problems: list[str] = []
    with run.warehouse.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        traits = run_context.traits(set(series["metric"].unique().to_list()))
        estimates = estimate_effects(run_context.register, series, problems, traits)
        methods = methods_frame()
        replace_table(con, f"{INTERMEDIATE}.initiative_effects", estimates)
        replace_table(con, f"{INTERMEDIATE}.estimation_methods", methods)
        pictures = counterfactual_series(run_context.register, series, estimates, traits)
        replace_table(con, f"{INTERMEDIATE}.counterfactual_series", pictures)
    for problem in problems:
        context.log.warning(problem)
    primary = estimates.filter(estimates["is_primary"])
    context.log.info(f"{estimates.height} estimates, {primary.height} primary, at {run_context.confidence_level:.0%}")
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "initiative_effects"]),
        metadata={"estimates": estimates.height, "primary": primary.height, "estimator_failures": len(problems)},
    )
    yield MaterializeResult(asset_key=AssetKey([INTERMEDIATE, "estimation_methods"]), metadata={"methods": methods.height})
    yield MaterializeResult(asset_key=AssetKey([INTERMEDIATE, "counterfactual_series"]), metadata={"rows": pictures.height})


defs = Definitions(assets=[effect_estimates])
