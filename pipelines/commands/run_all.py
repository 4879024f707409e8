"""``roi run-all``: the nightly job for every business of a businesses file (pipelines/runtime/businesses.py),
several at once, each in its own process: one that fails stops no other."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK, EXIT_RUN_FAILED
from pipelines.runtime.settings import BUSINESSES_VAR

if TYPE_CHECKING:
    from pipelines.runtime.businesses import Business


def command(args: argparse.Namespace) -> int:
    return run_all(Path(args.businesses), args.parallel, args.as_of)


def run_business(businesses_file: Path, business: Business, as_of: date | None) -> tuple[int, float, str]:
    """One business of the file in a child process: ``roi run`` on its paths, as the partition
    of ``nightly_by_business`` it is. Returns the exit code, the seconds it took and what it
    printed."""
    command = [
        sys.executable,
        "-m",
        "pipelines.commands",
        "run",
        "--data",
        str(business.data_dir),
        "--config",
        str(business.config_path),
        "--warehouse",
        str(business.warehouse),
        "--partition",
        business.name,
    ] + (["--as-of", as_of.isoformat()] if as_of else [])
    started = time.monotonic()
    child = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, BUSINESSES_VAR: str(businesses_file)}
    )
    return child.returncode, time.monotonic() - started, child.stdout + child.stderr


def run_all(businesses_file: Path, parallel: int, as_of: date | None) -> int:
    """Every business of the file, ``parallel`` at a time, each in its own process: one that
    fails stops no other. Prints a line per business as it finishes and a summary."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from pipelines.runtime.businesses import BusinessesError, load_businesses

    businesses_file = businesses_file.expanduser().resolve()
    try:
        businesses = load_businesses(businesses_file)
    except BusinessesError as exc:
        print(f"roi run-all: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    print(
        f"running {len(businesses)} businesses, {parallel} at a time (each one's log beside its warehouse)", flush=True
    )
    failed: dict[str, str] = {}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:  # threads that each wait on a process
        futures = {pool.submit(run_business, businesses_file, b, as_of): b for b in businesses}
        for future in as_completed(futures):
            business = futures[future]
            code, seconds, output = future.result()
            if code == EXIT_OK:
                print(f"  done   {business.name} ({seconds:.0f} s): {business.warehouse}", flush=True)
            else:
                failed[business.name] = first_reason(output)
                print(f"  FAILED {business.name} (exit {code}, {seconds:.0f} s): {failed[business.name]}", flush=True)
    print(
        f"{len(businesses) - len(failed)} of {len(businesses)} businesses done in {time.monotonic() - started:.0f} s"
        + (
            f"; failed: {', '.join(sorted(failed))} (each one's published warehouse, if it has one, is unchanged)"
            if failed
            else ""
        )
    )
    return EXIT_RUN_FAILED if failed else EXIT_OK


def first_reason(output: str) -> str:
    """roi run's first line that says why (exit 2 is invalid input, 1 a failed run)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return next(
        (line for line in lines if line.startswith(("step ", "run refused", "run failed"))),
        lines[-1] if lines else "",
    )
