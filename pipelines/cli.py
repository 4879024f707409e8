"""``roi``: run the nightly job, validate inputs, or run the built-in demo business.

    roi run --data DIR --config FILE --warehouse PATH [--as-of DATE] [--force]
    roi validate --data DIR --config FILE
    roi demo [--out DIR] [--seed N] [--scale X]

Arguments default to ``ROI_DATA_DIR``, ``ROI_CONFIG``, ``ROI_WAREHOUSE`` and ``ROI_AS_OF``;
without an as-of date a run measures up to the last complete day in the business's timezone.
``roi run`` hands its arguments to the nightly job as run config (``pipelines.resources``).
A run whose inputs are those of the last published run leaves that warehouse as it is and says
so (``pipelines.incremental``; ``--force`` builds anyway).
Exit codes: 0 success (or nothing changed), 1 the run failed (the published warehouse is untouched), 2 the inputs
are invalid (nothing was written).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.businesses import Business

EXIT_OK, EXIT_RUN_FAILED, EXIT_INVALID_INPUT = 0, 1, 2
# What the run's first step raises when the data and the register disagree (nothing has landed yet)
DATA_ERRORS = ("ContractError", "RegisterError", "CatalogueError")
DEMO_SALT = "roi-ledger-demo-salt-not-secret"
# The demo's default size: the one the end-to-end tests check the acceptance criteria on.
DEMO_SCALE = 0.3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roi", description="ROI Ledger: realised ROI of automation initiatives.")
    commands = parser.add_subparsers(dest="command", required=True)

    def inputs(command: argparse.ArgumentParser, warehouse: bool) -> None:
        command.add_argument("--data", default=os.environ.get("ROI_DATA_DIR"), help="data directory (ROI_DATA_DIR)")
        command.add_argument("--config", default=os.environ.get("ROI_CONFIG"), help="initiatives.yml (ROI_CONFIG)")
        if warehouse:
            command.add_argument(
                "--warehouse", default=os.environ.get("ROI_WAREHOUSE"), help="DuckDB file (ROI_WAREHOUSE)"
            )
            command.add_argument(
                "--as-of",
                type=date.fromisoformat,
                default=os.environ.get("ROI_AS_OF") or None,
                help="use data up to this day, YYYY-MM-DD (ROI_AS_OF; default: yesterday in the business's timezone)",
            )

    run_one = commands.add_parser("run", help="run the nightly job once, in this process")
    inputs(run_one, warehouse=True)
    run_one.add_argument(
        "--force", action="store_true", help="build even when nothing changed since the last published run"
    )
    run_one.add_argument(
        "--partition", default=None, help=argparse.SUPPRESS
    )  # a business of ROI_BUSINESSES (roi run-all)
    inputs(
        commands.add_parser("validate", help="check the register and the data files; writes nothing"), warehouse=False
    )
    run_all = commands.add_parser(
        "run-all", help="run the nightly job for every business of a businesses file, in parallel"
    )
    run_all.add_argument(
        "--businesses",
        default=os.environ.get("ROI_BUSINESSES"),
        help="businesses.yml (ROI_BUSINESSES; pipelines/businesses.py)",
    )
    run_all.add_argument(
        "--parallel", type=int, default=2, help="businesses run at once, each in its own process (default 2)"
    )
    run_all.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="as of this day for every business (default: each one's yesterday)",
    )
    forget = commands.add_parser(
        "forget", help="erase a customer's or an employee's rows from the warehouse (docs/privacy.md)"
    )
    forget.add_argument("--warehouse", default=os.environ.get("ROI_WAREHOUSE"), help="DuckDB file (ROI_WAREHOUSE)")
    forget.add_argument(
        "--customer", action="append", default=[], metavar="ID", help="a customer id as the data has it (repeatable)"
    )
    forget.add_argument(
        "--employee", action="append", default=[], metavar="ID", help="an employee id as the data has it (repeatable)"
    )
    explain = commands.add_parser("explain", help="trace every number of an initiative's claim to its inputs")
    explain.add_argument("initiative")
    explain.add_argument("metric", nargs="?", default=None)
    explain.add_argument("--warehouse", default=os.environ.get("ROI_WAREHOUSE"), help="DuckDB file (ROI_WAREHOUSE)")
    signoff = commands.add_parser("signoff", help="accept, reject or defer a published claim (docs/oversight.md)")
    signoff.add_argument("initiative", nargs="?", default=None)
    signoff.add_argument(
        "metric", nargs="?", default=None, help="the claim's metric (default: every metric of the initiative)"
    )
    signoff.add_argument("--decision", choices=["accept", "reject", "defer"])
    signoff.add_argument("--by", help="your name: recorded with the decision")
    signoff.add_argument("--comment", help="your reason (required to accept a claim graded below reliable)")
    signoff.add_argument(
        "--list", action="store_true", help="show every claim's latest decision and whether it changed since"
    )
    signoff.add_argument("--warehouse", default=os.environ.get("ROI_WAREHOUSE"), help="DuckDB file (ROI_WAREHOUSE)")
    demo = commands.add_parser("demo", help="generate the demo business and run the nightly job on it")
    demo.add_argument("--out", type=Path, default=Path("demo"), help="folder for the demo's data and warehouse")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--scale",
        type=float,
        default=DEMO_SCALE,
        help=f"volume of records (default {DEMO_SCALE}: about 70,000 orders over three years; the tests use the same)",
    )
    return parser


def _require(args: argparse.Namespace, *names: str) -> None:
    missing = [n for n in names if not getattr(args, n)]
    if missing:
        flags = ", ".join(f"--{n.replace('_', '-')}" for n in missing)
        sys.exit(f"roi {args.command}: missing {flags} (or the ROI_* environment variable)")


def validate(
    data: Path, config: Path, *, pull_sample: int | None = 200, report: bool = True, read_data: bool = True
) -> int:
    """Read every source as the run would — files in full, databases and APIs a sample of
    ``pull_sample`` records — and say what would load, what would be rejected and why, and which
    files no source reads. Writes nothing. Without ``read_data`` (``roi run``, whose first step
    reads the data itself) only the register, the sources file and the salt are checked."""
    from connectors.files import inventory
    from connectors.sources import ignored_files, load_sources
    from roi_ledger.contract import DataInventory
    from roi_ledger.inputs import InputError, check_inputs
    from roi_ledger.run_context import resolve_run_context

    try:
        context = resolve_run_context(config, data, as_of=None, started_at=datetime.now(UTC))
        sources = load_sources(context.data_dir)
        if read_data:
            found = inventory(context.data_dir, sources, pull_sample=pull_sample)
            check_inputs(context, found)
        else:
            found = DataInventory(pulled={s.dataset for s in sources.values()})
    except InputError as exc:
        print(f"invalid input:\n{exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    identifying = sorted({"orders", "hours"} & (set(found.files) | found.pulled))
    salt = os.environ.get("ROI_PSEUDONYM_SALT")
    if salt:
        from roi_ledger.privacy import SaltError, check_salt_strength

        try:
            check_salt_strength(salt)
        except SaltError as exc:
            print(f"invalid input:\n{exc}", file=sys.stderr)
            return EXIT_INVALID_INPUT
    if identifying and not salt:
        print(
            f"invalid input:\n{data}: {' and '.join(identifying)} carry customer or employee ids, which are "
            "hashed before they land: set ROI_PSEUDONYM_SALT to a long random secret (keep it stable)",
            file=sys.stderr,
        )
        return EXIT_INVALID_INPUT
    if not read_data:
        return EXIT_OK
    files = sum(len(paths) for paths in found.files.values())
    register = context.register
    print(
        f"ok: {config} ({len(register.initiatives)} initiatives, {len(register.objectives)} objectives); "
        f"{data}: {len(sources)} sources, {files} files in {len(found.files)} datasets, {len(found.units)} units"
    )
    if report:
        print_source_report(found, ignored_files(context.data_dir, sources), sampled=pull_sample)
    return EXIT_OK


def print_source_report(found, ignored, *, sampled: int | None) -> None:
    """Per file (or pull): rows that would load and be rejected, the reasons with example rows."""
    reasons: dict[str, list[tuple]] = {}
    for _dataset, origin, reason, rows, examples in found.rejections:
        reasons.setdefault(origin, []).append((reason, rows, examples))
    for dataset, origin, loaded, rejected in found.loads:
        sample = " (a sample)" if origin not in {str(p) for ps in found.files.values() for p in ps} and sampled else ""
        print(
            f"  {origin} -> {dataset}{sample}: {loaded + rejected} rows, {loaded} would load, {rejected} would be rejected"
        )
        for reason, rows, examples in reasons.get(origin, [])[:8]:
            print(
                f"      {rows} x {reason} (rows {', '.join(map(str, examples))}{', ...' if rows > len(examples) else ''})"
            )
    for path, why in ignored:
        print(f"  ignored: {path}: {why}")


def run(
    data: Path, config: Path, warehouse: Path, as_of: date | None, partition: str | None = None, *, force: bool = False
) -> int:
    """Check the register, the sources file and the salt, then run the nightly job in this process
    (its first step checks the data against the register before anything lands: exit 2 when
    they disagree) and print the summary in words. With ``partition`` (a business of
    ``ROI_BUSINESSES``) it runs that partition of ``nightly_by_business``. Unless ``force``, a
    run whose inputs are the last published run's (``pipelines.incremental``) does nothing."""
    code = validate(data, config, read_data=False)
    if code != EXIT_OK:
        return code
    warnings.filterwarnings("ignore")
    from pipelines.warehouse import Warehouse, memory_limit, out_of_memory_hint

    try:
        memory_limit()
    except ValueError as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT

    store = Warehouse(warehouse.expanduser().resolve())
    store.path.parent.mkdir(parents=True, exist_ok=True)
    busy = store.run_lock.live_holder()
    if busy is not None:  # say so before touching the running run's log
        print(f"run refused: {store.run_lock.busy_message(busy)}", file=sys.stderr)
        return EXIT_RUN_FAILED
    if not force:
        from pipelines.incremental import last_run_with_same_inputs
        from pipelines.resources import SALT_VAR

        same = last_run_with_same_inputs(store, data, config, as_of, os.environ.get(SALT_VAR) or None)
        if same is not None:
            print(
                f"nothing changed since run {same[0]} (as of {same[1]}): the same code, register, data and date; "
                f"the published warehouse {warehouse} stands (--force builds it again)"
            )
            print_results(warehouse.resolve())
            return EXIT_OK
    # Imported only now: the job's definitions import Dagster, dbt and Great Expectations (seconds).
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.resources import run_config

    # The run fixes its own as-of date when none is given: the last complete day before it starts.
    print(f"running the nightly job (as of {as_of or 'yesterday'}); log: {store.run_log}")
    config_of_run = run_config(data_dir=data, config_path=config, warehouse=store.path, as_of=as_of)
    # dbt's and Dagster's output go to the log file; the terminal gets the outcome.
    with store.run_log.open("w") as log, redirect_stdout(log), redirect_stderr(log):
        result = defs.resolve_job_def("nightly_by_business" if partition else "nightly").execute_in_process(
            instance=DagsterInstance.ephemeral(),
            partition_key=partition,
            raise_on_error=False,
            run_config={**config_of_run, "loggers": {"console": {"config": {"log_level": "INFO"}}, "progress": {}}},
        )
    if not result.success:
        store.run_lock.release(result.run_id)  # a failed run does not publish, so release here
        reasons, invalid_input = [], False
        for event in result.all_events:
            if event.is_step_failure:
                error = event.step_failure_data.error
                while error is not None and error.cause is not None:
                    error = error.cause  # the error the step raised, not Dagster's wrapper
                # the register, a file or a source that cannot be used (the build file is discarded)
                invalid_input |= error is not None and error.cls_name in DATA_ERRORS
                reasons.append(f"step {event.step_key} failed: {error.message.strip() if error else ''}")
                print(("invalid input:\n" if invalid_input else "") + reasons[-1], file=sys.stderr)
                hint = out_of_memory_hint(error.message if error else "")
                if hint:
                    print(hint, file=sys.stderr)
        print_top_rejections(store.build_file, result.run_id)
        print(
            f"run failed (details in {store.run_log}); the published warehouse {warehouse} is unchanged",
            file=sys.stderr,
        )
        from pipelines.notify import Failure, notify_failure

        sent = notify_failure(Failure("; ".join(reasons) or "the run stopped", str(store.path), result.run_id))
        if sent:
            print(f"told by {' and '.join(sent)}", file=sys.stderr)
        return EXIT_INVALID_INPUT if invalid_input else EXIT_RUN_FAILED
    print_results(warehouse.resolve())
    return EXIT_OK


