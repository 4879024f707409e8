"""The claim checks, grouped by what they look at. Importing this package registers them all."""

from roi_ledger.claims.checks import context, data, design, governance, robustness, statistics  # noqa: F401
