"""Serving the published warehouse: the live dashboard and dbt's docs site.

Both listen on 127.0.0.1 unless ``--host`` (or ``ROI_SERVE_HOST``) says otherwise. Listening beyond
this machine needs ``ROI_SERVE_TOKEN``: without it the server does not start (exit 2); with it,
every request and WebSocket handshake must carry the token — as the password of HTTP Basic
authentication (a browser asks for it; any user name) or as ``Authorization: Bearer <token>`` —
or is refused with 401 (a WebSocket with 403). A token that is set is asked for on localhost too.
The check is one ASGI middleware (:class:`TokenGate`) in front of both servers: Streamlit's
``st.App`` takes it as middleware, and the docs site is a static folder served by Starlette.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from pipelines.runtime.settings import SettingsError, read_settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REFUSED_BODY = (
    b"This ROI Ledger server needs its token: give it as the password when your browser asks "
    b"(any user name), or send the header Authorization: Bearer <token>.\n"
)


class ServeRefused(ValueError):
    """A server must not start as asked (beyond localhost without a token); the message says why."""


def warehouse_to_serve(given: str | None) -> Path | None:
    """The warehouse a server shows: ``--warehouse``, else ``ROI_WAREHOUSE``, else the demo's. None,
    with the reason printed, when a setting is not usable (the server then exits 2)."""
    try:
        return Path(given or read_settings().warehouse_or_demo).expanduser().resolve()
    except SettingsError as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return None


def is_local(host: str) -> bool:
    """Whether listening on ``host`` keeps the server to this machine (a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve beyond this machine


def serving_token(host: str | None) -> tuple[str, str | None]:
    """The address to listen on (``host``, else ``ROI_SERVE_HOST``, else 127.0.0.1) and the token every
    request must carry (``ROI_SERVE_TOKEN``; None: no login, on localhost only). Raises ``ServeRefused``
    for an address beyond localhost without a token, ``SettingsError`` for an unusable variable."""
    settings = read_settings()
    host = host or settings.serve_host
    if settings.token is None and not is_local(host):
        raise ServeRefused(
            f"--host {host} would show the warehouse's figures to anyone who can reach this machine, with no login: "
            "set ROI_SERVE_TOKEN to a long random secret "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))') and give it to the people who may look, "
            "or serve on 127.0.0.1 (docs/report.md)"
        )
    return host, settings.token


def start_serving(host: str | None) -> tuple[str, str | None] | int:
    """``serving_token``, or exit code 2 once it has said why the server must not start."""
    try:
        return serving_token(host)
    except (ServeRefused, SettingsError) as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return 2


def authorised(headers: list[tuple[bytes, bytes]], token: str) -> bool:
    """Whether the request's ``Authorization`` header carries ``token`` (Basic password or Bearer)."""
    value = next((v for k, v in headers if k.lower() == b"authorization"), b"").decode("latin-1").strip()
    scheme, _, credential = value.partition(" ")
    given = ""
    if scheme.lower() == "bearer":
        given = credential.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(credential.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    return bool(given) and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


class TokenGate:
    """ASGI middleware: with a token, an HTTP request without it gets 401 (and the header that makes a
    browser ask for it), a WebSocket handshake without it is closed (403); without a token, it lets
    everything through (the server then listens on localhost only: ``serving_token``)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] not in ("http", "websocket") or authorised(scope["headers"], self.token):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accepting: the server answers 403
        else:
            headers = [
                (b"www-authenticate", b'Basic realm="ROI Ledger", charset="UTF-8"'),
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(REFUSED_BODY)).encode()),
            ]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": REFUSED_BODY})
