"""The live dashboard as an ASGI app: ``roi_ledger/report/dashboard.py`` in Streamlit's ``st.App``,
behind the token gate (``pipelines.serving.TokenGate``). ``./dev dashboard`` (``dashboard_server.py``)
starts it with ``streamlit run``, which finds ``app`` here and serves it on the address it was given."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

import roi_ledger.report as report
from pipelines.serving import TokenGate, serving_token

# Checked again here, for a server started without ./dev dashboard: beyond localhost, a token or no start.
_, _token = serving_token(config.get_option("server.address"))
app = st.App(Path(report.__file__).with_name("dashboard.py"), middleware=[Middleware(TokenGate, token=_token)])
