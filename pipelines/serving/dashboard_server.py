"""``./dev dashboard [--warehouse W] [--port P]``: start the live dashboard (roi_ledger/report/dashboard.py)
with Streamlit, headless, on localhost."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import roi_ledger.report as report
from pipelines.serving import warehouse_to_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev dashboard", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warehouse", default=None, help="the published warehouse (ROI_WAREHOUSE; default: the demo's)"
    )
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args(argv)
    warehouse = warehouse_to_serve(args.warehouse)
    if warehouse is None:
        return 2
    app = Path(report.__file__).with_name("dashboard.py")
    streamlit = Path(sys.executable).with_name("streamlit")
    print(f"dashboard for {warehouse} on http://localhost:{args.port} (Ctrl-C stops)")
    command = [
        str(streamlit),
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
        "--",
        "--warehouse",
        str(warehouse),
    ]
    os.execv(command[0], command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
