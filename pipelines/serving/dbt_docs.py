"""``./dev docs``: dbt's documentation site for the published warehouse — every model, its columns
and descriptions, the lineage graph, and the tables as they are in the warehouse (dbt's catalog).

The catalog is read from a copy of the published file, so serving the docs never holds the
warehouse open (the nightly run must be able to replace it). The site is dbt's own: a static
``index.html`` with ``manifest.json`` and ``catalog.json``, served by ``dbt docs serve``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.runtime.project import (
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    MANIFEST,
    dbt_env,
    prepare,
)
from pipelines.serving import warehouse_to_serve


def generate(warehouse: Path, site: Path) -> Path:
    """Write dbt's docs site for ``warehouse`` into ``site``; returns ``site``."""
    if not warehouse.is_file():
        raise FileNotFoundError(f"{warehouse}: no warehouse here yet (run ./dev demo, or roi run, first)")
    prepare()
    site.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="roi-docs-") as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        shutil.copyfile(warehouse, copy)
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "docs",
                "generate",
                "--no-compile",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(site),
            ],
            check=True,
            env=dbt_env(copy),
        )
    shutil.copyfile(MANIFEST, site / "manifest.json")  # the project as the pipeline runs it
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev docs", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warehouse", default=None, help="the published warehouse (ROI_WAREHOUSE; default: the demo's)"
    )
    parser.add_argument(
        "--site", default=None, help="where to write the site (default: beside the warehouse, <name>-docs/)"
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--no-serve", action="store_true", help="only write the site")
    args = parser.parse_args(argv)
    warehouse = warehouse_to_serve(args.warehouse)
    if warehouse is None:
        return 2
    site = Path(args.site).resolve() if args.site else warehouse.with_name(f"{warehouse.stem}-docs")
    try:
        generate(warehouse, site)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"dbt docs for {warehouse}: {site / 'index.html'}")
    if args.no_serve:
        return 0
    print(f"serving on http://localhost:{args.port} (Ctrl-C stops)")
    return subprocess.call(
        [
            DBT_EXECUTABLE,
            "docs",
            "serve",
            "--no-browser",
            "--port",
            str(args.port),
            "--target-path",
            str(site),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        env=dbt_env(site / "unused.duckdb"),
    )


if __name__ == "__main__":
    sys.exit(main())
