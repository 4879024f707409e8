"""From checks to grades: the documented rule (docs/claims.md).

For one initiative x metric, every check that fired (status warn or fail) says something by
its class:

- validity (pre_trend, placebo_in_time): fail -> ``unreliable``; warn -> ``suspicious``;
- suspicion (suspicious_size, trend_continuation, seasonality, regression_to_mean,
  concurrent_initiatives, volume_shift, outliers, novelty_decay, control_contamination)
  -> ``suspicious``;
- data (not_enough_data, data_gaps, stale_data, ci_covers_zero) -> ``needs_more_data``;
- governance and info (missing_owner, no_objective, practically_zero): reported, no grade change.

A fired check whose ``counts_toward_grade`` is false (trend_continuation when the primary
method already models trends; placebo_in_time for an effect whose own interval covers zero,
unless the fake go-lives find clear effects) is reported among the reasons but does not change
the grade.

The grade is the worst of these (reliable < needs_more_data < suspicious < unreliable), except
that a claim **without enough periods** (``not_enough_data`` fails: fewer full periods before or
after go-live than needed, or no data) is ``needs_more_data`` whatever else fired: on a window
that short a seasonal mix, a placebo or a dip before go-live is as likely chance as a finding, and
the owner's answer is to wait, not to doubt. The other findings stay listed among its reasons
with the grade each would imply. Thin volumes (``not_enough_data`` warns) do not wait: more
weeks do not add records to a week. An
initiative's own grade (metric null) is the worst of its goal metrics' grades and of its
initiative-level checks (missing_costs is a data check: without costs there is no ROI). A
guardrail metric (``guardrail_harm`` applies to it) is graded on its own like any claim, but its
grade does not count toward the initiative's: only ``guardrail_harm`` does — a guardrail worse
than its margin as far as the data can tell makes the initiative ``unreliable`` (docs/claims.md).
"""

from __future__ import annotations

import polars as pl

from roi_ledger.claims.base import CheckClass
from roi_ledger.claims.labels import FIRED, GRADES, CheckStatus, Grade
from roi_ledger.tables import schema

WAIT_CHECK = "not_enough_data"  # when it fails, the claim waits: needs_more_data


def implied_grade(check_class: str, status: str) -> Grade:
    if status not in FIRED:
        return Grade.RELIABLE
    if check_class == CheckClass.VALIDITY:
        return Grade.UNRELIABLE if status == CheckStatus.FAIL else Grade.SUSPICIOUS
    if check_class == CheckClass.SUSPICION:
        return Grade.SUSPICIOUS
    if check_class == CheckClass.DATA:
        return Grade.NEEDS_MORE_DATA
    if check_class == CheckClass.GUARDRAIL:
        return Grade.UNRELIABLE if status == CheckStatus.FAIL else Grade.RELIABLE
    return Grade.RELIABLE


def _worst(grades: list[str]) -> str:
    return max(grades, key=GRADES.index, default=Grade.RELIABLE)


def grade_claims(checks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(reliability, reasons): a grade per initiative x metric and per initiative (metric
    null) with its reasons, and the same reasons one row each."""
    graded = checks.with_columns(
        pl.struct("check_class", "status", "counts_toward_grade")
        .map_elements(
            lambda row: (
                implied_grade(row["check_class"], row["status"]) if row["counts_toward_grade"] else Grade.RELIABLE
            ),
            return_dtype=pl.String,
        )
        .alias("implied_grade")
    )
    fired = graded.filter(pl.col("status").is_in(FIRED))
    reliability, reasons = [], []
    for (initiative_id,), rows in graded.group_by("initiative_id", maintain_order=True):
        metric_grades, guardrails = [], []
        for metric in rows.filter(pl.col("metric").is_not_null())["metric"].unique(maintain_order=True).to_list():
            metric_rows = rows.filter(pl.col("metric") == metric)
            too_short = (
                metric_rows.filter((pl.col("check_id") == WAIT_CHECK) & (pl.col("status") == CheckStatus.FAIL)).height
                > 0
            )
            own_rows = metric_rows.filter(pl.col("check_class") != CheckClass.GUARDRAIL)
            grade = Grade.NEEDS_MORE_DATA if too_short else _worst(own_rows["implied_grade"].to_list())
            guardrail = metric_rows.filter(
                (pl.col("check_class") == CheckClass.GUARDRAIL) & (pl.col("status") != CheckStatus.NOT_APPLICABLE)
            )
            # a guardrail counts toward the initiative by its harm alone, a goal by its grade
            metric_grades += guardrail["implied_grade"].to_list() if guardrail.height else [grade]
            if guardrail.height:
                guardrails.append(metric)
            why = fired.filter((pl.col("initiative_id") == initiative_id) & (pl.col("metric") == metric))
            method = metric_rows["method"].drop_nulls()
            reliability.append(_row(initiative_id, metric, method[0] if len(method) else None, grade, why))
            reasons += _reasons(initiative_id, metric, why)
        own = rows.filter(pl.col("metric").is_null())
        grade = _worst(metric_grades + own["implied_grade"].to_list())
        # the initiative's reasons: its goals' and its own, and its guardrails' harm only
        why = fired.filter(
            (pl.col("initiative_id") == initiative_id)
            & (
                pl.col("metric").is_null()
                | ~pl.col("metric").is_in(guardrails)
                | (pl.col("check_class") == CheckClass.GUARDRAIL)
            )
        )
        reliability.append(_row(initiative_id, None, None, grade, why))
        reasons += _reasons(initiative_id, None, why)
    reliability_frame = pl.DataFrame(reliability, schema=schema("claim_reliability"))
    reasons_frame = pl.DataFrame(reasons, schema=schema("claim_reliability_reasons"))
    return reliability_frame, reasons_frame


def _label(row: dict) -> str:
    return row["check_id"] if row["metric"] is None else f"{row['metric']}:{row['check_id']}"


def _row(initiative_id: str, metric: str | None, method: str | None, grade: str, fired: pl.DataFrame) -> dict:
    labels = [row["check_id"] if metric is not None else _label(row) for row in fired.iter_rows(named=True)]
    return {
        "initiative_id": initiative_id,
        "metric": metric,
        "method": method,
        "grade": grade,
        "reasons": ", ".join(labels),
        "n_reasons": len(labels),
    }


def _reasons(initiative_id: str, metric: str | None, fired: pl.DataFrame) -> list[dict]:
    return [
        {
            "initiative_id": initiative_id,
            "metric": metric,
            "reason_metric": row["metric"],
            "check_id": row["check_id"],
            "status": row["status"],
            "implied_grade": row["implied_grade"],
            "message": row["message"],
        }
        for row in fired.iter_rows(named=True)
    ]
