"""Sign-off: a person accepts, rejects or defers a claim, and the claim remembers what was judged.

The decisions are kept in a log of their own beside the warehouse (``<warehouse>-signoffs.jsonl``),
one JSON line per decision, only ever appended to. It is an input of the run like the register, not
a table the run rebuilds: a decision survives a rebuilt or deleted warehouse, is never blocked by
a reader holding the warehouse open, and can be kept under version control. Each line carries the
SHA-256 of the line before it, so an edited or deleted line is detected (:func:`read_log`).

Each decision records the exact version of the claim it judged — the run, the method, the effect
and its interval, the grade. Every run compares the latest decision on each claim with the claim
as it stands (:func:`signoff_status`): a claim whose effect has left the signed interval, whose
grade dropped, whose method changed or that is no longer estimated is ``changed_since_signoff``.
See docs/oversight.md.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import polars as pl

from roi_ledger.claims.labels import GRADES, Grade
from roi_ledger.tables import schema

DECISIONS = ("accept", "reject", "defer")
GENESIS = "0" * 64  # the "previous line" of the first line
# What a decision records of the claim it judged.
CLAIM_FIELDS = ("run_id", "as_of", "method", "effect_abs", "ci_low", "ci_high", "confidence_level", "grade", "benefit")


class SignoffError(ValueError):
    """A decision that cannot be recorded, with the reason."""


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


def make_entry(
    claim: dict, *, decision: str, signed_by: str, comment: str | None, signed_at: datetime | None = None
) -> dict:
    """A decision on ``claim`` (a row of :func:`current_claims`), refused when it breaks a rule."""
    if decision not in DECISIONS:
        raise SignoffError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not signed_by or not signed_by.strip():
        raise SignoffError("a decision needs the name of the person who makes it (--by)")
    comment = comment.strip() if comment else None
    if decision == "accept" and claim["grade"] != Grade.RELIABLE and not comment:
        raise SignoffError(
            f"{claim['initiative_id']} x {claim['metric']} is graded {claim['grade']}, not reliable: "
            "accepting it needs a reason (--comment)"
        )
    return {
        "signoff_id": str(uuid4()),
        "signed_at": (signed_at or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "signed_by": signed_by.strip(),
        "decision": decision,
        "comment": comment,
        "initiative_id": claim["initiative_id"],
        "metric": claim["metric"],
        **{f: _plain(claim.get(f)) for f in CLAIM_FIELDS},
    }


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def append_entries(path: Path, entries: list[dict]) -> None:
    """Append decisions to the log, each chained to the line before it (under a file lock, so two
    people signing at once cannot interleave)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        try:
            log.seek(0)
            lines = [line.rstrip("\n") for line in log if line.strip()]
            previous = line_hash(lines[-1]) if lines else GENESIS
            for entry in entries:
                line = json.dumps({**entry, "previous_sha256": previous}, sort_keys=True, ensure_ascii=False)
                log.write(line + "\n")
                previous = line_hash(line)
            log.flush()
            os.fsync(log.fileno())
        finally:
            fcntl.flock(log, fcntl.LOCK_UN)


LOG_SCHEMA = schema("signoff_log")  # the published columns and types (its mart yml)


def read_log(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """Every decision in the log, in order, and what is wrong with the log (an empty list when
    nothing is). A line that is not valid JSON is reported with its number and skipped."""
    problems: list[str] = []
    rows: list[dict] = []
    if not path.exists():
        return pl.DataFrame(schema=LOG_SCHEMA), problems
    previous, intact = GENESIS, True
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}, line {number}: not a JSON decision ({exc.msg}); skipped")
            intact = False
            previous = line_hash(line)
            continue
        if intact and entry.get("previous_sha256") != previous:
            problems.append(f"{path}, line {number}: the line before it was changed or removed since it was written")
            intact = False
        previous = line_hash(line)
        rows.append(
            {
                **{k: entry.get(k) for k in LOG_SCHEMA if k not in ("line", "chain_intact")},
                "line": number,
                "chain_intact": intact,
            }
        )
    frame = pl.DataFrame(
        rows, schema={k: (pl.String if k in ("signed_at", "as_of") else v) for k, v in LOG_SCHEMA.items()}
    )
    frame = frame.with_columns(
        pl.col("signed_at").str.to_datetime(time_zone="UTC", time_unit="us"),
        pl.col("as_of").str.to_date(),
    ).select(list(LOG_SCHEMA))
    return frame, problems


