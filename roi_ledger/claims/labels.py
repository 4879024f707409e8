"""The labels a claim carries: each check's status and the claim's grade (docs/claims.md).

Kept apart from the checks and the grading so that what only reads the labels (the report, the
sign-off, the money) does not import the estimators. Both enums mix in ``str``, like
``CheckClass``: a member equals its value, so the warehouse stores and SQL compares the same
words as before. But ``str(member)`` and ``f"{member}"`` give ``Grade.RELIABLE``: format
``member.value`` into text, and give a polars frame an explicit ``pl.String`` schema (or
``.value``), never a bare member.
"""

from __future__ import annotations

from enum import Enum


class CheckStatus(str, Enum):
    """What one check found about one claim (``marts.claim_checks.status``)."""

    PASS = "pass"
    WARN = "warn"  # fired: something to look at
    FAIL = "fail"  # fired: the claim does not hold as measured
    NOT_APPLICABLE = "not_applicable"  # the check does not apply to this claim, or could not be computed


FIRED = (CheckStatus.WARN, CheckStatus.FAIL)  # the statuses that change a grade (by the check's class)


class Grade(str, Enum):
    """How far the data support a claim (``marts.claim_reliability.grade``), best to worst:
    a claim's grade is the worst its fired checks imply (``grading.py``)."""

    RELIABLE = "reliable"
    NEEDS_MORE_DATA = "needs_more_data"
    SUSPICIOUS = "suspicious"
    UNRELIABLE = "unreliable"


GRADES = tuple(Grade)  # best to worst: ``GRADES.index(grade)`` ranks a grade (a member or its value)
