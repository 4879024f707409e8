"""``./dev dashboard [--warehouse W] [--host H] [--port P]``: start the live dashboard
(roi_ledger/report/dashboard.py) with Streamlit, headless, on 127.0.0.1 unless told otherwise; beyond
localhost only with ROI_SERVE_TOKEN, which every request must then carry (``pipelines.serving``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipelines.serving import start_serving, warehouse_to_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev dashboard", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warehouse", default=None, help="the published warehouse (ROI_WAREHOUSE; default: the demo's)"
    )
    parser.add_argument(
        "--host", default=None, help="the address to listen on (ROI_SERVE_HOST; default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args(argv)
    warehouse = warehouse_to_serve(args.warehouse)
    serving = start_serving(args.host)
    if warehouse is None or isinstance(serving, int):
        return 2
    host, token = serving
    app = Path(__file__).with_name("dashboard_app.py")  # st.App behind the token gate
    streamlit = Path(sys.executable).with_name("streamlit")
    login = "; every request needs ROI_SERVE_TOKEN" if token else ""
    print(f"dashboard for {warehouse} on http://{host}:{args.port}{login} (Ctrl-C stops)", flush=True)
    command = [
        str(streamlit),
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.address",
        host,
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