STATUS_SCHEMA = schema("claim_signoffs")  # the published columns and types (its mart yml)


def changes(signed: dict, current: dict | None) -> list[str]:
    """Why a claim is no longer the one that was signed (empty: it is)."""
    if current is None:
        return ["the claim is no longer estimated"]
    reasons = []
    effect, low, high = current.get("effect_abs"), signed.get("ci_low"), signed.get("ci_high")
    if effect is not None and low is not None and high is not None and not (low <= effect <= high):
        reasons.append(f"the effect {effect:.4g} is outside the signed interval [{low:.4g}, {high:.4g}]")
    elif effect is None and signed.get("effect_abs") is not None:
        reasons.append("the effect can no longer be estimated")
    grade, was = current.get("grade"), signed.get("grade")
    if grade in GRADES and was in GRADES and GRADES.index(grade) > GRADES.index(was):
        reasons.append(f"the grade dropped from {was} to {grade}")
    if signed.get("method") and current.get("method") and current["method"] != signed["method"]:
        reasons.append(f"the method changed from {signed['method']} to {current['method']}")
    return reasons


def signoff_status(log: pl.DataFrame, claims: pl.DataFrame) -> pl.DataFrame:
    """One row per claim now published, and per signed claim no longer published: the latest
    decision on it, the version it judged, the claim now, and whether it changed since."""
    current = {(r["initiative_id"], r["metric"]): r for r in claims.iter_rows(named=True)}
    latest: dict[tuple[str, str], dict] = {}
    counts: dict[tuple[str, str], int] = {}
    for entry in log.sort("line").iter_rows(named=True):
        key = (entry["initiative_id"], entry["metric"])
        latest[key] = entry
        counts[key] = counts.get(key, 0) + 1
    rows = []
    for key in sorted(set(current) | set(latest), key=lambda k: (k[0], k[1] or "")):
        now, signed = current.get(key), latest.get(key)
        reasons = changes(signed, now) if signed else []
        rows.append(
            {
                "initiative_id": key[0],
                "metric": key[1],
                "decision": signed["decision"] if signed else None,
                "signed_by": signed["signed_by"] if signed else None,
                "signed_at": signed["signed_at"] if signed else None,
                "comment": signed["comment"] if signed else None,
                "signed_run_id": signed["run_id"] if signed else None,
                "signed_method": signed["method"] if signed else None,
                "signed_effect_abs": signed["effect_abs"] if signed else None,
                "signed_ci_low": signed["ci_low"] if signed else None,
                "signed_ci_high": signed["ci_high"] if signed else None,
                "signed_grade": signed["grade"] if signed else None,
                **{f: now.get(f) if now else None for f in ("method", "effect_abs", "ci_low", "ci_high", "grade")},
                "changed_since_signoff": bool(reasons) if signed else None,
                "change_reasons": "; ".join(reasons) or None,
                "n_decisions": counts.get(key, 0),
            }
        )
    return pl.DataFrame(rows, schema=STATUS_SCHEMA)


def current_claims(
    effects: pl.DataFrame, grades: pl.DataFrame, money: pl.DataFrame, *, run_id: str | None, as_of
) -> pl.DataFrame:
    """The claims as they stand: per initiative x metric, the primary estimate, its grade and its
    counted benefit (from the tables the run writes, or the published marts)."""
    primary = effects.filter(pl.col("is_primary")).select(
        "initiative_id", "metric", "method", "effect_abs", "ci_low", "ci_high", "confidence_level"
    )
    graded = grades.filter(pl.col("metric").is_not_null()).select("initiative_id", "metric", "grade")
    counted = money.filter(pl.col("counted").fill_null(False)).select("initiative_id", "metric", "benefit")
    claims = graded.join(primary, on=["initiative_id", "metric"], how="left").join(
        counted, on=["initiative_id", "metric"], how="left"
    )
    return claims.with_columns(
        pl.lit(run_id, dtype=pl.String).alias("run_id"), pl.lit(as_of, dtype=pl.Date).alias("as_of")
    ).sort("initiative_id", "metric")
