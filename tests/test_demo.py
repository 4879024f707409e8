"""The demo business: deterministic, on contract, and its planted effects really are in the data.

The effect checks are deliberately simple (difference-in-differences of raw means, medians
before and after), computed by hand from the files, so they test the generator and not
ROI Ledger's estimators. Tolerances leave room for the noise of each check at scale 0.1
(about three standard deviations across seeds; the complaint spike rests on a dozen tickets).
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from roi_ledger.contract import DATASETS
from roi_ledger.demo import DEFAULT_END, DemoBusiness, generate_demo_business

SCALE = 0.1
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoBusiness:
    return generate_demo_business(tmp_path_factory.mktemp("demo"), seed=7, scale=SCALE)


@pytest.fixture(scope="module")
def register(demo: DemoBusiness) -> dict:
    return yaml.safe_load(demo.config_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(demo: DemoBusiness) -> pl.DataFrame:
    return pl.read_csv(demo.truth_path)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _go_live(register: dict, initiative_id: str) -> date:
    return next(i for i in register["initiatives"] if i["id"] == initiative_id)["go_live"]


# --- determinism and layout ----------------------------------------------------------------


def test_same_seed_writes_identical_files(demo: DemoBusiness, tmp_path: Path) -> None:
    again = generate_demo_business(tmp_path / "again", seed=7, scale=SCALE)
    assert _files(again.root) == _files(demo.root)


def test_other_seed_writes_other_data(demo: DemoBusiness, tmp_path: Path) -> None:
    other = generate_demo_business(tmp_path / "other", seed=8, scale=SCALE)
    assert (other.data_dir / "tickets.csv").read_bytes() != (
        demo.data_dir / "tickets.csv"
    ).read_bytes()


def test_layout_and_return_value(demo: DemoBusiness) -> None:
    assert demo.data_dir == demo.root / "data"
    assert demo.config_path.is_file() and demo.truth_path.is_file()
    assert demo.as_of == DEFAULT_END
    for name in ("orders.parquet", "tickets.csv", "defects.csv", "kpis.csv"):
        assert (demo.data_dir / name).is_file()
    years = sorted(p.name for p in (demo.data_dir / "hours").iterdir())
    assert years == ["hours_2023.csv", "hours_2024.csv", "hours_2025.csv", "hours_2026.csv"]


def test_end_must_be_a_sunday(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Sunday"):
        generate_demo_business(tmp_path, end=date(2026, 11, 21))


# --- the data contract ---------------------------------------------------------------------


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)  # as text, to check the written format


def test_files_have_exactly_the_contract_columns(demo: DemoBusiness) -> None:
    for name, dataset in DATASETS.items():
        paths = list(demo.data_dir.glob(f"{name}.*")) + list((demo.data_dir / name).glob("*"))
        assert paths, name
        extra = ["customer_name"] if name == "orders" else []
        for path in paths:
            assert _read(path).columns == dataset.column_names + extra, path


def test_text_formats(demo: DemoBusiness) -> None:
    tickets = _read(demo.data_dir / "tickets.csv")
    assert set(tickets["reopened"]) == {"true", "false"}
    for column in ("opened_at", "first_response_at", "resolved_at"):
        assert tickets[column].drop_nulls().str.contains(TIMESTAMP.pattern).all(), column
    hours = _read(demo.data_dir / "hours" / "hours_2025.csv")
    assert hours["work_date"].str.contains(r"^2025-\d{2}-\d{2}$").all()
    assert hours["employee_id"].str.contains(r"^E\d{3}$").all()
    assert hours["activity"].unique().sort().to_list() == [
        "admin",
        "baking",
        "invoicing",
        "sales",
        "scheduling",
    ]
    assert hours["hourly_cost"].null_count() > 0  # mostly filled, some missing


def test_orders_are_plausible(demo: DemoBusiness) -> None:
    orders = pl.read_parquet(demo.data_dir / "orders.parquet")
    assert orders["order_id"].is_unique().all()
    assert set(orders["status"]) == {"completed", "cancelled", "refunded"}
    assert (orders["status"] == "completed").mean() > 0.9
    assert orders["customer_id"].drop_nulls().str.contains(r"^C\d{6}$").all()
    assert orders.filter(pl.col("fulfilled_at") < pl.col("ordered_at")).is_empty()
    assert orders.filter(
        (pl.col("status") == "cancelled") & pl.col("fulfilled_at").is_not_null()
    ).is_empty()
    repeat_share = (
        1 - orders["customer_id"].drop_nulls().n_unique() / orders["customer_id"].drop_nulls().len()
    )
    assert repeat_share > 0.5  # customers come back
    weekday = (
        orders.group_by(pl.col("ordered_at").dt.weekday()).len().sort("ordered_at")["len"].to_list()
    )
    assert weekday[5] > weekday[1]  # Saturday busier than Tuesday
    assert 150_000 * SCALE < orders.height < 300_000 * SCALE


def test_kpis(demo: DemoBusiness) -> None:
    kpis = pl.read_csv(demo.data_dir / "kpis.csv", try_parse_dates=True)
    satisfaction = kpis.filter(pl.col("metric") == "staff_satisfaction")
    assert satisfaction["unit_id"].n_unique() == 7
    assert satisfaction["value"].is_between(1, 10).all()
    scrap = kpis.filter(pl.col("metric") == "scrap_rate")
    assert scrap["unit_id"].unique().sort().to_list() == [
        f"shop_{s}" for s in ("central", "east", "north", "south", "west")
    ]
    assert {d.month for d in scrap["period_start"]} == {1, 4, 7, 10}


# --- the register and the truth ------------------------------------------------------------


def test_register_has_every_kind_of_initiative(register: dict) -> None:
    assert register["business"]["currency"] == "GBP"
    assert 3 <= len(register["objectives"]) <= 4
    by_status: dict[str, list[dict]] = {}
    for initiative in register["initiatives"]:
        by_status.setdefault(initiative["status"], []).append(initiative)
    assert len(by_status["retired"]) == 2 and all(i["retired_on"] for i in by_status["retired"])
    planned = by_status["proposed"] + by_status["approved"]
    assert len(planned) == 3
    assert all(
        set(i["feasibility"]) == {"effort", "complexity", "integration", "training_need"}
        for i in planned
    )
    assert all(i["go_live"] > DEFAULT_END and i["treated_units"] for i in planned)
    unowned = [i for i in by_status["live"] if "owner" not in i]
    assert [i["id"] for i in unowned] == ["stock_sheet_macros"]
    assert "objective" not in unowned[0] and "costs" not in unowned[0]
    for initiative in by_status["live"]:
        if initiative is not unowned[0]:
            assert {"objective", "owner", "costs", "expected"} <= set(initiative), initiative["id"]
            assert {c["kind"] for c in initiative["costs"]} == {"one_off", "monthly"}
    assert len(next(i for i in by_status["live"] if i["id"] == "self_checkout")["phases"]) == 3


def test_register_passes_the_register_validator(demo: DemoBusiness) -> None:
    register_module = pytest.importorskip("roi_ledger.register")
    register = register_module.load_register(demo.config_path)
    assert len(register.measured_initiatives) == 9


def test_truth_rows_for_every_measured_initiative(register: dict, truth: pl.DataFrame) -> None:
    rows = {(r["initiative_id"], r["metric"]) for r in truth.iter_rows(named=True)}
    for initiative in register["initiatives"]:
        if initiative["status"] in ("live", "retired"):
            for metric in initiative["metrics"]:
                assert (initiative["id"], metric) in rows
    assert truth["units"].str.contains(r"^[a-z_]+(;[a-z_]+)*$").all()


def test_truth_values(truth: pl.DataFrame) -> None:
    effect = {
        (r["initiative_id"], r["metric"]): r["true_effect_abs"] for r in truth.iter_rows(named=True)
    }
    assert effect["pos_order_checks", "order_error_rate"] == pytest.approx(-0.025)
    assert effect["rota_planner", "hours_per_order"] == pytest.approx(-0.020)
    assert effect["staff_app", "hours_per_order"] == pytest.approx(-0.015)
    assert effect["joint:rota_planner+staff_app", "hours_per_order"] == pytest.approx(-0.035)
    assert effect["staff_app", "staff_satisfaction"] == pytest.approx(0.4)
    assert effect["auto_invoicing", "hours_invoicing"] == pytest.approx(-5.0 * SCALE, rel=0.05)
    assert effect["self_checkout", "order_fulfilment_hours"] < 0
    for trap in ("festive_upsell_widget", "complaint_triage", "faq_chatbot"):
        assert truth.filter(pl.col("initiative_id") == trap)["true_effect_abs"].to_list() == [0.0]


# --- the planted effects, seen in the raw data ------------------------------------------------


def _weekly(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.with_columns(week=pl.col(column).dt.truncate("1w").cast(pl.Date))


def _did(
    frame: pl.DataFrame,
    value: pl.Expr,
    treated: list[str],
    controls: list[str],
    go_live: date,
    after: date,
) -> float:
    """(treated after - treated before) - (controls after - controls before)."""
    labelled = frame.filter(pl.col("unit_id").is_in(treated + controls)).with_columns(
        treated=pl.col("unit_id").is_in(treated),
        window=pl.when(pl.col("week") < go_live)
        .then(pl.lit("before"))
        .when(pl.col("week") >= after)
        .then(pl.lit("after")),
    )
    means = labelled.drop_nulls("window").group_by("treated", "window").agg(value=value)
    v = {(r["treated"], r["window"]): r["value"] for r in means.iter_rows(named=True)}
    return (v[True, "after"] - v[True, "before"]) - (v[False, "after"] - v[False, "before"])


def orders_frame(demo: DemoBusiness) -> pl.DataFrame:
    return _weekly(pl.read_parquet(demo.data_dir / "orders.parquet"), "ordered_at")


def hours_frame(demo: DemoBusiness) -> pl.DataFrame:
    return _weekly(
        pl.read_csv(demo.data_dir / "hours" / "*.csv", try_parse_dates=True), "work_date"
    )


def error_rate_did(demo: DemoBusiness, register: dict) -> float:
    go_live = _go_live(register, "pos_order_checks")
    orders = orders_frame(demo).filter(pl.col("status") != "cancelled")
    shops = ["shop_east", "shop_west", "shop_central"]
    return _did(
        orders,
        pl.col("has_error").mean(),
        ["shop_north", "shop_south"],
        shops,
        go_live,
        go_live + timedelta(14),
    )


def invoicing_did(demo: DemoBusiness, register: dict) -> float:
    go_live = _go_live(register, "auto_invoicing")
    weekly = (
        hours_frame(demo)
        .filter(pl.col("activity") == "invoicing")
        .group_by("unit_id", "week")
        .agg(pl.col("hours").sum())
    )
    shops = [f"shop_{s}" for s in ("north", "south", "east", "west", "central")]
    return _did(
        weekly,
        pl.col("hours").mean(),
        ["catering", "webshop"],
        shops,
        go_live,
        go_live + timedelta(28),
    )


def hours_per_order_did(demo: DemoBusiness, register: dict) -> float:
    go_live = _go_live(register, "rota_planner")
    hours = hours_frame(demo).group_by("unit_id", "week").agg(pl.col("hours").sum())
    orders = (
        orders_frame(demo).filter(pl.col("status") == "completed").group_by("unit_id", "week").len()
    )
    weekly = hours.join(orders, on=["unit_id", "week"])
    ratio = pl.col("hours").sum() / pl.col("len").sum()
    controls = ["shop_north", "shop_south", "shop_central"]
    return _did(
        weekly, ratio, ["shop_east", "shop_west"], controls, go_live, go_live + timedelta(14)
    )


def festive_ratios(demo: DemoBusiness, register: dict) -> tuple[float, float]:
    """Webshop revenue, 6 weeks after go-live over 6 weeks before: this year and a year earlier."""
    go_live = _go_live(register, "festive_upsell_widget")
    completed = orders_frame(demo).filter(
        (pl.col("unit_id") == "webshop") & (pl.col("status") == "completed")
    )
    revenue = completed.group_by("week").agg(pl.col("amount").sum())

    def ratio(day: date) -> float:
        def mean(start: date, stop: date) -> float:
            return revenue.filter(pl.col("week").is_between(start, stop, closed="left"))[
                "amount"
            ].mean()

        return mean(day + timedelta(weeks=1), day + timedelta(weeks=7)) / mean(
            day - timedelta(weeks=6), day
        )

    return ratio(go_live), ratio(go_live - timedelta(weeks=52))


def complaint_resolution(demo: DemoBusiness, register: dict) -> tuple[float, float, float]:
    """shop_central's typical (geometric mean) resolution hours: the year before the spike,
    the spike, and after go-live + ramp-up. Few tickets at this scale: the geometric mean is
    steadier than the median."""
    go_live = _go_live(register, "complaint_triage")
    tickets = _weekly(pl.read_csv(demo.data_dir / "tickets.csv", try_parse_dates=True), "opened_at")
    central = tickets.filter(pl.col("unit_id") == "shop_central").with_columns(
        log_hours=((pl.col("resolved_at") - pl.col("opened_at")).dt.total_seconds() / 3600).log()
    )
    spike_start = go_live - timedelta(weeks=4)

    def typical(start: date, stop: date) -> float:
        return math.exp(
            central.filter(pl.col("week").is_between(start, stop, closed="left"))[
                "log_hours"
            ].mean()
        )

    return (
        typical(spike_start - timedelta(weeks=52), spike_start),
        typical(spike_start, go_live),
        typical(go_live + timedelta(14), DEFAULT_END),
    )


def fulfilment_ratios(demo: DemoBusiness, register: dict) -> dict[str, float]:
    """Median fulfilment hours after / before each shop's own self-checkout go-live."""
    phases = next(i for i in register["initiatives"] if i["id"] == "self_checkout")["phases"]
    go_live = {unit: phase["go_live"] for phase in phases for unit in phase["units"]}
    go_live["shop_central"] = phases[1]["go_live"]  # the control, around the middle phase
    orders = orders_frame(demo).with_columns(
        hours=(pl.col("fulfilled_at") - pl.col("ordered_at")).dt.total_seconds() / 3600
    )
    ratios = {}
    for unit, day in go_live.items():
        shop = orders.filter(pl.col("unit_id") == unit)
        after = shop.filter(pl.col("week") >= day + timedelta(14))["hours"].median()
        ratios[unit] = after / shop.filter(pl.col("week") < day)["hours"].median()
    return ratios


