"""The claim checks, grouped by what they look at. Importing this package registers them all,
in the order they run and are reported (docs/claims.md): is there enough data, is the number
clear, does the comparison hold, could something else explain it, is it robust, and finally
the initiative's own governance; a guardrail's harm."""

from roi_ledger.claims.checks import data, statistics, design, confounders  # noqa: F401, I001
from roi_ledger.claims.checks import robustness, governance, synthetic, guardrails  # noqa: F401, I001
