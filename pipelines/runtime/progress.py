"""Progress in the terminal while ``roi run`` works: a line per finished step.

A Dagster logger (``progress``) that ``roi run`` switches on in its run config. Dagster's own
output goes to the run log; this writes only the step events, in words, to the terminal the
command was started from.
"""

from __future__ import annotations

import logging
import sys
import time

from dagster import InitLoggerContext, logger

# What each step does, as an owner would say it; other steps are named by their key.
STEP_WORDS = {
    "initiative_register": "wrote the register",
    "register_matches_data": "checked the register against the data",
    "raw_quality_checks": "checked the landed data",
    "dbt_metrics_layer": "built the metric series",
    "staging_quality_checks": "checked the cleaned data",
    "effect_estimates": "estimated every effect",
    "claim_check_results": "checked every claim",
    "claim_health_checks": "summarised the claim checks",
    "business_cases": "fixed each business case as registered",
    "money": "counted the money",
    "claim_signoffs": "compared the sign-offs with the claims",
    "strategy": "judged the objectives and proposals",
    "dbt_results_layer": "built the published tables",
    "marts__runs": "published the warehouse",
}


def step_words(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return f"landed the {step_key.removeprefix('raw__')}"
    return STEP_WORDS.get(step_key, step_key)


class StepProgress(logging.Handler):
    def __init__(self, stream) -> None:
        super().__init__()
        self.stream = stream
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        if event is None or event.step_key is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.started[event.step_key] = time.monotonic()
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds = time.monotonic() - self.started.get(event.step_key, time.monotonic())
            mark = "done" if kind == "STEP_SUCCESS" else "FAILED"
            print(f"  {mark:6} {step_words(event.step_key)} ({seconds:.0f} s)", file=self.stream, flush=True)


@logger(description="A line per finished step, on the terminal that started the run (roi run).")
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    out = logging.Logger("roi_progress", level=logging.DEBUG)
    out.addHandler(StepProgress(sys.__stderr__))  # the terminal, even while stdout goes to the log
    return out
