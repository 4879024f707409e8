"""Effects: estimate every live initiative's effect on its metrics from the metric series."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from pipelines.resources import RoiSettings
from roi_ledger.contract import DATASETS
from roi_ledger.catalogue import load_catalogue, metric_traits
from roi_ledger.effects import estimate_effects

EFFECTS_TABLE = "intermediate.effect_estimates"


@asset(
    key=["estimates", "effect_estimates"],
    group_name="effects",
    # The staging models are listed so that a failing critical input-quality check on any of
    # them (docs/quality.md) holds back the estimates and everything after them.
    deps=[
        AssetKey(["marts", "metric_series"]),
        AssetKey(["raw", "register_initiatives"]),
        *[AssetKey(["staging", f"stg_{name}"]) for name in DATASETS],
    ],
    description="Every applicable method's estimate per initiative x metric (published as marts.initiative_effects).",
)
def effect_estimates(context: AssetExecutionContext, settings: RoiSettings) -> MaterializeResult:
    register = settings.register()
    with settings.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        problems: list[str] = []
        catalogue = load_catalogue(register.catalogue, source=str(settings.config))
        traits = metric_traits(catalogue, set(series["metric"].unique().to_list()))
        estimates = estimate_effects(register, series, problems, traits)
        for problem in problems:
            context.log.warning(problem)
        con.register("estimates", estimates.to_arrow())
        con.execute("create schema if not exists intermediate")
        con.execute(f"create or replace table {EFFECTS_TABLE} as select * from estimates")
        con.unregister("estimates")
    primary = estimates.filter(estimates["is_primary"])
    context.log.info(f"{estimates.height} estimates, {primary.height} primary")
    return MaterializeResult(
        metadata={"estimates": estimates.height, "primary": primary.height, "estimator_failures": len(problems)}
    )
