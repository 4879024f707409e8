"""``./dev docs``: dbt's documentation site for the published warehouse — every model, its columns
and descriptions, the lineage graph, and the tables as they are in the warehouse (dbt's catalog).

The catalog is read from a copy of the published file, so serving the docs never holds the
warehouse open (the nightly run must be able to replace it). The site is dbt's own: a static
``index.html`` with ``manifest.json`` and ``catalog.json``, served as files by Starlette behind the
token gate (``pipelines.serving``: 127.0.0.1 unless ``--host``; beyond it only with ``ROI_SERVE_TOKEN``)
rather than by ``dbt docs serve``, which has no login.
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
from pipelines.serving import TokenGate, start_serving, warehouse_to_serve


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


def serve_site(site: Path, host: str, port: int, token: str | None) -> None:
    """Serve the folder ``site`` on ``host:port`` until stopped; with ``token``, only to requests carrying it."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    app = Starlette(
        routes=[Mount("/", StaticFiles(directory=site, html=True))], middleware=[Middleware(TokenGate, token=token)]
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev docs", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warehouse", default=None, help="the published warehouse (ROI_WAREHOUSE; default: the demo's)"
    )
    parser.add_argument(
        "--site", default=None, help="where to write the site (default: beside the warehouse, <name>-docs/)"
    )
    parser.add_argument(
        "--host", default=None, help="the address to listen on (ROI_SERVE_HOST; default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--no-serve", action="store_true", help="only write the site")
    parser.add_argument("--no-generate", action="store_true", help="serve the site already written in --site")
    args = parser.parse_args(argv)
    warehouse = warehouse_to_serve(args.warehouse)
    serving = None if args.no_serve else start_serving(args.host)  # refused before minutes of dbt
    if warehouse is None or isinstance(serving, int):
        return 2
    site = Path(args.site).resolve() if args.site else warehouse.with_name(f"{warehouse.stem}-docs")
    try:
        if not args.no_generate:
            generate(warehouse, site)
        elif not (site / "index.html").is_file():
            raise FileNotFoundError(f"{site}: no docs site here yet (run ./dev docs without --no-generate first)")
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"dbt docs for {warehouse}: {site / 'index.html'}")
    if serving is None:
        return 0
    host, token = serving
    login = "; every request needs ROI_SERVE_TOKEN" if token else ""
    print(f"serving on http://{host}:{args.port}{login} (Ctrl-C stops)", flush=True)
    serve_site(site, host, args.port, token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
