"""Shared fixtures: warehouses are built once per session, through the product's own path."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest
import yaml

from pipelines.commands.demo import DEMO_SCALE
from pipelines.commands.exit_codes import EXIT_OK
from pipelines.commands.run import run as roi_run
from pipelines.runtime import resources
from roi_ledger.demo import generate_demo_business


@pytest.fixture(autouse=True, scope="session")
def _salt(tmp_path_factory) -> None:
    import os

    os.environ.setdefault("ROI_PSEUDONYM_SALT", "test-salt-of-the-suite-0123456789")


RunPipeline = Callable[..., Path]


def run_pipeline(root: Path, *, register: dict, datasets: dict[str, object], as_of: date) -> Path:
    """Write a register and data files under ``root`` and run ``roi run`` on them.

    ``datasets`` maps a dataset name to a polars frame (written as CSV). Returns the published
    warehouse path; fails the test if the run fails.
    """
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in datasets.items():
        frame.write_csv(data / f"{name}.csv")
    config = root / "initiatives.yml"
    config.write_text(yaml.safe_dump(register, sort_keys=False))
    warehouse = root / "warehouse.duckdb"
    code = roi_run(data, config, warehouse, as_of)
    assert code == EXIT_OK, f"roi run exited with {code}"
    return warehouse


def query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).pl()


SCALE = DEMO_SCALE  # the same business `./dev demo` shows


# A metric a user adds in initiatives.yml (docs/metrics.md's worked example).
REFUND_RATE = {
    "name": "refund_rate",
    "label": "Share of orders refunded",
    "dataset": "orders",
    "aggregation": "rate",
    "expression": "status = 'refunded'",
    "filter": "status <> 'cancelled'",
    "volume": "orders",
    "good_direction": "down",
    "money": {"kind": "fixed", "value_per_unit": 9.5, "basis": "per_volume", "pool": "refunds"},
}


# An initiative that caps its own share of records in the outliers check (docs/claims.md).
OWN_CAP = ("complaint_triage", 0.05)


def add_user_metric(config: Path) -> None:
    register = yaml.safe_load(config.read_text())
    register["catalogue"] = [REFUND_RATE]
    checks = next(i for i in register["initiatives"] if i["id"] == "pos_order_checks")
    checks["metrics"].append("refund_rate")
    own = next(i for i in register["initiatives"] if i["id"] == OWN_CAP[0])
    own["claim_checks"] = {**(own.get("claim_checks") or {}), "outlier_cap_share": OWN_CAP[1]}
    config.write_text(yaml.safe_dump(register, sort_keys=False))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo's nightly run, started one second before midnight the day after its data ends
    and given no as-of date: the run must measure as of the day its data ends, in every step,
    although the clock reads another day (today) while it runs."""
    business = generate_demo_business(tmp_path_factory.mktemp("demo"), seed=7, scale=SCALE)
    add_user_metric(business.config_path)
    warehouse = business.root / "warehouse.duckdb"
    london = ZoneInfo("Europe/London")  # the demo business's timezone
    started = datetime.combine(business.as_of + timedelta(days=1), time(23, 59, 59), london)
    assert started.date() != datetime.now(london).date()  # the clock says otherwise
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resources, "run_started_at", lambda context: started)
        code = roi_run(business.data_dir, business.config_path, warehouse, as_of=None)
    assert code == EXIT_OK
    truth = pl.read_csv(business.truth_path)
    return business, warehouse, truth


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (the system's, driven by Playwright) for a module's page tests
    (Playwright's sync API allows one at a time)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "the page tests need the system's chromium (./dev test installs it: apt-get install chromium)"
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()
