"""Effects: estimate every live initiative's effect on its metrics from the metric series."""

import polars as pl
from dagster import AssetExecutionContext, Definitions

from pipelines.runtime.incremental import kept_results, stored_table
from pipelines.runtime.resources import RunResource
from pipelines.runtime.steps import Inputs, Outputs, python_step
from roi_ledger.contract import DATASETS
from roi_ledger.effects import estimate_effects
from roi_ledger.effects.registry import methods_frame
from roi_ledger.effects.series import counterfactual_series
from roi_ledger.effects.twins import donor_weights
from roi_ledger.incremental import effect_fingerprints, series_digests

EFFECT_FINGERPRINTS = "effect_fingerprints"
SERIES = "marts.metric_series"
# What the estimates are fingerprinted on, of the metric series (roi_ledger.incremental).
SERIES_COLUMNS = ("unit_id", "metric", "period", "period_start", "period_end", "value", "volume")


@python_step(
    group="effects",
    reads=[SERIES],
    writes=["initiative_effects", "estimation_methods", "counterfactual_series", "donor_weights", EFFECT_FINGERPRINTS],
    # The staging models are listed so that a failing critical input-quality check on any of them
    # (docs/quality.md) holds back the estimates and everything after them.
    after=["raw.register_initiatives", *[f"staging.stg_{name}" for name in DATASETS]],
    internal={
        EFFECT_FINGERPRINTS: (
            "Per measured initiative: the fingerprint of everything its estimates were computed from, and the "
            "run that computed them; a run whose fingerprint is the same keeps those estimates "
            "(roi_ledger.incremental)."
        )
    },
)
def effect_estimates(context: AssetExecutionContext, run: RunResource, inputs: Inputs) -> Outputs:
    """Estimate every effect with every method that applies (roi_ledger.effects). An initiative
    whose inputs are what the last published estimates were computed from keeps them
    (roi_ledger.incremental); the others are estimated again."""
    run_context, register = run.context, run.context.register
    series = inputs[SERIES]
    problems: list[str] = []
    traits = run_context.traits(set(series["metric"].unique().to_list()))
    with run.warehouse.connect() as con:
        digests = series_digests(con, SERIES, SERIES_COLUMNS, floats=("value", "volume"))
        kept = kept_results(
            con,
            EFFECT_FINGERPRINTS,
            effect_fingerprints(register, series=digests, traits=traits),
            run_id=context.run_id,
        )
        fresh = estimate_effects(register, series, problems, traits, only=set(kept.changed))
        estimates = kept.merged(fresh, last=stored_table(con, "initiative_effects"))
        fresh_pictures = counterfactual_series(register, series, fresh, traits)
        pictures = kept.merged(fresh_pictures, last=stored_table(con, "counterfactual_series"))
        twins = kept.merged(donor_weights(register, series, fresh, traits), last=stored_table(con, "donor_weights"))
    methods = methods_frame()
    estimated = pl.DataFrame({"initiative_id": kept.changed}, schema={"initiative_id": pl.String})
    context.log.info(
        f"effects of {len(kept.changed)} initiatives estimated; {len(kept.kept)} kept from the last run "
        "(their inputs are unchanged)"
    )
    for problem in problems:
        context.log.warning(problem)
    primary = estimates.filter(estimates["is_primary"])
    context.log.info(f"{estimates.height} estimates, {primary.height} primary, at {run_context.confidence_level:.0%}")
    return Outputs(
        {
            "initiative_effects": estimates,
            "estimation_methods": methods,
            "counterfactual_series": pictures,
            "donor_weights": twins,
            EFFECT_FINGERPRINTS: kept.table(estimated),
        },
        metadata={
            "initiative_effects": {
                "estimates": estimates.height,
                "primary": primary.height,
                "estimator_failures": len(problems),
            },
            "estimation_methods": {"methods": methods.height},
            EFFECT_FINGERPRINTS: {"initiatives_estimated": len(kept.changed), "initiatives_kept": len(kept.kept)},
        },
    )


defs = Definitions(assets=[effect_estimates])