def test_order_checks_cut_the_error_rate(demo: DemoBusiness, register: dict) -> None:
    assert error_rate_did(demo, register) == pytest.approx(-0.025, abs=0.02)


def test_auto_invoicing_cuts_invoicing_hours(
    demo: DemoBusiness, register: dict, truth: pl.DataFrame
) -> None:
    true = truth.filter(pl.col("initiative_id") == "auto_invoicing")["true_effect_abs"].item()
    assert invoicing_did(demo, register) == pytest.approx(true, rel=0.15)


def test_rota_planner_and_staff_app_cut_hours_per_order(demo: DemoBusiness, register: dict) -> None:
    # Weekly hours per order are noisy at this scale: only the sign and size class are checked.
    assert -0.12 < hours_per_order_did(demo, register) < 0.0


def test_festive_widget_only_rides_the_season(demo: DemoBusiness, register: dict) -> None:
    naive, year_before = festive_ratios(demo, register)
    assert naive > 1.3  # the naive before/after looks great...
    assert year_before > 1.3  # ...but the same weeks a year earlier rose as much, without it


def test_complaint_triage_follows_a_transient_spike(demo: DemoBusiness, register: dict) -> None:
    before, spike, after = complaint_resolution(demo, register)
    assert spike > 1.5 * before  # planted: 3x
    assert after < 1.5 * before


def test_self_checkout_speeds_up_each_phase(demo: DemoBusiness, register: dict) -> None:
    ratios = fulfilment_ratios(demo, register)
    for unit in ("shop_north", "shop_south", "shop_east", "shop_west"):
        assert ratios[unit] == pytest.approx(0.7, abs=0.1), unit
    assert ratios["shop_central"] == pytest.approx(1.0, abs=0.1)
