"""Effects: estimate every live initiative's effect on its metrics from the metric series."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Definitions,
    MaterializeResult,
    multi_asset,
)

from pipelines.memo import fingerprint_frame, in_register_order, kept_rows, unchanged_since_last_run
from pipelines.resources import RunResource
from pipelines.steps import Inputs, step_specs
from pipelines.warehouse import INTERMEDIATE, replace_table
from roi_ledger.contract import DATASETS
from roi_ledger.effects import estimate_effects
from roi_ledger.effects.registry import methods_frame
from roi_ledger.effects.series import counterfactual_series
from roi_ledger.fingerprint import effect_fingerprints, series_digests

EFFECT_FINGERPRINTS = "effect_fingerprints"
SERIES = "marts.metric_series"
READS = [SERIES]
# The staging models are listed so that a failing critical input-quality check on any of them
# (docs/quality.md) holds back the estimates and everything after them.
AFTER = ["raw.register_initiatives", *[f"staging.stg_{name}" for name in DATASETS]]
# What the estimates are fingerprinted on, of the metric series (roi_ledger.fingerprint).
SERIES_COLUMNS = ("unit_id", "metric", "period", "period_start", "period_end", "value", "volume")


@multi_asset(
    specs=step_specs(
        "effects",
        ["initiative_effects", "estimation_methods", "counterfactual_series", EFFECT_FINGERPRINTS],
        READS,
        AFTER,
        internal={
            EFFECT_FINGERPRINTS: (
                "Per measured initiative: the fingerprint of everything its estimates were computed from, and the "
                "run that computed them; a run whose fingerprint is the same keeps those estimates "
                "(roi_ledger.fingerprint)."
            )
        },
    ),
)
def effect_estimates(context: AssetExecutionContext, run: RunResource):
    """Estimate every effect with every method that applies (roi_ledger.effects). An initiative
    whose inputs are what the last published estimates were computed from keeps them
    (roi_ledger.fingerprint, pipelines.memo); the others are estimated again."""
    run_context = run.context
    register = run_context.register
    problems: list[str] = []
    inputs = Inputs(run.warehouse, READS)
    with run.warehouse.connect() as con:
        series = inputs[SERIES]
        traits = run_context.traits(set(series["metric"].unique().to_list()))
        fingerprints = effect_fingerprints(
            register,
            series=series_digests(con, SERIES, SERIES_COLUMNS, floats=("value", "volume")),
            traits=traits,
        )
        kept = unchanged_since_last_run(con, EFFECT_FINGERPRINTS, fingerprints)
        changed = set(fingerprints) - set(kept)
        fresh = estimate_effects(register, series, problems, traits, only=changed)
        estimates = in_register_order(register, kept_rows(con, "initiative_effects", kept, like=fresh), fresh)
        fresh_pictures = counterfactual_series(register, series, fresh, traits)
        pictures = in_register_order(
            register, kept_rows(con, "counterfactual_series", kept, like=fresh_pictures), fresh_pictures
        )
        methods = methods_frame()
        replace_table(con, f"{INTERMEDIATE}.initiative_effects", estimates)
        replace_table(con, f"{INTERMEDIATE}.estimation_methods", methods)
        replace_table(con, f"{INTERMEDIATE}.counterfactual_series", pictures)
        replace_table(
            con, f"{INTERMEDIATE}.{EFFECT_FINGERPRINTS}", fingerprint_frame(fingerprints, kept, context.run_id)
        )
    context.log.info(
        f"effects of {len(changed)} initiatives estimated; {len(kept)} kept from the last run (their inputs are unchanged)"
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
        metadata={"initiatives_estimated": len(changed), "initiatives_kept": len(kept)},
    )


defs = Definitions(assets=[effect_estimates])
