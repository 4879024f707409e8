"""Serving the published warehouse: the live dashboard and dbt's docs site."""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.runtime.settings import SettingsError, read_settings


def warehouse_to_serve(given: str | None) -> Path | None:
    """The warehouse a server shows: ``--warehouse``, else ``ROI_WAREHOUSE``, else the demo's. None,
    with the reason printed, when a setting is not usable (the server then exits 2)."""
    try:
        return Path(given or read_settings().warehouse_or_demo).expanduser().resolve()
    except SettingsError as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return None
