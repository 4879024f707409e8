"""``roi signoff``: a person accepts, rejects or defers a claim of the published warehouse.

The claim is read from the published warehouse (read-only, closed at once), the decision is
appended to the sign-off log beside it (roi_ledger.oversight.signoff) with the exact version of
the claim it judged. Nothing in the warehouse is written: the next run publishes the decision in
``marts.claim_signoffs`` and the report, and flags the claim if new data moved it. ``--list``
compares every decision with the published claims now. See docs/oversight.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import polars as pl

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK
from pipelines.runtime.warehouse import Warehouse
from roi_ledger.oversight.signoff import (
    SignoffError,
    append_entries,
    current_claims,
    make_entry,
    read_log,
    signoff_status,
)


def command(args: argparse.Namespace) -> int:
    """Record a decision on a claim, or list every claim's."""
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
            f"recorded: {e['decision']} {e['initiative_id']} x {e['metric']} by {e['signed_by']} "
            f"(run {e['run_id']}, grade {e['grade']})"
        )
    print(f"in {store.signoff_log}; the next run shows it in marts.claim_signoffs and the report")
    return EXIT_OK


def published_claims(warehouse: Warehouse) -> pl.DataFrame:
    if not warehouse.path.exists():
        raise SignoffError(f"{warehouse.path}: no published warehouse; run `roi run` first")
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        run = con.execute("select run_id, as_of from marts.runs order by ended_at desc limit 1").fetchone()
        return current_claims(
            con.sql("select * from marts.initiative_effects").pl(),
            con.sql("select * from marts.claim_reliability").pl(),
            con.sql("select * from marts.initiative_metric_money").pl(),
            run_id=run[0] if run else None,
            as_of=run[1] if run else None,
        )


def sign(
    warehouse: Warehouse, initiative: str, metric: str | None, *, decision: str, signed_by: str, comment: str | None
) -> list[dict]:
    """Record one decision per claim of ``initiative`` (every metric of it when ``metric`` is
    None); nothing is recorded if any of them is refused."""
    claims = published_claims(warehouse)
    mine = claims.filter(pl.col("initiative_id") == initiative)
    if mine.is_empty():
        known = ", ".join(sorted(set(claims["initiative_id"]))) or "none"
        raise SignoffError(
            f"no published claim of initiative {initiative!r} in {warehouse.path} (initiatives with claims: {known})"
        )
    if metric is not None:
        mine = mine.filter(pl.col("metric") == metric)
        if mine.is_empty():
            metrics = ", ".join(sorted(claims.filter(pl.col("initiative_id") == initiative)["metric"]))
            raise SignoffError(f"initiative {initiative!r} has no claim on metric {metric!r} (its metrics: {metrics})")
    entries = [
        make_entry(claim, decision=decision, signed_by=signed_by, comment=comment)
        for claim in mine.iter_rows(named=True)
    ]
    append_entries(warehouse.signoff_log, entries)
    return entries


def status(warehouse: Warehouse) -> tuple[pl.DataFrame, list[str]]:
    """Every claim's latest decision against the published claim now, and the log's problems."""
    log, problems = read_log(warehouse.signoff_log)
    return signoff_status(log, published_claims(warehouse)), problems


def describe(row: dict) -> str:
    claim = f"{row['initiative_id']} x {row['metric']}"
    if row["decision"] is None:
        return f"{claim}: not signed (grade {row['grade']})"
    state = f"CHANGED since sign-off: {row['change_reasons']}" if row["changed_since_signoff"] else "unchanged since"
    decided = f"{claim}: {row['decision']} by {row['signed_by']} on {row['signed_at']:%Y-%m-%d}"
    if row["signed_effect_abs"] is None:
        return f"{decided} (no estimate then); {state}"
    interval = f"[{row['signed_ci_low']:.4g}, {row['signed_ci_high']:.4g}]"
    return (
        f"{decided} (signed {row['signed_method']} {row['signed_effect_abs']:.4g} {interval}, "
        f"{row['signed_grade']}); {state}"
    )


def resolve(path: Path) -> Warehouse:
    return Warehouse(path.expanduser().resolve())
