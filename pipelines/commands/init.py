"""``roi init DATA_DIR``: from a folder of exports as they are to a ``sources.yml`` and a commented
``initiatives.yml`` that pass ``roi validate`` as written (docs/register.md, "Starting").

Each file's tool is told from its header (``connectors.recognise``); the files are then read
through the same code a run uses, landed into a throw-away DuckDB file (``connectors.dry_run``,
as ``roi validate`` does), so the datasets, units, record counts and date ranges it prints are
what a run will see. It never overwrites either file without ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK
from pipelines.commands.init_register import (
    PLACEHOLDER_CURRENCY,
    PLACEHOLDER_TIMEZONE,
    SUGGESTED_METRICS,
    Draft,
    metric_lines,
    render,
)
from roi_ledger.catalogue import MetricDefinition, definition_of, load_catalogue
from roi_ledger.contract import DATASETS


def command(args: argparse.Namespace) -> int:
    data = Path(args.data)
    config = Path(args.config) if args.config else data.parent / "initiatives.yml"
    try:
        return init(data, config, force=args.force, interactive=args.interactive)
    except EOFError:
        print("\nroi init: the answers ended before the last question; nothing was written", file=sys.stderr)
        return EXIT_INVALID_INPUT


def init(data: Path, config: Path, *, force: bool = False, interactive: bool = False) -> int:
    """Recognise, read, describe; then write both files (asking first when ``interactive``)."""
    from connectors.dry_run import dry_run
    from connectors.recognise import recognise, sources_spec
    from connectors.sources import SOURCES_FILE, parse_sources

    sources_file = data / SOURCES_FILE
    refused = _refuse_to_overwrite(data, [sources_file, config], force)
    if refused is not None:
        return refused
    found = recognise(data, skip=[config])
    if not found.groups:
        _print_gaps(found.gaps, [])
        print(
            f"roi init: no file in {data} is an export it knows or a contract file; nothing was written",
            file=sys.stderr,
        )
        return EXIT_INVALID_INPUT
    spec = sources_spec(found.groups)
    checked = dry_run(data, parse_sources(spec, sources_file))
    catalogue = load_catalogue()
    computable = computable_metrics(catalogue, checked)
    _print_found(data, found.groups, checked, metric_lines(computable, catalogue))
    _print_gaps(found.gaps + [(None, p) for p in checked.unreadable + checked.problems], _missing(catalogue, checked))
    draft = first_draft(found.groups, checked, computable, catalogue)
    if draft is None:
        why = "no file landed a record" if not checked.spans else "no metric the data computes has a unit to name"
        print(f"roi init: {why} (see the gaps above); nothing was written", file=sys.stderr)
        return EXIT_INVALID_INPUT
    if interactive:
        from pipelines.commands.init_questions import interview

        print()
        draft = interview(draft, _units(checked), metric_lines(computable, catalogue))
    text = render(draft, catalogue, written_on=date.today(), data_dir=str(data))
    refused = _register_problem(text, config, checked, computable)
    if refused:
        print(f"roi init: the register it would write is refused:\n{refused}\nnothing was written", file=sys.stderr)
        return EXIT_INVALID_INPUT
    sources_file.write_text(_sources_text(spec, found.groups), encoding="utf-8")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")
    _print_next(data, config, sources_file, draft)
    return EXIT_OK


def _refuse_to_overwrite(data: Path, targets: list[Path], force: bool) -> int | None:
    if not data.is_dir():
        print(f"roi init: {data}: no such folder; give the folder holding your exports", file=sys.stderr)
        return EXIT_INVALID_INPUT
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        print(
            f"roi init: {' and '.join(existing)} {'already exists' if len(existing) == 1 else 'already exist'}; "
            "nothing was written. Keep what you have, or run roi init again with --force to replace it",
            file=sys.stderr,
        )
        return EXIT_INVALID_INPUT
    return None


def computable_metrics(catalogue: list[MetricDefinition], checked) -> list[str]:
    """The catalogue's metrics whose datasets landed records, the suggested ones first, a metric
    per activity of the time sheets; then the KPI names the data carries."""
    landed = {dataset for dataset, *_ in checked.spans}
    names: list[str] = []
    for metric in catalogue:
        if not metric.datasets <= landed:
            continue
        if metric.is_template:
            names += sorted(metric.instantiate(v) for v in checked.found.split_values.get(metric.split_by, ()))
        else:
            names.append(metric.name)
    names += sorted(checked.found.kpi_metrics) if "kpis" in landed else []
    first = [m for m in SUGGESTED_METRICS if m in names]
    return first + [m for m in names if m not in first]


def _missing(catalogue: list[MetricDefinition], checked) -> list[str]:
    """Per dataset with no record, the metrics it would make computable."""
    landed = {dataset for dataset, *_ in checked.spans}
    gaps = []
    for dataset in DATASETS:
        needing = [m.name for m in catalogue if dataset in m.datasets and dataset not in landed]
        if needing:
            gaps.append(
                f"no {dataset} data: {', '.join(needing)} cannot be computed (a {dataset} export, or a "
                f"{dataset}.csv with the contract's columns: docs/data-contract.md)"
            )
    return gaps


def _units(checked) -> list[str]:
    """The units a register may name (a unit with an invisible character or over 100 characters
    is refused there): dataset by dataset, the one with most records first."""
    from pydantic import TypeAdapter, ValidationError

    from roi_ledger.register import Unit

    rule = TypeAdapter(Unit)
    units = []
    for unit in dict.fromkeys(unit for _, unit, *_ in checked.spans):
        try:
            if rule.validate_python(unit) == unit:  # a register's unit is read in its NFKC form
                units.append(unit)
        except ValidationError:
            continue
    return units


def _unit_notes(checked) -> list[str]:
    """Per unit, its records and days in each dataset: "web: orders 120, 2024-01-01 to 2024-06-30"."""
    notes = []
    for unit in _units(checked):
        held = [f"{d} {n:,}, {first} to {last}" for d, u, n, first, last in checked.spans if u == unit]
        notes.append(f"{unit}: {'; '.join(held)}")
    return notes


def first_draft(groups, checked, computable: list[str], catalogue: list[MetricDefinition]) -> Draft | None:
    """The register's values chosen from the data: the first suggested metric it can compute,
    the unit with the most records in that metric's data, and a go-live halfway through that
    unit's records (so there is data before and after it). None when no unit can be named."""
    from connectors.recognise import guess_currency, guess_timezone

    choice = _metric_and_span(checked, computable, catalogue)
    if choice is None:
        return None
    metric, (_, unit, _, first, last) = choice
    currency, currency_from = guess_currency(groups)
    timezone, timezone_from = guess_timezone(groups, currency)
    return Draft(
        currency=currency or PLACEHOLDER_CURRENCY,
        currency_from=currency_from,
        timezone=timezone or PLACEHOLDER_TIMEZONE,
        timezone_from=timezone_from,
        name="What was automated",
        units=[unit],
        go_live=min(first + (last - first) / 2, date.today()),
        metric=metric,
        unit_notes=_unit_notes(checked),
        computable=computable,
        data_range=(min(s[3] for s in checked.spans), max(s[4] for s in checked.spans)),
    )


