"""When the night fails, someone hears of it: e-mail to a real (local) SMTP server, a webhook to a
real (local) HTTP receiver, and a failed `roi run` that sends both."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller

from pipelines.commands.exit_codes import EXIT_INVALID_INPUT
from pipelines.commands.run import run as roi_run
from pipelines.runtime.notify import Failure, configured, notify_failure
from pipelines.runtime.settings import read_settings
from roi_ledger.privacy import salt_fingerprint

EXPORTS = Path(__file__).parent / "exports"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = f"Subject: {message['Subject']}\n{message.get_content()}"
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, text))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks the one it is given)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("ROI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ROI_SMTP_PORT", str(port))
    monkeypatch.setenv("ROI_SMTP_STARTTLS", "0")
    monkeypatch.setenv("ROI_NOTIFY_FROM", "roi@bakery.example")
    monkeypatch.setenv("ROI_NOTIFY_TO", "owner@bakery.example, analyst@bakery.example")
    yield inbox
    controller.stop()


@pytest.fixture
def webhook(monkeypatch):
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ROI_NOTIFY_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hooks/roi-secret-path")
    yield received
    server.shutdown()


def test_a_failure_reaches_the_inbox_and_the_webhook_in_plain_words(smtp, webhook):
    failure = Failure("the orders file has no column 'Name'", "/srv/roi/warehouse.duckdb", "run-42")
    assert configured(read_settings()) == ["email", "webhook"]
    assert notify_failure(failure) == ["email", "webhook"]
    [(sender, recipients, content)] = smtp.messages
    assert sender == "roi@bakery.example" and recipients == ["owner@bakery.example", "analyst@bakery.example"]
    assert "Subject: ROI Ledger: last night's run failed" in content
    assert "the orders file has no column 'Name'" in content and "is unchanged" in content
    [posted] = webhook
    assert posted["run_id"] == "run-42" and "no column 'Name'" in posted["text"]


def test_a_notice_that_cannot_be_sent_is_said_not_raised(monkeypatch, capsys):
    monkeypatch.setenv("ROI_NOTIFY_WEBHOOK", "http://127.0.0.1:9/hooks/roi-secret-path")
    assert notify_failure(Failure("x", "w", "r")) == []
    err = capsys.readouterr().err
    assert "could not send the failure notice by webhook" in err and "roi-secret-path" not in err


def test_a_failed_roi_run_tells_by_mail_and_webhook(tmp_path, smtp, webhook, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(EXPORTS / "shopify_orders_export.csv", data)
    (data / "sources.yml").write_text("sources:\n  shop: {preset: shopify, path: shopify_orders_export.csv}\n")
    config = tmp_path / "initiatives.yml"
    config.write_text(
        "business: {name: Shop, currency: GBP, timezone: UTC}\ninitiatives:\n"
        "  - {id: labels, name: Labels, status: live, go_live: '2024-01-03', treated_units: [web], metrics: "
        "[orders_per_week]}\n"
    )
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:  # hashed with another salt before: the run must stop
        con.execute(
            "create schema raw; create table raw.salt_fingerprint (fingerprint varchar, recorded_at timestamptz)"
        )
        con.execute(
            "insert into raw.salt_fingerprint values (?, ?)",
            [salt_fingerprint("another-salt-of-earlier-runs-0"), datetime.now(UTC)],
        )
    assert roi_run(data, config, warehouse, None) == EXIT_INVALID_INPUT  # stopped before it started
    [(_, _, content)] = smtp.messages
    assert "salt" in content.lower() and str(warehouse) in content
    [posted] = webhook
    assert "salt" in posted["text"].lower()
