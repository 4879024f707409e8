"""``roi validate``: read every source as the run would and say what would load, what would be
rejected and why, and which files no source reads. Writes nothing."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK
from pipelines.commands.printing import print_source_report
from pipelines.runtime.settings import Settings, SettingsError, read_settings
from roi_ledger.run_context import RunContext


def command(args: argparse.Namespace) -> int:
    return validate(Path(args.data), Path(args.config))


def validate(data: Path, config: Path, *, pull_sample: int | None = 200, report: bool = True) -> int:
    """Read every source as the run would — files in full, databases and APIs a sample of
    ``pull_sample`` records — and report it (``report``). Exit code as ``roi`` gives it."""
    from connectors.files import inventory
    from connectors.sources import ignored_files
    from roi_ledger.inputs import InputError, check_inputs

    settings = checked_settings()
    if settings is None:
        return EXIT_INVALID_INPUT
    try:
        context = resolve_inputs(data, config)
        found = inventory(context.data_dir, dict(context.sources), pull_sample=pull_sample)
        check_inputs(context, found)
    except InputError as exc:
        print(f"invalid input:\n{exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    code = check_salt(data, set(found.files) | found.pulled, settings.salt)
    if code != EXIT_OK:
        return code
    files = sum(len(paths) for paths in found.files.values())
    register, sources = context.register, context.sources
    print(
        f"ok: {config} ({len(register.initiatives)} initiatives, {len(register.objectives)} objectives); "
        f"{data}: {len(sources)} sources, {files} files in {len(found.files)} datasets, {len(found.units)} units"
    )
    if report:
        print_source_report(found, ignored_files(context.data_dir, dict(context.sources)), sampled=pull_sample)
    return EXIT_OK


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
    identifying = sorted({"orders", "hours"} & datasets)
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
    return EXIT_OK
