"""What a failed night says — on ``roi run``'s terminal and in the failure notice: why, in words an
owner can act on.

Dagster hands back each failed step's error as a chain of wrappers with their class paths and
stack traces. An owner reads none of that: an error of ours (a file, the register, a source or the
salt that cannot be used) is said in its own words, which name the file, line or field and the
fix; a failed blocking check by what it found and where its expectations are written; anything
else (a fault of ROI Ledger or of the machine) in one sentence naming the step and the log,
which keeps the full error and its stack trace (``roi run`` writes Dagster's output there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dagster import DagsterEvent

from pipelines.runtime.progress import step_words
from pipelines.runtime.warehouse import out_of_memory_hint

# The errors ROI Ledger raises to say what is wrong with its inputs or settings: their text is
# written for the owner (file, line or field, and the fix), so it is shown as it is.
OWN_ERRORS = frozenset(
    {
        "BusinessesError",
        "CatalogueError",
        "ContractError",
        "PullError",
        "RegisterError",
        "SaltError",
        "SettingsError",
        "SignoffError",
        "SuiteError",
        "WarehouseBusy",
    }
)
# What Dagster raises when a blocking asset check fails (its checks' results are events of the run).
CHECK_FAILED = "DagsterAssetCheckFailedError"


@dataclass(frozen=True)
class StepFailure:
    """A failed step: its key, the class of the error it raised, and what the owner reads
    (None for an internal error, which the run's log keeps)."""

    step: str
    error_class: str | None
    text: str | None

    @property
    def line(self) -> str:
        """The failure in one paragraph, starting "step"."""
        if self.text is None:
            return f'step "{step_words(self.step)}" failed on an internal error (not your data)'
        return f'step "{step_words(self.step)}" failed: {self.text}'


def step_failures(events: Sequence[DagsterEvent]) -> list[StepFailure]:
    """Each failed step among a Dagster run's ``events``, said for people."""
    failures = []
    for event in events:
        if not event.is_step_failure:
            continue
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause  # the error the step raised, not Dagster's wrapper
        if error is None:
            failures.append(StepFailure(event.step_key, None, None))
        elif error.cls_name == CHECK_FAILED:
            failures.append(StepFailure(event.step_key, error.cls_name, failed_checks(events, event.step_key)))
        elif error.cls_name in OWN_ERRORS:
            failures.append(StepFailure(event.step_key, error.cls_name, own_message(error.message, error.cls_name)))
        else:  # DuckDB out of memory is the machine's limit, and has a fix
            failures.append(StepFailure(event.step_key, error.cls_name, out_of_memory_hint(error.message)))
    return failures


def own_message(message: str, class_name: str) -> str:
    """An error's text without the ``module.Class: `` that Python's formatting puts before it."""
    return re.sub(rf"^[\w.]*\b{class_name}: ", "", message.strip())


def failed_checks(events: Sequence[DagsterEvent], step_key: str) -> str:
    """What the blocking checks that failed in ``step_key`` found, each finding on its line,
    and where their expectations are written."""
    lines = []
    for event in events:
        evaluation = event.event_specific_data if event.event_type_value == "ASSET_CHECK_EVALUATION" else None
        if evaluation is None or event.step_key != step_key or evaluation.passed:
            continue
        if evaluation.severity.value != "ERROR":
            continue
        metadata = {name: value.value for name, value in evaluation.metadata.items()}
        table = metadata.get("table", "/".join(evaluation.asset_key.path))
        findings = metadata.get("failures")
        findings = findings.splitlines() if isinstance(findings, str) else [f"- {evaluation.description}"]
        where = f" ({metadata['suite']}, docs/quality.md)" if "suite" in metadata else ""
        lines.append(f"a blocking check on {table} failed{where}:")
        lines += [f"    {finding}" for finding in findings]
    lines.append(
        "  correct or remove those records in the files named, or fix their mapping in sources.yml, and run again"
    )
    return "\n".join(lines)
