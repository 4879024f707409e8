"""``roi validate``: read every source as the run would and say what would load, what would be
rejected and why (with the failing values that are not personal), which files no source reads, and
every problem that would stop the night or lose rows. Writes nothing."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from connectors.landing import counts_in_words
from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK
from pipelines.commands.printing import print_source_report
from pipelines.runtime.settings import Settings, SettingsError, read_settings
from roi_ledger.run_context import RunContext


def command(args: argparse.Namespace) -> int:
    return validate(Path(args.data), Path(args.config))


def validate(data: Path, config: Path, *, pull_sample: int | None = 200, report: bool = True) -> int:
    """Read every source as the run would — files in full, databases and APIs a sample of
    ``pull_sample`` records — and report it (``report``): every problem of the inputs in one pass
    (``connectors.dry_run``), then "ok" only when there is none. Exit code as ``roi`` gives it:
    2 when anything would stop the night or reject half a file or more."""
    from connectors.dry_run import dry_run
    from connectors.sources import ignored_files
    from roi_ledger.inputs import InputError, check_inputs

    settings = checked_settings()
    if settings is None:
        return EXIT_INVALID_INPUT
    try:
        context = resolve_inputs(data, config)
    except InputError as exc:
        print(f"invalid input:\n{exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    checked = dry_run(context.data_dir, dict(context.sources), pull_sample=pull_sample)
    found = checked.found
    problems = checked.unreadable + checked.problems
    if not checked.unreadable:  # units and metrics are known only when every source reads
        try:
            check_inputs(context, found)
        except InputError as exc:
            problems.append(str(exc))
    salt = salt_problem(data, set(found.files) | found.pulled, settings.salt)
    problems += [salt] if salt else []
    print(f"{config}: {len(context.register.initiatives)} initiatives, {len(context.register.objectives)} objectives")
    print(summary_line(data, found, len(context.sources)))
    if report:
        print_source_report(found, ignored_files(context.data_dir, dict(context.sources)), sampled=pull_sample)
    if problems:
        print(f"invalid input: {len(problems)} problem(s), nothing was written:", file=sys.stderr)
        for problem in problems:
            print("  - " + problem.replace("\n", "\n    "), file=sys.stderr)
        return EXIT_INVALID_INPUT
    print("ok: every source reads, no file would be half rejected or more, and no blocking check would fail")
    return EXIT_OK


def summary_line(data: Path, found, sources: int) -> str:
    """The data folder in one line: what it holds and how many rows would load and be rejected."""
    files = sum(len(paths) for paths in found.files.values())
    loaded, rejected, unchanged, folded = (sum(load[i] for load in found.loads) for i in (2, 3, 4, 5))
    return (
        f"{data}: {sources} sources, {files} files in {len(found.files)} datasets, {len(found.units)} units; "
        + counts_in_words(loaded, unchanged, folded, rejected, would=True)
    )


def checked_settings() -> Settings | None:
    """The settings, or None once it has said which variable cannot be used."""
    try:
        return read_settings()
    except SettingsError as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return None


def resolve_inputs(data: Path, config: Path, as_of: date | None = None) -> RunContext:
    """The run's context with its sources, each parsed once (``pipelines.runtime.resources.resolve_run``),
    starting now (``resources.run_started_at`` without a run)."""
    from pipelines.runtime import resources

    return resources.resolve_run(config, data, as_of=as_of, started_at=resources.run_started_at(None))


def check_salt(data: Path, datasets: set[str], salt: str | None) -> int:
    """The salt is strong enough, and set when ``datasets`` land people's ids (orders, hours)."""
    problem = salt_problem(data, datasets, salt)
    if problem:
        print(f"invalid input:\n{problem}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    return EXIT_OK


def salt_problem(data: Path, datasets: set[str], salt: str | None) -> str | None:
    """What is wrong with the salt for landing ``datasets``, or None."""
    identifying = sorted({"orders", "hours"} & datasets)
    if salt:
        from roi_ledger.privacy import SaltError, check_salt_strength

        try:
            check_salt_strength(salt)
        except SaltError as exc:
            return str(exc)
    if identifying and not salt:
        return (
            f"{data}: {' and '.join(identifying)} carry customer or employee ids, which are "
            "hashed before they land: set ROI_PSEUDONYM_SALT to a long random secret (keep it stable)"
        )
    return None
