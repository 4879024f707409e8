"""Quality: the Great Expectations suites in ``expectations/`` as Dagster asset checks.

Each raw table (``raw/<dataset>``) and staging model (``staging/stg_<dataset>``) gets up to two
checks, so the UI stays readable and each can carry its own Dagster semantics:

- ``quality_critical`` — blocking: when one of the suite's critical expectations fails, it
  fails with severity ERROR and Dagster does not run the assets downstream of the checked one;
- ``quality_warnings`` — severity WARN, never blocks: the run goes on and the owner sees it.

The failing expectations' one-line messages are in the check's description, metadata and the
run log. Validation runs in DuckDB (GX SQL datasource) on the run's build file, then closes
it. See docs/quality.md.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Definitions,
    MetadataValue,
    multi_asset_check,
)

from connectors.sources import FilesSource, source_files
from pipelines.runtime.resources import RunResource
from roi_ledger.contract import ContractError
from roi_ledger.quality import (
    ExpectationResult,
    Status,
    Suite,
    SuiteResult,
    load_suites,
    validate_suites,
)
from roi_ledger.quality.messages import requirement, subject

CRITICAL_CHECK = "quality_critical"
WARNING_CHECK = "quality_warnings"
# How many failing messages a check's description lists (all are in its metadata).
DESCRIPTION_MESSAGES = 3

SUITES = load_suites()


def suite_asset_key(suite: Suite) -> AssetKey:
    return AssetKey([suite.schema_name, suite.table_name])


def _spec_description(suite: Suite, critical: bool) -> str:
    specs = suite.critical if critical else suite.warnings
    effect = "a failure blocks the assets downstream" if critical else "a failure warns, never blocks"
    lines = [
        f"{len(specs)} {'critical' if critical else 'warning'} expectations on {suite.table} "
        f"(expectations/{suite.name}.yml; {effect}):"
    ]
    lines += [f"- {subject(suite.table, s)}: {requirement(s)}" for s in specs]
    if any("freshness_days" in requirement(s) for s in specs):
        lines.append(f"(freshness_days: {suite.freshness_days})")
    return "\n".join(lines)


def quality_check_specs(suites: list[Suite]) -> list[AssetCheckSpec]:
    specs = []
    for suite in suites:
        if suite.critical:
            specs.append(
                AssetCheckSpec(
                    CRITICAL_CHECK,
                    asset=suite_asset_key(suite),
                    blocking=True,
                    description=_spec_description(suite, critical=True),
                )
            )
        if suite.warnings:
            specs.append(
                AssetCheckSpec(
                    WARNING_CHECK,
                    asset=suite_asset_key(suite),
                    description=_spec_description(suite, critical=False),
                )
            )
    return specs


def datasets_with_files(run: RunResource) -> set[str]:
    """The datasets that have a source with data (empty when the sources cannot be read)."""
    try:
        return {
            s.dataset
            for s in run.sources.values()
            if not isinstance(s, FilesSource) or source_files(run.context.data_dir, s)
        }
    except ContractError:
        return set()


def check_result(suite: Suite, suite_result: SuiteResult, *, critical: bool) -> AssetCheckResult:
    """One Dagster check result from a suite's critical (or warning) expectations."""
    results = suite_result.of(critical=critical)
    failed = [r for r in results if r.success is False]
    evaluated = [r for r in results if r.status is not Status.NOT_APPLICABLE]
    if failed:
        description = "; ".join(r.message for r in failed[:DESCRIPTION_MESSAGES])
        if len(failed) > DESCRIPTION_MESSAGES:
            description += f"; and {len(failed) - DESCRIPTION_MESSAGES} more (see metadata)"
    elif not evaluated:
        description = results[0].message if results else f"{suite.table}: nothing to check"
    else:
        description = f"{suite.table}: all {len(evaluated)} {'critical' if critical else 'warning'} expectations met"
    return AssetCheckResult(
        asset_key=suite_asset_key(suite),
        check_name=CRITICAL_CHECK if critical else WARNING_CHECK,
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if critical else AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "table": suite.table,
            "rows": suite_result.rows,
            "suite": f"expectations/{suite.name}.yml",
            "evaluated": len(evaluated),
            "failed": len(failed),
            "not_applicable": not evaluated,
            "failures": MetadataValue.md("\n".join(f"- {r.message}" for r in failed) or "none"),
            "expectations": MetadataValue.md(_results_table(results)),
        },
    )


def _results_table(results: tuple[ExpectationResult, ...]) -> str:
    rows = ["| status | expectation | column(s) | unexpected | message |", "| --- | --- | --- | --- | --- |"]
    for r in results:
        message = r.message.replace("|", "\\|")
        unexpected = "" if r.unexpected_count is None else str(r.unexpected_count)
        rows.append(f"| {r.status.value} | {r.expectation} | {', '.join(r.columns)} | {unexpected} | {message} |")
    return "\n".join(rows)


def run_quality_checks(
    context: AssetCheckExecutionContext, run: RunResource, suites: list[Suite]
) -> Iterator[AssetCheckResult]:
    selected: set[AssetCheckKey] = set(context.selected_asset_check_keys)
    chosen = [s for s in suites if {key.asset_key for key in selected} & {suite_asset_key(s)}]
    if not chosen:
        return
    results = validate_suites(
        run.warehouse.build_file,
        chosen,
        as_of=run.context.as_of,
        datasets_with_files=datasets_with_files(run),
    )
    for suite, suite_result in zip(chosen, results, strict=True):
        for critical in (True, False):
            key = AssetCheckKey(suite_asset_key(suite), CRITICAL_CHECK if critical else WARNING_CHECK)
            if key not in selected:
                continue
            for failure in suite_result.failed(critical=critical):
                (context.log.error if critical else context.log.warning)(failure.message)
            yield check_result(suite, suite_result, critical=critical)


def quality_checks(layer: str):
    """The asset checks of every suite of one layer (``raw`` or ``staging``), run in one step."""
    suites = [s for s in SUITES if s.layer == layer]

    @multi_asset_check(
        specs=quality_check_specs(suites),
        name=f"{layer}_quality_checks",
        can_subset=True,
        description=f"Great Expectations suites on the {layer} tables (expectations/{layer}_*.yml).",
    )
    def _quality_checks(context: AssetCheckExecutionContext, run: RunResource):
        yield from run_quality_checks(context, run, suites)

    return _quality_checks


raw_quality_checks = quality_checks("raw")
staging_quality_checks = quality_checks("staging")

defs = Definitions(asset_checks=[raw_quality_checks, staging_quality_checks])
