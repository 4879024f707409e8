"""Effects: estimate every live initiative's effect on its metrics from the metric series."""

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Definitions,
    MaterializeResult,
    multi_asset,
)

from pipelines.incremental import kept_results, stored_table
from pipelines.resources import RunResource
from pipelines.warehouse import INTERMEDIATE, replace_table
from roi_ledger.contract import DATASETS
from roi_ledger.effects import estimate_effects
from roi_ledger.effects.registry import methods_frame
from roi_ledger.effects.series import counterfactual_series
from roi_ledger.incremental import effect_fingerprints, series_digests

EFFECT_TABLES = {
    "initiative_effects": "Every applicable method's estimate per initiative x metric (published as marts.initiative_effects).",
    "estimation_methods": "The registered estimators, most preferred first (published as marts.estimation_methods).",
    "counterfactual_series": "Each primary estimate's treated, comparison and counterfactual series (published as marts.counterfactual_series).",
    "effect_fingerprints": (
        "Per measured initiative: the fingerprint of everything its estimates were computed from, and the run that "
        "computed them; a run whose fingerprint is the same keeps those estimates (roi_ledger.incremental)."
    ),
}
EFFECT_FINGERPRINTS = "effect_fingerprints"
# What the estimates are fingerprinted on, of the metric series (roi_ledger.incremental).
SERIES_COLUMNS = ("unit_id", "metric", "period", "period_start", "period_end", "value", "volume")


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
    """Estimate every effect with every method that applies (roi_ledger.effects). An initiative
    whose inputs are what the last published estimates were computed from keeps them
    (roi_ledger.incremental); the others are estimated again."""
    run_context = run.context
    register = run_context.register
    problems: list[str] = []
    with run.warehouse.connect() as con:
        series = con.sql("select * from marts.metric_series").pl()
        traits = run_context.traits(set(series["metric"].unique().to_list()))
        digests = series_digests(con, "marts.metric_series", SERIES_COLUMNS, floats=("value", "volume"))
        fingerprints = effect_fingerprints(register, series=digests, traits=traits)
        kept = kept_results(con, EFFECT_FINGERPRINTS, fingerprints, run_id=context.run_id)
        fresh = estimate_effects(register, series, problems, traits, only=set(kept.changed))
        estimates = kept.merged(fresh, last=stored_table(con, "initiative_effects"))
        fresh_pictures = counterfactual_series(register, series, fresh, traits)
        pictures = kept.merged(fresh_pictures, last=stored_table(con, "counterfactual_series"))
        methods = methods_frame()
        estimated = pl.DataFrame({"initiative_id": kept.changed}, schema={"initiative_id": pl.String})
        tables = {
            "initiative_effects": estimates,
            "estimation_methods": methods,
            "counterfactual_series": pictures,
            EFFECT_FINGERPRINTS: kept.table(estimated),
        }
        for name, frame in tables.items():
            replace_table(con, f"{INTERMEDIATE}.{name}", frame)
    context.log.info(
        f"effects of {len(kept.changed)} initiatives estimated; {len(kept.kept)} kept from the last run "
        "(their inputs are unchanged)"
    )
    for problem in problems:
        context.log.warning(problem)
    primary = estimates.filter(estimates["is_primary"])
    context.log.info(f"{estimates.height} estimates, {primary.height} primary, at {run_context.confidence_level:.0%}")
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "initiative_effects"]),
        metadata={"estimates": estimates.height, "primary": primary.height, "estimator_failures": len(problems)},
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "estimation_methods"]), metadata={"methods": methods.height}
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, "counterfactual_series"]), metadata={"rows": pictures.height}
    )
    yield MaterializeResult(
        asset_key=AssetKey([INTERMEDIATE, EFFECT_FINGERPRINTS]),
        metadata={"initiatives_estimated": len(kept.changed), "initiatives_kept": len(kept.kept)},
    )


defs = Definitions(assets=[effect_estimates])
