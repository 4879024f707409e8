"""``roi run``: run the nightly job once, in this process, and print the morning summary.

The command resolves the run's context once — the register, the catalogue and the sources file
parsed, the as-of date fixed (without one: the last complete day in the business's timezone) —
checks the salt, and hands that context to the nightly job (``RunResource.resolved``). A run whose
inputs are those of the last published run leaves that warehouse as it is and says so
(``pipelines.runtime.incremental``; ``--force`` builds anyway).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK, EXIT_RUN_FAILED
from pipelines.commands.printing import print_results, print_top_rejections
from pipelines.commands.validate import check_salt, checked_settings, resolve_inputs
from pipelines.runtime.settings import Settings

if TYPE_CHECKING:
    from pipelines.runtime.warehouse import Warehouse
    from roi_ledger.run_context import RunContext

# What a run's steps raise when its inputs cannot be used (exit 2; nothing is published): the data
# and the register disagree, the salt is not the warehouse's, or another run took the lock first.
DATA_ERRORS = ("ContractError", "RegisterError", "CatalogueError", "SaltError", "WarehouseBusy")


def command(args: argparse.Namespace) -> int:
    return run(
        Path(args.data), Path(args.config), Path(args.warehouse), args.as_of, partition=args.partition, force=args.force
    )


def run(
    data: Path, config: Path, warehouse: Path, as_of: date | None, partition: str | None = None, *, force: bool = False
) -> int:
    """Check the settings, the register, the sources file and the salt, then run the nightly job
    in this process (its first step checks the data against the register before anything lands:
    exit 2 when they disagree) and print the summary in words. With ``partition`` (a business of
    ``ROI_BUSINESSES``) it runs that partition of ``nightly_by_business``. Unless ``force``, a
    run whose inputs are the last published run's (``pipelines.runtime.incremental``) does nothing."""
    prepared = prepare(data, config, as_of)
    if isinstance(prepared, int):
        return prepared
    context, settings = prepared
    warnings.filterwarnings("ignore")
    from pipelines.runtime.warehouse import Warehouse

    store = Warehouse(warehouse.expanduser().resolve())
    store.path.parent.mkdir(parents=True, exist_ok=True)
    busy = store.run_lock.live_holder()
    if busy is not None:  # say so before touching the running run's log
        print(f"run refused: {store.run_lock.busy_message(busy)}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    if settings.salt and not same_salt(store, settings.salt):
        return EXIT_INVALID_INPUT  # said, and the owner told: nothing was written
    if not force and nothing_changed(store, context, settings.salt, warehouse):
        return EXIT_OK
    # The run fixes its own as-of date when none is given: the last complete day before it starts.
    print(f"running the nightly job (as of {as_of or 'yesterday'}); log: {store.run_log}")
    result = execute(store, context, settings.salt, partition)
    if not result.success:
        return report_failure(store, result)
    print_results(warehouse.resolve())
    return EXIT_OK


def prepare(data: Path, config: Path, as_of: date | None) -> tuple[RunContext, Settings] | int:
    """The run's context and settings, or the exit code once it has said what cannot be used."""
    from roi_ledger.inputs import InputError

    settings = checked_settings()
    if settings is None:
        return EXIT_INVALID_INPUT
    try:
        context = resolve_inputs(data, config, as_of)
    except InputError as exc:
        print(f"invalid input:\n{exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    # the run's first step reads the data itself: here only what its sources land is known
    code = check_salt(data, {source.dataset for source in context.sources.values()}, settings.salt)
    return (context, settings) if code == EXIT_OK else code


def same_salt(store: Warehouse, salt: str) -> bool:
    """Whether ``salt`` is the one the published warehouse's identifiers were hashed with (or there is
    none yet); if not, it says so — before Dagster starts — and the run stops (the run's first step
    checks it again under the lock: ``pipelines.defs.ingest.remember_salt``)."""
    import duckdb

    from roi_ledger.privacy import SaltError, check_same_salt

    if not store.path.is_file():
        return True
    with duckdb.connect(str(store.path), read_only=True) as con:
        known = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'salt_fingerprint'"
        ).fetchone()[0]
        recorded = known and con.execute("select fingerprint from raw.salt_fingerprint order by recorded_at").fetchone()
    try:
        check_same_salt(salt, recorded[0] if recorded else None, str(store.path))
    except SaltError as exc:
        print(f"invalid input:\n{exc}", file=sys.stderr)
        # a night stopped by the wrong salt is a failed night to whoever is told of failed nights
        from pipelines.runtime.notify import Failure, notify_failure

        sent = notify_failure(Failure(str(exc), str(store.path), "not started", store.published_run()))
        if sent:
            print(f"told by {' and '.join(sent)}", file=sys.stderr)
        return False
    return True


def nothing_changed(store: Warehouse, context: RunContext, salt: str | None, warehouse: Path) -> bool:
    """Whether the last published run had these very inputs; if so it says so and prints its results."""
    from pipelines.runtime.incremental import last_run_with_same_inputs

    same = last_run_with_same_inputs(store, context, salt)
    if same is None:
        return False
    print(
        f"nothing changed since run {same[0]} (as of {same[1]}): the same code, register, data and date; "
        f"the published warehouse {warehouse} stands (--force builds it again)"
    )
    print_results(warehouse.resolve())
    return True


def execute(store: Warehouse, context: RunContext, salt: str | None, partition: str | None):
    """The nightly job (or the business's partition of it) on ``context``, in this process; its result."""
    # Imported only now: the job's definitions import Dagster, dbt and Great Expectations (seconds).
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.runtime.resources import RESOURCE_KEY, RunResource

    # dbt's and Dagster's output go to the log file; the terminal gets the outcome.
    with store.run_log.open("w") as log, redirect_stdout(log), redirect_stderr(log):
        return defs.resolve_job_def("nightly_by_business" if partition else "nightly").execute_in_process(
            instance=DagsterInstance.ephemeral(),
            partition_key=partition,
            raise_on_error=False,
            resources={RESOURCE_KEY: RunResource.resolved(context, store, salt)},
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}, "progress": {}}},
        )


def report_failure(store: Warehouse, result) -> int:
    """Say why the run failed in words for people (``pipelines.runtime.failure``), remove what
    it wrote (a failed run publishes nothing and leaves only its log), say what is published,
    release its lock and send the notice."""
    from pipelines.runtime.failure import step_failures
    from pipelines.runtime.notify import Failure, notify_failure
    from pipelines.runtime.progress import step_words

    failures = step_failures(result.all_events)
    # the register, a file or a source that cannot be used
    invalid_input = any(failure.error_class in DATA_ERRORS for failure in failures)
    if invalid_input:
        print("invalid input:", file=sys.stderr)
    for failure in failures:
        if failure.text is not None:
            print(failure.line, file=sys.stderr)
    print_top_rejections(store.build_file, result.run_id)
    store.remove_unpublished()  # while the lock is held: no other run can be starting its build
    store.run_lock.release(result.run_id)
    published = store.published_run()
    internal = [f'"{step_words(failure.step)}"' for failure in failures if failure.text is None]
    where = f" in step {', '.join(internal)} on an internal error (not your data)" if internal else ""
    print(f"run failed{where}: {published}; the full log, with every error, is {store.run_log}", file=sys.stderr)
    reasons = "; ".join(failure.line for failure in failures) or "the run stopped"
    sent = notify_failure(Failure(reasons, str(store.path), result.run_id, published))
    if sent:
        print(f"told by {' and '.join(sent)}", file=sys.stderr)
    return EXIT_INVALID_INPUT if invalid_input else EXIT_RUN_FAILED
