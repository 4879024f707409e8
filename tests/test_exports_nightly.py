"""The nightly job on exports as a business has them — Shopify orders, Zendesk tickets, a
Harvest time report, with their own column names and formats — and only a sources file: no
reshaping script. Every line lands or is rejected with its reason, and the planted effect is found."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta

import numpy as np
import pytest
import yaml

from pipelines.commands.exit_codes import EXIT_OK
from pipelines.commands.run import run as roi_run
from pipelines.commands.validate import validate as roi_validate
from tests.conftest import query

pytestmark = pytest.mark.e2e

START, GO_LIVE, AS_OF = date(2024, 1, 1), date(2024, 10, 7), date(2025, 3, 30)
SHOPS = ["Leeds", "York", "Hull"]
SHOPIFY = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Currency",
    "Subtotal",
    "Total",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Billing Name",
    "Cancelled at",
    "Id",
    "Source",
    "Location",
]
ZENDESK = [
    "Id",
    "Requester",
    "Requester email",
    "Group",
    "Subject",
    "Status",
    "Created at",
    "Updated at",
    "Solved at",
    "Satisfaction Score",
    "Reopens",
    "Replies",
    "First reply time in minutes",
]
HARVEST = [
    "Date",
    "Client",
    "Project",
    "Project Code",
    "Task",
    "Notes",
    "Hours",
    "Billable?",
    "First Name",
    "Last Name",
    "Cost Rate",
]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000")  # Shopify's notation


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    rng = np.random.default_rng(3)
    root = tmp_path_factory.mktemp("exports")
    data = root / "data"
    data.mkdir()
    days = [(START + timedelta(days=d)) for d in range((AS_OF - START).days + 1)]
    with (data / "orders_export_1.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(SHOPIFY)
        n = 1000
        for day in days:
            for shop in SHOPS:
                for _ in range(rng.poisson(6)):
                    n += 1
                    created = datetime(day.year, day.month, day.day, 8) + timedelta(minutes=int(rng.integers(0, 600)))
                    # labels printed automatically in Leeds from go-live: two hours quicker to ship
                    hours = max(0.5, rng.normal(6 if shop == "Leeds" and day >= GO_LIVE else 8, 1.5))
                    email = f"customer{rng.integers(0, 400)}@example.com"
                    status = rng.choice(["paid", "paid", "paid", "partially_refunded", "refunded", "voided"])
                    total = f"{rng.uniform(5, 60):.2f}"
                    out.writerow(
                        [
                            f"#{n}",
                            email,
                            status,
                            stamp(created),
                            "fulfilled",
                            stamp(created + timedelta(hours=hours)),
                            "GBP",
                            total,
                            total,
                            stamp(created),
                            1,
                            "Loaf",
                            "Ann Example",
                            "",
                            n,
                            "pos",
                            shop,
                        ]
                    )
                    out.writerow(
                        [f"#{n}", email, "", "", "", "", "", "", "", stamp(created), 1, "Bun", "", "", "", "", ""]
                    )
        out.writerow(
            [
                "#broken",
                "x@example.com",
                "paid",
                "",
                "",
                "",
                "",
                "",
                "12",
                "yesterday",
                1,
                "Loaf",
                "",
                "",
                "",
                "pos",
                "York",
            ]
        )
    with (data / "tickets.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(ZENDESK)
        for n, day in enumerate(days[::2]):
            created = datetime(day.year, day.month, day.day, 10)
            out.writerow(
                [
                    5000 + n,
                    "Ann",
                    "ann@example.com",
                    "Support",
                    "Order?",
                    "Solved",
                    created.strftime("%Y-%m-%d %H:%M"),
                    "",
                    (created + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M"),
                    rng.choice(["Good", "Bad", "Unoffered"]),
                    int(rng.integers(0, 2)),
                    2,
                    int(rng.integers(5, 120)),
                ]
            )
    with (data / "harvest_time_report.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HARVEST)
        for day in days:
            if day.weekday() < 5:
                for shop in SHOPS:
                    out.writerow(
                        [
                            day.isoformat(),
                            "Own",
                            shop,
                            "",
                            "Packing",
                            "",
                            f"{rng.uniform(2, 4):.2f}",
                            "No",
                            "Sam",
                            shop,
                            "35",
                        ]
                    )
    (data / "sources.yml").write_text(
        "sources:\n"
        "  shop: {preset: shopify, path: orders_export_*.csv, columns: {unit_id: Location}}\n"
        "  support: {preset: zendesk, path: tickets.csv, columns: {unit_id: {constant: Leeds}}}\n"
        "  time: {preset: harvest, path: harvest_time_report.csv}\n"
    )
    register = {
        "business": {"name": "Three bakeries", "currency": "GBP", "timezone": "Europe/London"},
        "initiatives": [
            {
                "id": "label_printer",
                "name": "Automatic shipping labels",
                "status": "live",
                "go_live": GO_LIVE.isoformat(),
                "treated_units": ["Leeds"],
                "control_units": ["York", "Hull"],
                "metrics": ["order_fulfilment_hours"],
            }
        ],
    }
    config = root / "initiatives.yml"
    config.write_text(yaml.safe_dump(register, sort_keys=False))
    warehouse = root / "warehouse.duckdb"
    assert roi_validate(data, config) == EXIT_OK
    assert roi_run(data, config, warehouse, AS_OF) == EXIT_OK
    return data, warehouse


def test_every_export_line_is_loaded_or_rejected_with_its_reason(exports):
    data, warehouse = exports
    files = query(warehouse, "select dataset, rows_loaded, rows_rejected from raw.loaded_files order by 1").to_dicts()
    lines = {
        name: sum(1 for _ in (data / name).open()) - 1
        for name in ("orders_export_1.csv", "tickets.csv", "harvest_time_report.csv")
    }
    (orders,) = [f for f in files if f["dataset"] == "orders"]
    # one record per order (its line items folded): loaded + rejected = orders in the file
    assert orders["rows_loaded"] + orders["rows_rejected"] == (lines["orders_export_1.csv"] - 1) // 2 + 1
    assert orders["rows_rejected"] == 1
    [reason] = query(warehouse, "select reason from raw.rejected_rows where dataset = 'orders'")["reason"]
    assert reason.startswith('ordered_at: cannot read "yesterday"')
    (hours,) = [f for f in files if f["dataset"] == "hours"]
    assert hours["rows_loaded"] == lines["harvest_time_report.csv"]
    (tickets,) = [f for f in files if f["dataset"] == "tickets"]
    assert tickets["rows_loaded"] == lines["tickets.csv"]


def test_the_planted_effect_is_found_from_the_exports(exports):
    _, warehouse = exports
    [effect] = query(
        warehouse,
        "select effect_abs, ci_low, ci_high from marts.initiative_effects where is_primary and metric = "
        "'order_fulfilment_hours'",
    ).to_dicts()
    assert effect["ci_low"] <= -2.0 <= effect["ci_high"] < 0
