"""``roi``: run the nightly job, validate inputs, or run the built-in demo business.

    roi init DATA_DIR [--config FILE] [--interactive] [--force]
    roi run --data DIR --config FILE --warehouse PATH [--as-of DATE] [--force]
    roi validate --data DIR --config FILE
    roi run-all --businesses FILE [--parallel N] [--as-of DATE]
    roi demo [--out DIR] [--seed N] [--scale X]
    roi explain | signoff | forget ... --warehouse PATH

Arguments default to ``ROI_DATA_DIR``, ``ROI_CONFIG``, ``ROI_WAREHOUSE``, ``ROI_AS_OF`` and
``ROI_BUSINESSES`` (``pipelines.runtime.settings``). This module only parses the command line and hands
it to the command's module (one per command, each with a ``command(args)``); what a command does
is said there. Exit codes (``exit_codes``): 0 success (or nothing changed), 1 the run failed (the
published warehouse is untouched), 2 the inputs cannot be used (invalid, another salt than the
warehouse's, or the warehouse busy with another run: nothing was written).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from importlib import import_module
from pathlib import Path

from pipelines.commands.demo import DEMO_SCALE
from pipelines.commands.exit_codes import EXIT_INVALID_INPUT
from pipelines.runtime.run_lock import FORGET_WAIT_SECONDS
from pipelines.runtime.settings import Settings, SettingsError, read_settings

# The module of each command (pipelines/commands/<module>.py).
MODULES = {
    "init": "init",
    "run": "run",
    "validate": "validate",
    "run-all": "run_all",
    "demo": "demo",
    "explain": "explain",
    "signoff": "signoff",
    "forget": "forget",
}
# What each command cannot run without (a flag, or its ROI_* variable).
REQUIRED = {
    "init": ("data",),
    "run": ("data", "config", "warehouse"),
    "validate": ("data", "config"),
    "run-all": ("businesses",),
    "explain": ("warehouse",),
    "signoff": ("warehouse",),
    "forget": ("warehouse",),
}


def _inputs(command: argparse.ArgumentParser, settings: Settings, *, warehouse: bool) -> None:
    command.add_argument("--data", default=settings.data_dir, help="data directory (ROI_DATA_DIR)")
    command.add_argument("--config", default=settings.config, help="initiatives.yml (ROI_CONFIG)")
    if warehouse:
        _warehouse(command, settings)
        command.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=settings.as_of,  # a string: argparse checks it as it checks the flag
            help="use data up to this day, YYYY-MM-DD (ROI_AS_OF; default: yesterday in the business's timezone)",
        )


def _warehouse(command: argparse.ArgumentParser, settings: Settings) -> None:
    command.add_argument("--warehouse", default=settings.warehouse, help="DuckDB file (ROI_WAREHOUSE)")


def _add_init(commands, settings: Settings) -> None:
    init = commands.add_parser(
        "init", help="recognise a folder of exports; write its sources.yml and an initiatives.yml to fill in"
    )
    init.add_argument(
        "data", nargs="?", default=settings.data_dir, metavar="DATA_DIR", help="the exports' folder (ROI_DATA_DIR)"
    )
    init.add_argument(
        "--config",
        default=settings.config,
        help="where to write initiatives.yml (ROI_CONFIG; default: beside the data folder)",
    )
    init.add_argument("--interactive", action="store_true", help="ask what was automated, where, when, at what cost")
    init.add_argument("--force", action="store_true", help="replace an existing sources.yml and initiatives.yml")


def _add_runs(commands, settings: Settings) -> None:
    run_one = commands.add_parser("run", help="run the nightly job once, in this process")
    _inputs(run_one, settings, warehouse=True)
    run_one.add_argument(
        "--force", action="store_true", help="build even when nothing changed since the last published run"
    )
    # a business of ROI_BUSINESSES (roi run-all)
    run_one.add_argument("--partition", default=None, help=argparse.SUPPRESS)
    validate = commands.add_parser("validate", help="check the register and the data files; writes nothing")
    _inputs(validate, settings, warehouse=False)
    run_all = commands.add_parser(
        "run-all", help="run the nightly job for every business of a businesses file, in parallel"
    )
    run_all.add_argument(
        "--businesses",
        default=settings.businesses,
        help="businesses.yml (ROI_BUSINESSES; pipelines/runtime/businesses.py)",
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


def _add_oversight(commands, settings: Settings) -> None:
    forget = commands.add_parser(
        "forget", help="erase a customer's or an employee's rows from the warehouse (docs/privacy.md)"
    )
    _warehouse(forget, settings)
    forget.add_argument(
        "--customer", action="append", default=[], metavar="ID", help="a customer id as the data has it (repeatable)"
    )
    forget.add_argument(
        "--employee", action="append", default=[], metavar="ID", help="an employee id as the data has it (repeatable)"
    )
    forget.add_argument(
        "--wait",
        type=float,
        default=FORGET_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for a running night to finish (default {FORGET_WAIT_SECONDS:.0f})",
    )
    explain = commands.add_parser("explain", help="trace every number of an initiative's claim to its inputs")
    explain.add_argument("initiative")
    explain.add_argument("metric", nargs="?", default=None)
    _warehouse(explain, settings)
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
    _warehouse(signoff, settings)


def _add_demo(commands) -> None:
    demo = commands.add_parser("demo", help="generate the demo business and run the nightly job on it")
    demo.add_argument("--out", type=Path, default=Path("demo"), help="folder for the demo's data and warehouse")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--scale",
        type=float,
        default=DEMO_SCALE,
        help=f"volume of records (default {DEMO_SCALE}: about 70,000 orders over three years; the tests use the same)",
    )


def parser(settings: Settings) -> argparse.ArgumentParser:
    """``roi``'s command line, its defaults from ``settings``."""
    roi = argparse.ArgumentParser(prog="roi", description="ROI Ledger: realised ROI of automation initiatives.")
    commands = roi.add_subparsers(dest="command", required=True)
    _add_init(commands, settings)
    _add_runs(commands, settings)
    _add_oversight(commands, settings)
    _add_demo(commands)
    return roi


def main(argv: list[str] | None = None) -> int:
    try:
        settings = read_settings()
    except SettingsError as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    args = parser(settings).parse_args(argv)
    missing = [name for name in REQUIRED.get(args.command, ()) if not getattr(args, name)]
    if missing:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in missing)
        sys.exit(f"roi {args.command}: missing {flags} (or the ROI_* environment variable)")
    return import_module(f"pipelines.commands.{MODULES[args.command]}").command(args)
