"""The business case as it was registered before go-live, and every later edit.

An initiative's case is what it promised and how it would be measured: the expected annual
benefit and changes, the metrics, the treated units (by phase, with their go-lives) and the
comparison units. Every run records each initiative's case in ``raw.register_history`` when it
differs from the last one recorded (:func:`snapshot_rows`). From that history
:func:`judge_cases` picks the **registered case** — the last one recorded before the first
go-live, by the wall clock of the run that recorded it (never by the run's as-of date, which a
backfill can set to any day) — and realisation is judged against it, whatever the register says
today. An initiative first seen after its go-live (a business starting to use ROI Ledger with
initiatives already live) is judged against the first case recorded, and says so.

A later edit is kept and shown; it is flagged ``after_results`` when a run had already measured
the initiative, i.e. some run started on or after go-live and before the edit: whoever edited
could have seen the numbers. See docs/oversight.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from roi_ledger.register import Expected, Initiative, Register
from roi_ledger.tables import schema

HISTORY_SCHEMA = {
    "initiative_id": pl.String,
    "run_id": pl.String,
    "recorded_at": pl.Datetime("us", "UTC"),
    "as_of": pl.Date,
    "first_go_live": pl.Date,
    "fingerprint": pl.String,
    "business_case": pl.String,  # canonical JSON of business_case()
}

# The parts of a case, in the order an edit lists them.
EXPECTED_FIELDS = ("expected_annual_benefit", "expected_changes")
DESIGN_FIELDS = ("metrics", "rollout", "control_units")


def business_case(initiative: Initiative) -> dict:
    """What the initiative promised and how it is to be measured, as plain sorted data."""
    expected = initiative.expected
    return {
        "expected_annual_benefit": expected.annual_benefit if expected else None,
        "expected_changes": dict(sorted(expected.changes.items())) if expected else {},
        "metrics": sorted(initiative.metrics),
        "rollout": [{"go_live": p.go_live.isoformat(), "units": sorted(p.units)} for p in initiative.rollout],
        "control_units": sorted(initiative.control_units) if initiative.control_units is not None else None,
    }


def canonical(case: dict) -> str:
    return json.dumps(case, sort_keys=True, separators=(",", ":"))


def fingerprint(case: dict) -> str:
    return hashlib.sha256(canonical(case).encode()).hexdigest()


def snapshot_rows(
    register: Register, history: pl.DataFrame, *, run_id: str, recorded_at: datetime, as_of: date
) -> pl.DataFrame:
    """The rows this run adds to the history: each initiative whose case differs from the last
    one recorded for it (or that has none yet)."""
    latest = latest_fingerprints(history)
    rows = []
    for initiative in register.initiatives:
        case = business_case(initiative)
        mark = fingerprint(case)
        if latest.get(initiative.id) != mark:
            rows.append(
                {
                    "initiative_id": initiative.id,
                    "run_id": run_id,
                    "recorded_at": recorded_at,
                    "as_of": as_of,
                    "first_go_live": initiative.first_go_live,
                    "fingerprint": mark,
                    "business_case": canonical(case),
                }
            )
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA)


def latest_fingerprints(history: pl.DataFrame) -> dict[str, str]:
    if history.is_empty():
        return {}
    last = history.sort("recorded_at").group_by("initiative_id").agg(pl.col("fingerprint").last())
    return dict(zip(last["initiative_id"], last["fingerprint"]))


def changed_fields(before: dict, after: dict) -> list[str]:
    return [f for f in (*EXPECTED_FIELDS, *DESIGN_FIELDS) if before.get(f) != after.get(f)]


CASE_SCHEMA = schema("business_cases")  # the published columns and types (its mart yml)

EDIT_SCHEMA = schema("business_case_history")  # the published columns and types (its mart yml)


def _local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def judge_cases(
    register: Register, history: pl.DataFrame, run_starts: list[datetime]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one row per initiative: its registered and current case and how it was edited since;
    the history with each record's place: registered, after go-live, after results).

    ``history`` holds this run's records too; ``run_starts`` are the start times of the
    published runs before this one (``marts.runs``), which tell when results were visible.
    """
    timezone = register.business.timezone
    cases, records = [], []
    by_initiative = (
        {
            key[0]: frame.sort("recorded_at")
            for key, frame in history.partition_by("initiative_id", as_dict=True).items()
        }
        if history.height
        else {}
    )
    for initiative in register.initiatives:
        frame = by_initiative.get(initiative.id)
        if frame is None or frame.is_empty():
            continue
        case, its_records = _judge_case(initiative, frame.to_dicts(), run_starts, timezone)
        cases.append(case)
        records += its_records
    return pl.DataFrame(cases, schema=CASE_SCHEMA), pl.DataFrame(records, schema=EDIT_SCHEMA)


