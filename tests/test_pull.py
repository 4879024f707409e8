"""Pulling from APIs with the presets, against a local server that answers as the real ones do
(tests/api_server.py): paginated, rate-limited, failing once, slow; twice, the second night
fetching only what changed, and a changed record replacing its earlier version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.landing import ensure_raw_schema
from connectors.pull import PullError, land_pulled
from connectors.sources import load_sources
from tests.api_server import HARVEST_ACCOUNT, HARVEST_TOKEN, SHOPIFY_TOKEN, ZENDESK_TOKEN, ApiServer

SALT = "a-salt-for-the-pull-tests-0123"


@pytest.fixture
def server():
    with ApiServer() as running:
        yield running


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", SHOPIFY_TOKEN)
    monkeypatch.setenv("ZENDESK_OAUTH_TOKEN", ZENDESK_TOKEN)
    monkeypatch.setenv("HARVEST_ACCESS_TOKEN", HARVEST_TOKEN)
    monkeypatch.setenv("HARVEST_ACCOUNT_ID", HARVEST_ACCOUNT)
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.2")


def sources_file(folder: Path, url: str) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yml").write_text(
        f"""
sources:
  shop: {{preset: shopify, kind: rest_api, base_url: "{url}"}}
  support: {{preset: zendesk, kind: rest_api, base_url: "{url}"}}
  time: {{preset: harvest, kind: rest_api, base_url: "{url}"}}
"""
    )
    return load_sources(folder)


def night(con, sources, n: int):
    loaded_at = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(days=n)
    con.execute("begin transaction")
    loads = {
        name: land_pulled(con, name, source, load_id=f"night-{n}", loaded_at=loaded_at, salt=SALT)
        for name, source in sources.items()
    }
    con.execute("commit")
    return loads


def test_the_presets_pull_every_record_then_only_what_changed(tmp_path, server, secrets):
    sources = sources_file(tmp_path / "data", server.url)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_raw_schema(con)
    con.execute("set TimeZone = 'UTC'")

    first = night(con, sources, 1)
    assert {name: (load.rows_loaded, load.rows_rejected) for name, load in first.items()} == {
        "shop": (5, 0),
        "support": (3, 0),
        "time": (3, 0),
    }
    # the 429 (with Retry-After) and the 500 were retried; every page was followed
    assert server.apis.failures == {"429": 0, "500": 0}
    assert sum("page_info" in r for r in server.apis.requests) == 2
    orders = con.execute(
        "select order_id, unit_id, amount, status, fulfilled_at, customer_id from raw.orders order by 1"
    ).fetchall()
    assert orders[0][:4] == ("#1000", "web", 20.5, "completed")
    assert orders[0][4] == datetime(2024, 1, 1, 20, 0, tzinfo=UTC)
    assert orders[0][5] is not None and "500" not in orders[0][5]  # the customer id, hashed
    assert orders[4][5] is not None  # a guest: the e-mail, hashed
    tickets = con.execute(
        "select ticket_id, first_response_at, resolved_at, reopened, csat from raw.tickets order by 1"
    ).fetchall()
    assert tickets[0] == (
        "70",
        datetime(2024, 2, 1, 9, 30, tzinfo=UTC),
        datetime(2024, 2, 1, 10, 0, tzinfo=UTC),
        False,
        5,
    )
    assert [t[4] for t in tickets] == [5, 1, None]  # good, bad, offered (no answer)
    hours = con.execute("select entry_id, unit_id, activity, hours, hourly_cost from raw.hours order by 1").fetchall()
    assert hours[0] == ("300", "shop_a", "Packing", 1.5, 40.0)
    # where each source stopped
    cursors = dict(con.execute("select source, cursor_value from raw.source_cursors").fetchall())
    assert cursors == {
        "shop": "2024-01-05T12:00:00-05:00",
        "support": "2024-02-03T11:00:00Z",
        "time": "2024-03-03T18:00:00Z",
    }

    server.apis.change_records()
    server.apis.requests.clear()
    second = night(con, sources, 2)
    # the second night asks from the cursor on, and gets what changed (and the last record again)
    assert any("updated_at_min=2024-01-05T12" in r for r in server.apis.requests)
    assert any("updated_since=2024-03-03T18" in r for r in server.apis.requests)
    assert any("start_time=" in r for r in server.apis.requests)
    assert second["shop"].rows_read == 2 and second["shop"].rows_unchanged == 1
    # the refund replaces the order's earlier version; nothing else was written twice
    latest = con.execute(
        "select status from raw.orders where order_id = '#1001' order by _loaded_at desc limit 1"
    ).fetchone()[0]
    assert latest == "refunded"
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 6
    reopened = con.execute(
        "select reopened from raw.tickets where ticket_id = '70' order by _loaded_at desc limit 1"
    ).fetchone()[0]
    assert reopened is True
    assert con.execute("select max(hours) from raw.hours where entry_id = '302'").fetchone()[0] == 6.0

    third = night(con, sources, 3)  # nothing new: the same records once more change nothing
    assert all(load.rows_loaded == 0 and load.rows_unchanged for load in third.values())
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 6


def test_a_refused_token_stops_the_pull_without_showing_the_token(tmp_path, server, secrets, monkeypatch):
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_wrong_secret_value")
    sources = sources_file(tmp_path / "data", server.url)
    con = duckdb.connect()
    ensure_raw_schema(con)
    with pytest.raises(PullError, match="shop") as refused:
        land_pulled(con, "shop", sources["shop"], load_id="x", loaded_at=datetime.now(UTC), salt=SALT)
    assert "401" in str(refused.value) and "shpat_wrong_secret_value" not in str(refused.value)


def test_a_missing_secret_is_named_not_guessed(tmp_path, server, monkeypatch):
    monkeypatch.delenv("ZENDESK_OAUTH_TOKEN", raising=False)
    sources = sources_file(tmp_path / "data", server.url)
    con = duckdb.connect()
    ensure_raw_schema(con)
    with pytest.raises(Exception, match="ZENDESK_OAUTH_TOKEN is not set"):
        land_pulled(con, "support", sources["support"], load_id="x", loaded_at=datetime.now(UTC), salt=SALT)


def test_validate_reads_a_sample_of_each_api_and_writes_nothing(tmp_path, server, secrets):
    from connectors.files import inventory

    data = tmp_path / "data"
    sources_file(data, server.url)
    found = inventory(data, pull_sample=2)
    assert found.pulled == {"orders", "tickets", "hours"}
    loads = {origin.split(":")[0]: (loaded, rejected) for _, origin, loaded, rejected, *_ in found.loads}
    assert loads == {"shop": (2, 0), "support": (2, 0), "time": (2, 0)}
    assert {"web", "shop_a"} <= found.units
    assert sorted(p.name for p in data.iterdir()) == ["sources.yml"]
