"""Input quality: Great Expectations suites on the raw and staging tables, run in DuckDB.

- ``suites``: the YAML suites under ``expectations/`` as typed objects (which expectations,
  which are critical), and the defaults (``DEFAULT_FRESHNESS_DAYS``);
- ``runner``: validates tables of a warehouse file with GX pushed down to SQL;
- ``gx_duckdb``: the GX-on-DuckDB workaround and the datasource that closes the file again;
- ``results`` / ``messages``: the plain result per expectation and its one-line message.

Importing this package does not import Great Expectations (~15 s); validating does.
See docs/quality.md.
"""

from roi_ledger.quality.results import ExpectationResult, Status, SuiteResult
from roi_ledger.quality.runner import TableNotFoundError, validate_suites, validate_table
from roi_ledger.quality.suites import (
    DEFAULT_FRESHNESS_DAYS,
    SUITES_DIR,
    ExpectationSpec,
    Suite,
    SuiteError,
    load_suite,
    load_suites,
)

__all__ = [
    "DEFAULT_FRESHNESS_DAYS",
    "SUITES_DIR",
    "ExpectationResult",
    "ExpectationSpec",
    "Status",
    "Suite",
    "SuiteError",
    "SuiteResult",
    "TableNotFoundError",
    "load_suite",
    "load_suites",
    "validate_suites",
    "validate_table",
]