def _judge_case(initiative, rows: list[dict], run_starts: list[datetime], timezone: str) -> tuple[dict, list[dict]]:
    """One initiative's case row and its history's records, from its history ``rows`` (oldest
    first): the registered case is the last recorded before go-live, else the first."""
    current = business_case(initiative)
    go_live = initiative.first_go_live
    before = [r for r in rows if _local_day(r["recorded_at"], timezone) < go_live]
    registered = before[-1] if before else rows[0]
    registered_case = json.loads(registered["business_case"])
    measured_from = min((s for s in run_starts if _local_day(s, timezone) >= go_live), default=None)
    records, edits = _placed_records(initiative.id, rows, registered, go_live, measured_from, timezone)
    edited = [f for f in (*EXPECTED_FIELDS, *DESIGN_FIELDS) if registered_case.get(f) != current.get(f)]
    case = {
        "initiative_id": initiative.id,
        "first_go_live": go_live,
        "registered_at": registered["recorded_at"],
        "registered_before_go_live": bool(before),
        "registered_fingerprint": registered["fingerprint"],
        "registered_case": registered["business_case"],
        "registered_annual_benefit": registered_case.get("expected_annual_benefit"),
        "current_fingerprint": fingerprint(current),
        "current_case": canonical(current),
        "current_annual_benefit": current["expected_annual_benefit"],
        "n_edits_after_go_live": len(edits),
        "edited_fields": ", ".join(edited) or None,
        "design_edited": any(f in DESIGN_FIELDS for f in edited),
        "edited_after_results": any(after for _, after in edits),
        "last_edit_at": edits[-1][0]["recorded_at"] if edits else None,
    }
    return case, records


def _placed_records(
    initiative_id: str,
    rows: list[dict],
    registered: dict,
    go_live: date,
    measured_from: datetime | None,
    timezone: str,
) -> tuple[list[dict], list[tuple[dict, bool]]]:
    """(each history record with its place — the registered case, after go-live, after results —
    and the fields changed since the record before; the records after the registered one, each
    with whether it came after results)."""
    records, edits = [], []
    previous = None
    for r in rows:
        after_go_live = _local_day(r["recorded_at"], timezone) >= go_live
        after_results = measured_from is not None and r["recorded_at"] > measured_from
        case = json.loads(r["business_case"])
        fields = changed_fields(json.loads(previous["business_case"]), case) if previous else None
        records.append(
            {
                "initiative_id": initiative_id,
                "run_id": r["run_id"],
                "recorded_at": r["recorded_at"],
                "as_of": r["as_of"],
                "fingerprint": r["fingerprint"],
                "business_case": r["business_case"],
                "is_registered_case": r is registered,
                "after_go_live": after_go_live,
                "after_results": after_results,
                "changed_fields": ", ".join(fields) if fields is not None else None,
            }
        )
        if r["recorded_at"] > registered["recorded_at"]:
            edits.append((r, after_results))
        previous = r
    return records, edits


def as_registered(register: Register, cases: pl.DataFrame) -> Register:
    """The register with each initiative's expected benefit and changes as registered: what
    realisation is judged against. Metrics and units stay as they are now (the estimates
    measure the current design; an edit to it is flagged by the ``business_case_changed``
    claim check)."""
    registered = {r["initiative_id"]: json.loads(r["registered_case"]) for r in cases.iter_rows(named=True)}
    initiatives = []
    for initiative in register.initiatives:
        case = registered.get(initiative.id)
        if case is None:
            initiatives.append(initiative)
            continue
        expected = None
        if case["expected_annual_benefit"] is not None or case["expected_changes"]:
            expected = Expected(annual_benefit=case["expected_annual_benefit"], changes=case["expected_changes"])
        initiatives.append(initiative.model_copy(update={"expected": expected}))
    return register.model_copy(update={"initiatives": initiatives})