def run_business(businesses_file: Path, business: Business, as_of: date | None) -> tuple[int, float, str]:
    """One business of the file in a child process: ``roi run`` on its paths, as the partition
    of ``nightly_by_business`` it is. Returns the exit code, the seconds it took and what it
    printed."""
    from pipelines.businesses import BUSINESSES_VAR

    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "run",
        "--data",
        str(business.data_dir),
        "--config",
        str(business.config_path),
        "--warehouse",
        str(business.warehouse),
        "--partition",
        business.name,
    ] + (["--as-of", as_of.isoformat()] if as_of else [])
    started = time.monotonic()
    child = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, BUSINESSES_VAR: str(businesses_file)}
    )
    return child.returncode, time.monotonic() - started, child.stdout + child.stderr


def run_all(businesses_file: Path, parallel: int, as_of: date | None) -> int:
    """Every business of the file, ``parallel`` at a time, each in its own process: one that
    fails stops no other. Prints a line per business as it finishes and a summary."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from pipelines.businesses import BusinessesError, load_businesses

    businesses_file = businesses_file.expanduser().resolve()
    try:
        businesses = load_businesses(businesses_file)
    except BusinessesError as exc:
        print(f"roi run-all: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    print(
        f"running {len(businesses)} businesses, {parallel} at a time (each one's log beside its warehouse)", flush=True
    )
    failed: dict[str, str] = {}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:  # threads that each wait on a process
        futures = {pool.submit(run_business, businesses_file, b, as_of): b for b in businesses}
        for future in as_completed(futures):
            business = futures[future]
            code, seconds, output = future.result()
            if code == EXIT_OK:
                print(f"  done   {business.name} ({seconds:.0f} s): {business.warehouse}", flush=True)
            else:
                # roi run's first line that says why (exit 2 is invalid input, 1 a failed run)
                lines = [line.strip() for line in output.splitlines() if line.strip()]
                reason = next(
                    (line for line in lines if line.startswith(("step ", "run refused", "run failed"))),
                    lines[-1] if lines else "",
                )
                failed[business.name] = reason
                print(f"  FAILED {business.name} (exit {code}, {seconds:.0f} s): {reason}", flush=True)
    print(
        f"{len(businesses) - len(failed)} of {len(businesses)} businesses done in {time.monotonic() - started:.0f} s"
        + (f"; failed: {', '.join(sorted(failed))} (their published warehouses are unchanged)" if failed else "")
    )
    return EXIT_RUN_FAILED if failed else EXIT_OK


def print_top_rejections(build_file: Path, run_id: str, limit: int = 5) -> None:
    """The failed night's most frequent rejection reasons, from its unpublished build file (a
    failed check on the inputs is most often explained by them)."""
    import duckdb

    if not build_file.exists():
        return
    try:
        with duckdb.connect(str(build_file), read_only=True) as con:
            rows = con.execute(
                """
                with reasons as (
                    select dataset, unnest(string_split(reason, '; ')) as reason from raw.rejected_rows where _load_id = ?
                )
                select dataset, regexp_replace(reason, '"[^"]*"', '"…"') as reason, count(*) as n
                from reasons group by all order by n desc limit ?
                """,
                [run_id, limit],
            ).fetchall()
    except duckdb.Error:
        return  # the run failed before it landed anything
    if rows:
        print("rows rejected this run, most frequent reasons (all in raw.rejected_rows):", file=sys.stderr)
        for dataset, reason, n in rows:
            print(f"  {n} x {dataset}: {reason}", file=sys.stderr)


def print_results(warehouse: Path) -> None:
    """The morning summary in plain words (roi_ledger.report.summary), and how to query the rest."""
    import duckdb

    from roi_ledger.report.summary import paragraphs, portfolio_sentence

    with duckdb.connect(str(warehouse), read_only=True) as con:

        def table(name: str):
            return con.sql(f"select * from marts.{name}").pl()

        portfolio = table("portfolio_roi")
        found = paragraphs(
            table("initiative_roi"),
            table("initiative_effects"),
            table("initiative_metric_money"),
            table("claim_reliability_reasons"),
            table("metric_catalogue"),
        )
    if portfolio.height:
        print("\n" + portfolio_sentence(portfolio.row(0, named=True)))
    for paragraph in found:
        print(f"\n{paragraph.title}")
        for line in paragraph.lines:
            print(f"  {line}")
    from pipelines.warehouse import Warehouse

    duckdb_cli = Path(sys.executable).with_name("duckdb")
    report = Warehouse(warehouse).report_file
    print(
        f"\nmorning report: {report}\nwarehouse: {warehouse}\n  query it: {duckdb_cli} -readonly {warehouse} "
        "-c 'select * from marts.initiative_roi'"
    )


def demo(out: Path, seed: int, scale: float) -> int:
    from roi_ledger.demo import generate_demo_business

    out = out.resolve()
    business = generate_demo_business(out, seed=seed, scale=scale)
    print(
        f"demo business written to {business.data_dir} (register {business.config_path}, planted truth {business.truth_path})"
    )
    if not os.environ.get("ROI_PSEUDONYM_SALT"):
        os.environ["ROI_PSEUDONYM_SALT"] = DEMO_SALT  # public: the demo has no real people in it
    return run(business.data_dir, business.config_path, out / "warehouse.duckdb", as_of=business.as_of)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        _require(args, "data", "config")
        return validate(Path(args.data), Path(args.config))
    if args.command == "run":
        _require(args, "data", "config", "warehouse")
        return run(
            Path(args.data),
            Path(args.config),
            Path(args.warehouse),
            args.as_of,
            partition=args.partition,
            force=args.force,
        )
    if args.command == "run-all":
        _require(args, "businesses")
        return run_all(Path(args.businesses), args.parallel, args.as_of)
    if args.command == "explain":
        _require(args, "warehouse")
        from pipelines.explain import explain

        try:
            print(explain(Path(args.warehouse).expanduser().resolve(), args.initiative, args.metric))
        except KeyError as exc:
            print(f"roi explain: {exc.args[0]}", file=sys.stderr)
            return EXIT_INVALID_INPUT
        return EXIT_OK
    if args.command == "signoff":
        _require(args, "warehouse")
        return signoff(args)
    if args.command == "forget":
        _require(args, "warehouse")
        return forget(Path(args.warehouse), customers=args.customer, employees=args.employee)
    return demo(args.out, args.seed, args.scale)


def signoff(args: argparse.Namespace) -> int:
    """Record a decision on a claim, or list every claim's (pipelines.signoff)."""
    from pipelines.signoff import describe, resolve, sign, status
    from roi_ledger.oversight.signoff import SignoffError

    store = resolve(Path(args.warehouse))
    try:
        if args.list:
            rows, problems = status(store)
            for problem in problems:
                print(f"warning: {problem}", file=sys.stderr)
            for row in rows.iter_rows(named=True):
                print(describe(row))
            return EXIT_OK
        if not args.initiative or not args.decision:
            sys.exit("roi signoff: give INITIATIVE [METRIC] --decision accept|reject|defer --by NAME, or --list")
        entries = sign(
            store, args.initiative, args.metric, decision=args.decision, signed_by=args.by or "", comment=args.comment
        )
    except SignoffError as exc:
        print(f"roi signoff: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    for e in entries:
        print(
            f"recorded: {e['decision']} {e['initiative_id']} x {e['metric']} by {e['signed_by']} (run {e['run_id']}, grade {e['grade']})"
        )
    print(f"in {store.signoff_log}; the next run shows it in marts.claim_signoffs and the report")
    return EXIT_OK


def forget(warehouse: Path, *, customers: list[str], employees: list[str]) -> int:
    """Erase people's rows from the warehouse (pipelines.forget); prints what was removed, never who."""
    from pipelines.forget import forget as erase
    from pipelines.warehouse import Warehouse
    from roi_ledger.privacy import SaltError

    if not customers and not employees:
        sys.exit("roi forget: name at least one --customer or --employee")
    salt = os.environ.get("ROI_PSEUDONYM_SALT")
    if not salt:
        print(
            "roi forget: set ROI_PSEUDONYM_SALT to the salt the warehouse's identifiers were hashed with",
            file=sys.stderr,
        )
        return EXIT_INVALID_INPUT
    store = Warehouse(warehouse.expanduser().resolve())
    busy = store.run_lock.live_holder()
    if busy is not None:
        print(f"roi forget refused: {store.run_lock.busy_message(busy)}", file=sys.stderr)
        return EXIT_RUN_FAILED
    try:
        removed = erase(store, salt=salt, customers=customers, employees=employees)
    except (SaltError, FileNotFoundError) as exc:
        print(f"roi forget: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    people = len(customers) + len(employees)
    rows = sum(removed.values())
    print(
        f"erased {rows} rows of {people} {'person' if people == 1 else 'people'} from {store.path} (recorded in raw.erasures):"
    )
    for table, n in sorted(removed.items()):
        print(f"  {table}: {n}")
    print("The next run rebuilds every result from what remains; remove them from the source exports too.")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