def _metric_and_span(checked, computable: list[str], catalogue: list[MetricDefinition]) -> tuple | None:
    """The first computable metric with a unit a register may name, and that unit's span."""
    allowed = set(_units(checked))
    for metric in computable:
        definition = definition_of(catalogue, metric)
        datasets = definition.datasets if definition else frozenset({"kpis"})
        for span in checked.spans:
            if span[0] in datasets and span[1] in allowed:
                return metric, span
    return None


def _register_problem(text: str, config: Path, checked, computable: list[str]) -> str | None:
    """What the checks ``roi validate`` makes of a register refuse in the one about to be written
    (nothing, as its values come from the data and the answers: a safety net), or None."""
    from roi_ledger.register import RegisterError, check_against_data, parse_register

    try:
        register = parse_register(text, str(config))
        check_against_data(register, str(config), units=checked.found.units, metrics=set(computable))
    except RegisterError as exc:
        return str(exc)
    return None


def _sources_text(spec: dict[str, dict], groups) -> str:
    from pipelines.commands.init_register import flow

    lines = [
        "# sources.yml, written by `roi init`: which export feeds which dataset (docs/sources.md).",
        "# A glob path reads every file of an export series: drop the next export beside them.",
        "sources:",
    ]
    for (name, source), group in zip(spec.items(), groups, strict=True):
        files = f"{len(group.files)} files" if len(group.files) > 1 else "1 file"
        lines.append(f"  {name}: {flow(source)}  # {group.tool} -> {group.dataset} ({files})")
    return "\n".join(lines) + "\n"


def _print_found(data: Path, groups, checked, metric_lines: list[str]) -> None:
    from pipelines.commands.printing import print_source_report

    print(f"{data}: read as a run reads it")
    for group in groups:
        series = (
            f" ({len(group.files)} files: {', '.join(p.name for p in group.files)})" if len(group.files) > 1 else ""
        )
        print(f"  {group.path}: {group.tool} -> {group.dataset}{series}")
    print_source_report(checked.found, [], sampled=None)
    print("datasets:")
    for dataset in DATASETS:
        spans = [s for s in checked.spans if s[0] == dataset]
        if spans:
            records = sum(s[2] for s in spans)
            first, last = min(s[3] for s in spans), max(s[4] for s in spans)
            print(f"  {dataset}: {records:,} records in {len(spans)} units, {first} to {last}")
    print("units (records, first and last day):")
    for note in _unit_notes(checked):
        print(f"  {note}")
    print(f"metrics the data can compute ({len(metric_lines)}):")
    for line in metric_lines:
        print(f"  {line}")


def _print_gaps(files: list[tuple], missing: list[str]) -> None:
    if not files and not missing:
        return
    print("gaps:")
    for path, why in files:
        print(f"  {path}: {why}" if path is not None else f"  {why}")
    for line in missing:
        print(f"  {line}")


def _print_next(data: Path, config: Path, sources_file: Path, draft: Draft) -> None:
    import os

    roi = Path(sys.executable).with_name("roi")
    print(f"\nwrote {sources_file} and {config}")
    if not draft.answered:
        print(f"  fill in the lines marked 'fill in' in {config} (what was automated, where, when, what it cost)")
    print("next:")
    if not os.environ.get("ROI_PSEUDONYM_SALT"):  # the run hashes customer and employee ids with it
        print("  python3 -c 'import secrets; print(secrets.token_urlsafe(32))'   # once; keep what it prints safe")
        print("  export ROI_PSEUDONYM_SALT='what it printed'   # the same every run")
    print(f"  {roi} validate --data {data} --config {config}")
    print(f"  {roi} run --data {data} --config {config} --warehouse {config.parent / 'roi.duckdb'}")
