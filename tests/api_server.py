"""A local HTTP server answering as Shopify, Zendesk and Harvest do (their public API docs), for
the pull tests: paginated, with a 429 and Retry-After, a 500, a slow page, and records that
change between two pulls. Each API checks its credentials and honours its incremental parameter.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

SHOPIFY_TOKEN = "shpat_test_token_0123456789"
ZENDESK_TOKEN = "zendesk-oauth-token-abcdef"
HARVEST_TOKEN = "harvest-token-xyz"
HARVEST_ACCOUNT = "123456"
PAGE = 2


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeApis:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.failures = {"429": 1, "500": 1}  # answered once each, on the first pull
        self.slow_seconds = 1.5
        self.orders = [
            {
                "id": 1000 + n,
                "name": f"#{1000 + n}",
                "created_at": f"2024-01-0{n + 1}T10:00:00-05:00",
                "updated_at": f"2024-01-0{n + 1}T12:00:00-05:00",
                "cancelled_at": None,
                "financial_status": "paid",
                "fulfillment_status": "fulfilled",
                "total_price": f"{20 + n}.50",
                "location_id": None,
                "source_name": "web",
                "email": f"buyer{n}@example.com",
                "customer": {"id": 500 + n, "email": f"buyer{n}@example.com", "first_name": "Ann"},
                "fulfillments": [{"id": 9, "created_at": f"2024-01-0{n + 1}T15:00:00-05:00"}],
            }
            for n in range(5)
        ]
        self.orders[4]["customer"] = None  # a guest checkout
        self.tickets = [
            {
                "id": 70 + n,
                "created_at": f"2024-02-0{n + 1}T09:00:00Z",
                "updated_at": f"2024-02-0{n + 1}T11:00:00Z",
                "status": "solved",
                "group_id": 360001,
                "subject": "Where is my order?",
                "satisfaction_rating": {"score": ["good", "bad", "offered"][n % 3]},
            }
            for n in range(3)
        ]
        self.metric_sets = [
            {
                "ticket_id": 70 + n,
                "reopens": n % 2,
                "reply_time_in_minutes": {"calendar": 30 + n, "business": 20},
                "solved_at": f"2024-02-0{n + 1}T10:00:00Z",
            }
            for n in range(3)
        ]
        self.entries = [
            {
                "id": 300 + n,
                "spent_date": f"2024-03-0{n + 1}",
                "hours": 1.5 + n,
                "cost_rate": 40.0,
                "updated_at": f"2024-03-0{n + 1}T18:00:00Z",
                "notes": "Packing",
                "user": {"id": 11 + n % 2, "name": "Staff Member"},
                "project": {"id": 5, "name": "shop_a"},
                "task": {"id": 7, "name": "Packing"},
                "client": {"id": 1, "name": "Own"},
            }
            for n in range(3)
        ]

    def change_records(self) -> None:
        """What happens at the sources between two nights: a refund, a reopened ticket, an edit."""
        self.orders[1].update(financial_status="refunded", updated_at="2024-02-01T09:00:00-05:00")
        self.tickets[0].update(updated_at="2024-03-01T09:00:00Z")
        self.metric_sets[0].update(reopens=1)
        self.entries[2].update(hours=6.0, updated_at="2024-04-01T09:00:00Z")


def make_handler(apis: FakeApis):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _json(self, status: int, body, headers: dict | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            apis.requests.append(self.path)
            base = f"http://127.0.0.1:{self.server.server_port}"
            if url.path == "/admin/api/2024-10/orders.json":
                if self.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
                    return self._json(401, {"errors": "[API] Invalid API key or access token"})
                if apis.failures["429"]:
                    apis.failures["429"] -= 1
                    return self._json(429, {"errors": "Exceeded 2 calls per second"}, {"Retry-After": "1"})
                if "page_info" in query:  # Shopify: the page_info token carries the whole query
                    offset, since = query["page_info"].split("|", 1)
                    offset, since = int(offset), since or None
                else:
                    offset, since = 0, query.get("updated_at_min")
                selected = [o for o in apis.orders if since is None or _iso(o["updated_at"]) >= _iso(since)]
                page = selected[offset : offset + PAGE]
                headers = {}
                if offset + PAGE < len(selected):
                    token = quote(f"{offset + PAGE}|{since or ''}")
                    headers["Link"] = f'<{base}{url.path}?limit={PAGE}&page_info={token}>; rel="next"'
                return self._json(200, {"orders": page}, headers)
            if url.path == "/api/v2/incremental/tickets/cursor.json":
                if self.headers.get("Authorization") != f"Bearer {ZENDESK_TOKEN}":
                    return self._json(401, {"error": "Couldn't authenticate you"})
                if apis.failures["500"]:
                    apis.failures["500"] -= 1
                    return self._json(500, {"error": "InternalError"})
                if "cursor" in query:
                    offset, since = (int(x) for x in query["cursor"].split(":"))
                else:
                    offset, since = 0, int(query.get("start_time", 0))
                selected = [t for t in apis.tickets if _iso(t["updated_at"]).timestamp() >= since]
                page = selected[offset : offset + PAGE]
                ids = {t["id"] for t in page}
                return self._json(
                    200,
                    {
                        "tickets": page,
                        "metric_sets": [m for m in apis.metric_sets if m["ticket_id"] in ids],
                        "after_cursor": f"{offset + PAGE}:{since}",
                        "after_url": f"{base}{url.path}?cursor={offset + PAGE}:{since}",
                        "end_of_stream": offset + PAGE >= len(selected),
                    },
                )
            if url.path == "/v2/time_entries":
                if (
                    self.headers.get("Authorization") != f"Bearer {HARVEST_TOKEN}"
                    or self.headers.get("Harvest-Account-Id") != HARVEST_ACCOUNT
                ):
                    return self._json(401, {"error": "invalid_token"})
                since = query.get("updated_since")
                selected = [e for e in apis.entries if since is None or _iso(e["updated_at"]) >= _iso(since)]
                page_number = int(query.get("page", 1))
                if page_number == 2:
                    time.sleep(apis.slow_seconds)  # a slow page
                page = selected[(page_number - 1) * PAGE : page_number * PAGE]
                more = page_number * PAGE < len(selected)
                next_url = (
                    f"{base}{url.path}?page={page_number + 1}" + (f"&updated_since={since}" if since else "")
                    if more
                    else None
                )
                return self._json(
                    200,
                    {
                        "time_entries": page,
                        "per_page": PAGE,
                        "total_entries": len(selected),
                        "page": page_number,
                        "links": {"next": next_url},
                    },
                )
            return self._json(404, {"error": "Not Found"})

    return Handler


class ApiServer:
    def __init__(self) -> None:
        self.apis = FakeApis()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.apis))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
